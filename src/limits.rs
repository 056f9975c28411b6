//! The memory budget (`--max-memory`) and how it is split among the tables that grow with what a
//! capture holds. Batches in flight are bounded on their own (a few MB, see `engine`); what
//! grows with hostile or huge captures is state: live TCP connections, bytes held out of order,
//! IP fragments waiting for their datagram, HTTP message heads being read, and the rows the
//! table commands (`tcp`, `http`, `conv`, `endpoints`, `stats`, `dns`, `ping`) keep for the
//! end. Each gets a share of the budget; past it, the oldest state is dropped (of table rows,
//! the later ones) and the run reports what was cut short (see [`CutShort`]).

/// The default budget: 1 GiB, so that the defaults of the parts (256 MB of out-of-order TCP
/// bytes, 64 MB of IP fragments) are what they were before there was a budget.
pub const DEFAULT_MAX_MEMORY: u64 = 1 << 30;

/// What each table may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The budget these were derived from, in bytes (for messages).
    pub max_memory: u64,
    /// TCP connections tracked at once; past it, the least recently seen are forgotten.
    pub tcp_conns: usize,
    /// Bytes held out of order by TCP reassembly, over all connections.
    pub reassembly_bytes: usize,
    /// Bytes of IP fragments waiting for the rest of their datagram.
    pub defrag_bytes: usize,
    /// Bytes of HTTP message heads (and chunk lines) being read, over all connections.
    pub http_bytes: usize,
    /// Rows a table command keeps for its output (TCP connections, HTTP exchanges,
    /// conversations, DNS queries, echo requests).
    pub table_rows: usize,
    /// Links from requests to their answers that a first pass (`-2`) keeps for the second.
    pub later_links: usize,
}

/// Memory one tracked TCP connection takes at most, with its hash-table slot and a full history
/// (checked by a test in `tcp`).
pub const TCP_CONN_BYTES: usize = 2048;
/// Memory one kept table row takes (a TCP connection's summary, an HTTP exchange).
pub const TABLE_ROW_BYTES: usize = 1536;
/// Memory one first-pass link takes at most: a 16-byte entry of a hash map at its lowest load
/// (just grown) is 37 bytes, and while it grows the old table is still there (58 bytes).
pub const LATER_LINK_BYTES: usize = 64;

impl Limits {
    /// Split `max_memory` bytes: a quarter each to TCP connections, reassembly and table rows,
    /// a sixteenth each to IP fragments and a first pass's links, and an eighth to HTTP heads.
    pub fn of(max_memory: u64) -> Limits {
        let share = |n: u64| usize::try_from(max_memory / n).unwrap_or(usize::MAX);
        Limits {
            max_memory,
            tcp_conns: (share(4) / TCP_CONN_BYTES).max(16),
            reassembly_bytes: share(4),
            defrag_bytes: share(16),
            http_bytes: share(8),
            table_rows: (share(4) / TABLE_ROW_BYTES).max(16),
            later_links: (share(16) / LATER_LINK_BYTES).max(16),
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::of(DEFAULT_MAX_MEMORY)
    }
}

/// What a run gave up to stay within its limits. All zero when nothing was cut short.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CutShort {
    /// TCP connections forgotten while still open (a later segment starts a new stream).
    pub tcp_conns_forgotten: u64,
    /// Times reassembly reached its cap, and the bytes declared missing for it.
    pub reassembly_cap_hits: u64,
    pub reassembly_missed_bytes: u64,
    /// IP datagrams dropped unfinished because fragments filled their share.
    pub datagrams_dropped: u64,
    /// HTTP message heads given up because heads being read filled their share.
    pub http_heads_dropped: u64,
    /// Rows of ended connections not kept for the `tcp` table (the first ones are kept).
    pub table_rows_dropped: u64,
    /// Frames not counted by a conversation table (`conv`, `endpoints`, `stats`) because their
    /// conversation came after the table was full (the first ones are kept).
    pub conversation_frames_left_out: u64,
    /// Rows not kept by the `dns` and `ping` tables once full (the first ones are kept).
    pub pair_rows_left_out: u64,
    /// Answers a first pass (`-2`) found but did not keep a link to (the first ones are kept).
    pub later_links_left_out: u64,
}

impl CutShort {
    pub fn any(&self) -> bool {
        *self != CutShort::default()
    }

    /// One line per limit reached, for standard error.
    pub fn lines(&self, limits: &Limits) -> Vec<String> {
        let mb = limits.max_memory >> 20;
        let mut out = Vec::new();
        if self.tcp_conns_forgotten > 0 {
            out.push(format!(
                "{} TCP connections were forgotten while open: more than {} at once; a later \
                 segment of one starts a new stream",
                self.tcp_conns_forgotten, limits.tcp_conns
            ));
        }
        if self.reassembly_cap_hits > 0 {
            out.push(format!(
                "TCP reassembly reached its {} bytes of out-of-order data {} time(s); {} bytes \
                 were declared missing",
                limits.reassembly_bytes, self.reassembly_cap_hits, self.reassembly_missed_bytes
            ));
        }
        if self.datagrams_dropped > 0 {
            out.push(format!(
                "{} fragmented IP datagrams were dropped unfinished: fragments filled {} bytes",
                self.datagrams_dropped, limits.defrag_bytes
            ));
        }
        if self.http_heads_dropped > 0 {
            out.push(format!(
                "{} HTTP message heads were given up: heads being read filled {} bytes",
                self.http_heads_dropped, limits.http_bytes
            ));
        }
        if self.table_rows_dropped > 0 {
            out.push(format!(
                "the table keeps {} rows of connections that ended; {} more were left out",
                limits.table_rows, self.table_rows_dropped
            ));
        }
        if self.conversation_frames_left_out > 0 {
            out.push(format!(
                "the table keeps {} conversations; {} frames of later ones were not counted",
                limits.table_rows, self.conversation_frames_left_out
            ));
        }
        if self.pair_rows_left_out > 0 {
            out.push(format!(
                "the table keeps {} rows; {} later ones were left out, before any filter",
                limits.table_rows, self.pair_rows_left_out
            ));
        }
        if self.later_links_left_out > 0 {
            out.push(format!(
                "the first pass keeps {} links to answers; {} later ones were left out, so \
                 their requests show no response_in",
                limits.later_links, self.later_links_left_out
            ));
        }
        out.iter()
            .map(|l| format!("memory cap (--max-memory {mb}): {l}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_keeps_the_old_defaults() {
        let l = Limits::default();
        assert_eq!(l.reassembly_bytes, crate::tcp::MAX_HELD_TOTAL);
        assert_eq!(l.defrag_bytes, crate::defrag::MAX_HELD_TOTAL);
        assert_eq!(l.tcp_conns, 131_072);
        assert_eq!(l.later_links, 1 << 20);
    }

    #[test]
    fn a_tiny_budget_still_tracks_something() {
        let l = Limits::of(0);
        assert_eq!((l.tcp_conns, l.table_rows), (16, 16));
        assert_eq!(l.reassembly_bytes, 0);
    }
}
