//! TCP connection tracking in capture order: `tcp.stream` numbering as Wireshark assigns it
//! (including a new stream when a SYN reuses a 4-tuple with a new ISN), relative sequence and
//! acknowledgement numbers, and window scaling from the handshake.
//!
//! Runs in the ordered stage only. Parses no bytes (it reads decoded [`Tcp`] reprs) and knows no
//! application protocol. All sequence arithmetic wraps modulo 2^32 (RFC 9293 §3.4).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod conn;
pub mod reassembly;

use std::collections::VecDeque;

use foldhash::HashMap;

use conn::SummaryInput;
pub use conn::{ConnSummary, Ending, Side};

use crate::decode::{PacketRecord, Proto, Tcp, tcp_flags};

/// An endpoint: address bytes (4 or 16 used) and port.
///
/// Ordered as the derived order would be (address bytes, then `v6`, then port), and hashed from
/// the same fields; both read the address as one 128-bit number, where the derived ones went
/// through `memcmp` and eight hasher calls (connection and conversation tables look up a pair
/// of these for every frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: [u8; 16],
    pub v6: bool,
    pub port: u16,
}

/// An IPv4 address as an [`Endpoint`] holds it, read as one big-endian number: the address in
/// the first 4 of the 16 bytes, the rest zero.
pub fn ipv4_as_number(addr: [u8; 4]) -> u128 {
    u128::from(u32::from_be_bytes(addr)) << 96
}

impl Endpoint {
    /// Big-endian, so that numbers compare as the bytes do.
    fn order(&self) -> (u128, bool, u16) {
        (u128::from_be_bytes(self.addr), self.v6, self.port)
    }
}

impl Ord for Endpoint {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order().cmp(&other.order())
    }
}

impl PartialOrd for Endpoint {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::hash::Hash for Endpoint {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(u128::from_ne_bytes(self.addr));
        state.write_u32(u32::from(self.port) << 1 | u32::from(self.v6));
    }
}

impl Endpoint {
    pub fn ip(&self) -> std::net::IpAddr {
        if self.v6 {
            std::net::IpAddr::from(self.addr)
        } else {
            let [a, b, c, d, ..] = self.addr;
            std::net::IpAddr::from([a, b, c, d])
        }
    }
}

/// A TCP segment's payload as captured, never past what the IP header says it is: the bytes
/// the tracker is fed, which [`reassembly::Event::Tail`] refers to.
pub fn payload<'a>(layer: &crate::decode::Layer, tcp: &Tcp, data: &'a [u8]) -> &'a [u8] {
    let payload = data.get(layer.payload_range()).unwrap_or(&[]);
    payload.get(..tcp.payload_len as usize).unwrap_or(payload)
}

/// The two endpoints of a frame's outer IP/TCP headers, source first.
pub fn endpoints(rec: &PacketRecord, port_src: u16, port_dst: u16) -> Option<(Endpoint, Endpoint)> {
    ip_endpoints(rec, false, port_src, port_dst)
}

/// The endpoints of the datagram an ICMP error quotes, with the quoted transport ports.
pub fn quoted_endpoints(
    rec: &PacketRecord,
    port_src: u16,
    port_dst: u16,
) -> Option<(Endpoint, Endpoint)> {
    ip_endpoints(rec, true, port_src, port_dst)
}

fn ip_endpoints(
    rec: &PacketRecord,
    quoted: bool,
    port_src: u16,
    port_dst: u16,
) -> Option<(Endpoint, Endpoint)> {
    let of = |l: &crate::decode::Layer| {
        if l.quoted != quoted {
            return None;
        }
        match &l.proto {
            Proto::Ipv4(ip) => {
                // Made as one number: copied into a zeroed array, the address was stored in
                // pieces and read back whole by the comparisons and hashes that follow, which
                // stalled every frame.
                let at_top = |a: [u8; 4]| ipv4_as_number(a).to_be_bytes();
                let (s, d) = (at_top(ip.src), at_top(ip.dst));
                Some((
                    Endpoint {
                        addr: s,
                        v6: false,
                        port: port_src,
                    },
                    Endpoint {
                        addr: d,
                        v6: false,
                        port: port_dst,
                    },
                ))
            }
            Proto::Ipv6(ip) => Some((
                Endpoint {
                    addr: ip.src,
                    v6: true,
                    port: port_src,
                },
                Endpoint {
                    addr: ip.dst,
                    v6: true,
                    port: port_dst,
                },
            )),
            _ => None,
        }
    };
    if quoted {
        rec.layers.iter().find_map(of)
    } else {
        rec.outer_ip().and_then(of)
    }
}

/// Wireshark's TCP analysis flags (`tcp.analysis.*`), one bit each.
pub mod analysis {
    pub const RETRANSMISSION: u32 = 1 << 0;
    pub const FAST_RETRANSMISSION: u32 = 1 << 1;
    pub const SPURIOUS_RETRANSMISSION: u32 = 1 << 2;
    pub const OUT_OF_ORDER: u32 = 1 << 3;
    pub const LOST_SEGMENT: u32 = 1 << 4;
    pub const ACK_LOST_SEGMENT: u32 = 1 << 5;
    pub const WINDOW_UPDATE: u32 = 1 << 6;
    pub const WINDOW_FULL: u32 = 1 << 7;
    pub const KEEP_ALIVE: u32 = 1 << 8;
    pub const KEEP_ALIVE_ACK: u32 = 1 << 9;
    pub const DUPLICATE_ACK: u32 = 1 << 10;
    pub const ZERO_WINDOW_PROBE: u32 = 1 << 11;
    pub const ZERO_WINDOW: u32 = 1 << 12;
    pub const ZERO_WINDOW_PROBE_ACK: u32 = 1 << 13;
    pub const REUSED_PORTS: u32 = 1 << 14;

    /// Each flag with its filter name (after `tcp.analysis.`) and Info tag, in the order
    /// Wireshark adds the tags; each is prepended, so the Info column shows them reversed.
    pub const TABLE: [(u32, &str, &str); 15] = [
        (RETRANSMISSION, "retransmission", "TCP Retransmission"),
        (
            FAST_RETRANSMISSION,
            "fast_retransmission",
            "TCP Fast Retransmission",
        ),
        (
            SPURIOUS_RETRANSMISSION,
            "spurious_retransmission",
            "TCP Spurious Retransmission",
        ),
        (OUT_OF_ORDER, "out_of_order", "TCP Out-Of-Order"),
        (
            LOST_SEGMENT,
            "lost_segment",
            "TCP Previous segment not captured",
        ),
        (
            ACK_LOST_SEGMENT,
            "ack_lost_segment",
            "TCP ACKed unseen segment",
        ),
        (WINDOW_UPDATE, "window_update", "TCP Window Update"),
        (WINDOW_FULL, "window_full", "TCP Window Full"),
        (KEEP_ALIVE, "keep_alive", "TCP Keep-Alive"),
        (KEEP_ALIVE_ACK, "keep_alive_ack", "TCP Keep-Alive ACK"),
        (DUPLICATE_ACK, "duplicate_ack", "TCP Dup ACK"),
        (
            ZERO_WINDOW_PROBE,
            "zero_window_probe",
            "TCP ZeroWindowProbe",
        ),
        (ZERO_WINDOW, "zero_window", "TCP ZeroWindow"),
        (
            ZERO_WINDOW_PROBE_ACK,
            "zero_window_probe_ack",
            "TCP ZeroWindowProbeAck",
        ),
        (REUSED_PORTS, "reused_ports", "TCP Port numbers reused"),
    ];
}

/// What the tracker tells about one TCP segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentInfo {
    pub stream: u32,
    /// 0 when the segment travels from the side first seen as source, 1 otherwise.
    pub dir: u8,
    pub rel_seq: u32,
    /// Relative acknowledgement number; 0 when the ACK flag is clear (as tshark shows it).
    pub rel_ack: u32,
    /// `tcp.nxtseq`: seq + len (+1 for SYN, +1 for FIN), relative.
    pub next_rel_seq: u32,
    /// The window in bytes (raw value shifted by the scale learnt from the handshake).
    pub window: u32,
    /// Window shift: Some(n) known; None with `scaling_seen` false = unknown (-1), true = none (-2).
    pub shift: Option<u8>,
    pub scaling_seen: bool,
    /// What SACK block edges are relative to: the other direction's base sequence number
    /// (they refer to its sequence space). Subtracted when shown, so the tracker does not walk
    /// the options of every segment.
    pub sack_base: u32,
    /// `analysis::*` bits.
    pub analysis: u32,
    /// For a duplicate ACK: the frame it duplicates and its count (`Dup ACK 6#2`).
    pub dup_ack: Option<(u64, u32)>,
    /// The handshake round trip (SYN to the ACK of the SYN-ACK), once known.
    pub initial_rtt_ns: Option<i64>,
    /// `tcp.time_relative` and `tcp.time_delta`: since the stream's first and previous segment.
    pub time_relative_ns: i64,
    pub time_delta_ns: i64,
    /// The segment this ACK acknowledges exactly (its frame) and the time it took.
    pub acked: Option<(u64, i64)>,
    /// With reassembly on: what this segment released of its direction's byte stream.
    pub delivered: reassembly::Delivered,
}

impl SegmentInfo {
    /// `tcp.window_size_scalefactor`: the multiplier, -1 unknown, -2 no scaling.
    pub fn scale_factor(&self) -> i32 {
        match (self.shift, self.scaling_seen) {
            (Some(s), _) => 1i32 << s.min(14),
            (None, false) => -1,
            (None, true) => -2,
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.analysis & flag != 0
    }
}

/// One direction's sequence-analysis state (packet-tcp.c's `tcp_analyze_seq_info`). Numbers are
/// relative, and 0 means "not known yet", exactly as Wireshark keeps them.
#[derive(Debug, Default)]
struct Half {
    /// The base for relative numbers, once known.
    base: Option<u32>,
    /// The window scale option of this side's SYN: None = no SYN seen; Some(None) = no option.
    syn_ws: Option<Option<u8>>,
    /// Highest seq + len seen (SYN and FIN count one).
    nextseq: u32,
    nextseq_time: i64,
    /// Highest contiguous sequence number seen, for "ACKed unseen segment".
    maxseqtobeacked: u32,
    /// Last acknowledgement sent by this side, and when.
    lastack: u32,
    lastack_time: i64,
    /// Last raw window advertised; None before the first segment.
    window: Option<u16>,
    lastnondupack: u64,
    dupacknum: u32,
    /// Analysis flags of this side's previous segment.
    lastflags: u32,
    /// Segments not yet acknowledged: (relative next sequence number, frame, time), oldest first.
    unacked: VecDeque<(u32, u64, i64)>,
}

/// Unacknowledged segments remembered per direction for `tcp.analysis.ack_rtt`; beyond this the
/// oldest are forgotten (a window of 512 full segments is far beyond real flights).
const MAX_UNACKED: usize = 512;

#[derive(Debug)]
struct Conn {
    stream: u32,
    /// The endpoint first seen as source: direction 0.
    first_src: Endpoint,
    half: [Half; 2],
    syn_time: Option<i64>,
    /// Raw ISN of the SYN-ACK's sender, to spot the ACK that completes the handshake.
    synack_seq: Option<u32>,
    initial_rtt_ns: Option<i64>,
    first_ts: i64,
    last_ts: i64,
    summary: ConnSummary,
    /// Both directions' byte streams, when this connection is reassembled.
    streams: Option<Box<[reassembly::Direction; 2]>>,
}

impl Conn {
    /// Over: FIN both ways, or a RST.
    fn is_closed(&self) -> bool {
        let (a, b) = self.summary.sides();
        a.rst.is_some() || b.rst.is_some() || (a.fin.is_some() && b.fin.is_some())
    }

    /// (held bytes, gaps, missed bytes) of its reassembly, for the tracker's totals.
    fn reassembly_state(&self) -> (usize, u64, u64) {
        self.streams.as_ref().map_or((0, 0, 0), |d| {
            d.iter().fold((0, 0, 0), |(h, g, m), x| {
                (
                    h + x.held_bytes(),
                    g + u64::from(x.gaps),
                    m + x.missed_bytes,
                )
            })
        })
    }
}

type Key = (Endpoint, Endpoint);

fn key(a: Endpoint, b: Endpoint) -> Key {
    // Chosen field by field: an endpoint's flag and port are stored apart where it is made, and
    // copying a whole endpoint read them back as one word, which stalled every frame.
    let swap = b < a;
    let pick = |x: Endpoint, y: Endpoint| Endpoint {
        addr: if swap { y.addr } else { x.addr },
        v6: if swap { y.v6 } else { x.v6 },
        port: if swap { y.port } else { x.port },
    };
    (pick(a, b), pick(b, a))
}

/// RFC 1982 serial-number comparison: is `a` after `b`?
fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

fn lt(a: u32, b: u32) -> bool {
    gt(b, a)
}

fn le(a: u32, b: u32) -> bool {
    !gt(a, b)
}

/// Out-of-order threshold when the handshake round trip is unknown (Wireshark's 3 ms).
const OOO_DEFAULT_NS: i64 = 3_000_000;
/// A fast retransmission follows the last duplicate ACK within 20 ms (Wireshark).
const FAST_RETRANS_NS: i64 = 20_000_000;

/// Tracks every TCP connection of a capture, in capture order.
#[derive(Debug)]
pub struct Tracker {
    conns: HashMap<Key, Conn>,
    next_stream: u32,
    /// Summaries of connections retired from `conns`, kept only when asked for (the `tcp`
    /// table needs them; the packet list does not, and must not grow with the capture).
    retired: Vec<ConnSummary>,
    keep_retired: bool,
    segments: u64,
    reassembler: Reassembler,
    /// Gaps and missed bytes of connections no longer in the table.
    retired_gaps: (u64, u64),
    /// Connections tracked at most; past it the least recently seen are forgotten.
    live_cap: usize,
    /// Open connections forgotten because the table was full.
    pub forgotten: u64,
    /// Retired summaries kept at most (with `keep_retired`), and those not kept.
    rows_cap: usize,
    pub rows_dropped: u64,
    /// Number streams and reassemble, analysing nothing (see [`Tracker::without_analysis`]).
    without_analysis: bool,
    /// Remember unacknowledged segments to find the one an ACK acknowledges
    /// (see [`Tracker::without_ack_rtt`]).
    ack_rtt: bool,
}

/// The tracker's reassembly across connections: which to put back in byte order, and the bytes
/// all of them hold out of order, against a cap.
#[derive(Debug)]
struct Reassembler {
    which: Reassembly,
    /// Also DNS connections (port 53), whatever `which` says.
    dns: bool,
    /// Bytes held out of order by all connections, and how often the cap forced gaps.
    held_total: usize,
    total_cap: usize,
    cap_hits: u64,
    /// The most bytes held out of order at once (after the cap was applied).
    peak_held: usize,
}

impl Reassembler {
    /// Whether the connection of stream `stream` is one to put back in byte order.
    #[inline]
    fn wants(&self, stream: u32, seg: &Segment<'_>) -> bool {
        let asked = match self.which {
            Reassembly::Off => false,
            Reassembly::All => true,
            Reassembly::Stream(n) => n == stream,
        };
        asked || (self.dns && crate::app::dns_tcp::carries_dns(seg.src.port, seg.dst.port))
    }

    /// Put a segment's payload (`rel_seq`: its relative sequence number) into its direction's
    /// byte stream (of a connection it [`Reassembler::wants`]): what that releases.
    fn segment(
        &mut self,
        c: &mut Conn,
        dir: usize,
        syn: bool,
        rel_seq: u32,
        seg: &Segment<'_>,
    ) -> reassembly::Delivered {
        let dirs = c.streams.get_or_insert_with(Default::default);
        let Some(d) = dirs.get_mut(dir) else {
            return reassembly::Delivered::new(); // `dir` is 0 or 1
        };
        if syn {
            d.syn(rel_seq);
        }
        let before = d.held_bytes();
        let mut delivered = d.segment(rel_seq, seg.payload);
        self.held_total = (self.held_total + d.held_bytes()).saturating_sub(before);
        if self.held_total > self.total_cap {
            // Over the global cap: this direction gives up on its holes.
            let freed = d.held_bytes();
            delivered.extend(d.flush());
            self.held_total = self.held_total.saturating_sub(freed);
            self.cap_hits += 1;
        }
        self.peak_held = self.peak_held.max(self.held_total);
        if let Some(side) = c.summary.sides.get_mut(dir) {
            side.missed_bytes = d.missed_bytes;
        }
        delivered
    }
}

impl Default for Tracker {
    fn default() -> Tracker {
        Tracker {
            conns: HashMap::default(),
            next_stream: 0,
            retired: Vec::new(),
            keep_retired: false,
            segments: 0,
            reassembler: Reassembler {
                which: Reassembly::Off,
                dns: false,
                held_total: 0,
                total_cap: MAX_HELD_TOTAL,
                cap_hits: 0,
                peak_held: 0,
            },
            retired_gaps: (0, 0),
            live_cap: crate::limits::Limits::default().tcp_conns,
            forgotten: 0,
            rows_cap: crate::limits::Limits::default().table_rows,
            rows_dropped: 0,
            without_analysis: false,
            ack_rtt: true,
        }
    }
}

/// Which connections to put back in byte order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reassembly {
    #[default]
    Off,
    Stream(u32),
    All,
}

/// Bytes all connections together may hold out of order; past it, the direction that grows
/// gives up on its holes (declares them gaps) rather than memory growing.
pub const MAX_HELD_TOTAL: usize = 256 << 20;

/// A closed connection (FIN both ways, or RST) idle this long in capture time is retired.
const RETIRE_CLOSED_NS: i64 = 300 * 1_000_000_000;
/// Any connection idle this long is retired.
const RETIRE_IDLE_NS: i64 = 3600 * 1_000_000_000;
/// Closed connections kept at most (past it, those closed longest ago are retired first), so
/// that a capture of many short connections holds memory for the open ones only.
const MAX_CLOSED_KEPT: usize = 4096;
/// How often (in segments) to look for connections to retire.
const SWEEP_EVERY: u64 = 1 << 16;

/// A segment as the tracker sees it.
pub struct Segment<'a> {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub tcp: &'a Tcp,
    /// The data the record was decoded from, which holds the TCP options.
    pub data: &'a [u8],
    /// The payload as captured (for reassembly).
    pub payload: &'a [u8],
    pub frame: u64,
    pub ts_ns: i64,
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// A tracker that also keeps the summaries of retired connections, for
    /// [`Tracker::into_summaries`].
    pub fn keeping_summaries() -> Tracker {
        Tracker {
            keep_retired: true,
            ..Tracker::default()
        }
    }

    /// Also put DNS connections (port 53) back in order, whatever `reassembling` says: DNS
    /// over TCP is framed from the byte stream.
    pub fn reassembling_dns(mut self, on: bool) -> Tracker {
        self.reassembler.dns = on;
        self
    }

    /// Also put the byte streams back in order (see [`SegmentInfo::delivered`]).
    pub fn reassembling(mut self, which: Reassembly, total_cap: usize) -> Tracker {
        self.reassembler.which = which;
        self.reassembler.total_cap = total_cap;
        self
    }

    /// The most bytes held out of order at once, by all connections (after the cap).
    pub fn peak_held(&self) -> usize {
        self.reassembler.peak_held
    }

    /// A tracker that numbers the streams (`tcp.stream`) and puts byte streams back in order
    /// as a full one does, and analyses nothing: no relative acknowledgement numbers, analysis
    /// flags, windows, round trips or summaries beyond what numbering reads. Its
    /// [`SegmentInfo`]s carry the stream, the direction, the times and what reassembly
    /// delivered, and defaults in every other field. For readers of nothing else (`conv`,
    /// `stats`, `http`): analysis and summaries were two thirds of the tracker's work per
    /// segment.
    ///
    /// Numbering reads each direction's first sequence number (a SYN with another one on a
    /// known 4-tuple starts a new stream), the time a connection was last seen and whether each
    /// side sent a FIN or RST (which connections are retired, and so numbered anew if seen
    /// again); reassembly reads the relative sequence number. This keeps exactly those.
    pub fn without_analysis(mut self) -> Tracker {
        self.without_analysis = true;
        self
    }

    /// Analysis without the acknowledged segment and its round trip (`tcp.analysis.acks_frame`,
    /// `tcp.analysis.ack_rtt`, and with them whether `tcp.analysis.initial_rtt` shows on an ACK
    /// without data), for outputs that show none of them: the packet list's summary lines, the
    /// `tcp` table, the flow diagram. Nothing else reads the unacknowledged segments, and
    /// keeping them (a push for every segment with data, a pop for every ACK, a queue for every
    /// direction) was a sixteenth of the instructions of the `tcp` table's thread that sets the
    /// wall time.
    pub fn without_ack_rtt(mut self) -> Tracker {
        self.ack_rtt = false;
        self
    }

    /// Track at most `conns` connections at once and keep at most `rows` retired summaries.
    pub fn limited(mut self, conns: usize, rows: usize) -> Tracker {
        self.live_cap = conns.max(1);
        self.rows_cap = rows;
        self
    }

    /// Reassembly totals: gaps declared, bytes they skipped, and global cap hits.
    pub fn reassembly_totals(&self) -> (u64, u64, u64) {
        let (mut gaps, mut missed) = (0u64, 0u64);
        for c in self.conns.values() {
            if let Some(dirs) = &c.streams {
                for d in dirs.iter() {
                    gaps += u64::from(d.gaps);
                    missed += d.missed_bytes;
                }
            }
        }
        (
            gaps + self.retired_gaps.0,
            missed + self.retired_gaps.1,
            self.reassembler.cap_hits,
        )
    }

    fn retire(&mut self, summary: ConnSummary) {
        if self.keep_retired {
            if self.retired.len() < self.rows_cap {
                self.retired.push(summary);
            } else {
                self.rows_dropped += 1;
            }
        }
    }

    /// A connection leaves the table: its reassembly totals and summary are kept.
    fn drop_conn(&mut self, c: Conn) {
        let (held, gaps, missed) = c.reassembly_state();
        self.reassembler.held_total = self.reassembler.held_total.saturating_sub(held);
        self.retired_gaps.0 += gaps;
        self.retired_gaps.1 += missed;
        self.retire(c.summary);
    }

    /// The keys of the connections `leave` picks, in stream order: connections leave the table
    /// in that order, so which summaries the row cap keeps does not depend on the hash seed,
    /// which changes from run to run.
    fn keys_where(&self, leave: impl Fn(&Conn) -> bool) -> Vec<Key> {
        let mut gone: Vec<(u32, Key)> = (self.conns.iter())
            .filter(|(_, c)| leave(c))
            .map(|(k, c)| (c.stream, *k))
            .collect();
        gone.sort_unstable_by_key(|(stream, _)| *stream);
        gone.into_iter().map(|(_, k)| k).collect()
    }

    /// The table is full: forget the least recently seen sixteenth of the connections (at least
    /// one). O(connections), once per sixteenth of them: constant per new connection.
    fn forget_oldest(&mut self) {
        let n = (self.conns.len() / 16).max(1);
        let mut seen: Vec<(i64, u32)> =
            self.conns.values().map(|c| (c.last_ts, c.stream)).collect();
        if seen.len() < n {
            return;
        }
        let cutoff = *seen.select_nth_unstable(n - 1).1;
        let gone = self.keys_where(|c| (c.last_ts, c.stream) <= cutoff);
        for k in gone {
            if let Some(c) = self.conns.remove(&k) {
                self.forgotten += u64::from(!c.is_closed());
                self.drop_conn(c);
            }
        }
    }

    /// Number of streams assigned so far.
    pub fn streams(&self) -> u32 {
        self.next_stream
    }

    /// Every connection's summary, retired or not, in stream order.
    pub fn into_summaries(self) -> Vec<ConnSummary> {
        let mut all = self.retired;
        all.extend(self.conns.into_values().map(|c| c.summary));
        // Stream numbers are unique: an unstable sort gives the same order, without the
        // stable sort's buffer of summaries moved through it.
        all.sort_unstable_by_key(|s| s.stream);
        all
    }

    /// Move connections that are over (or long idle) out of the table, so memory follows the
    /// connections alive at one time, not the whole capture. A retired 4-tuple seen again starts
    /// a new stream (Wireshark would continue the old one after any pause).
    fn sweep(&mut self, now: i64) {
        let is_closed = Conn::is_closed;
        // Past the cap, closed connections last seen before `cutoff` go.
        let mut closed_seen: Vec<i64> = self
            .conns
            .values()
            .filter(|c| is_closed(c))
            .map(|c| c.last_ts)
            .collect();
        let cutoff = match closed_seen.len().checked_sub(MAX_CLOSED_KEPT) {
            Some(excess) if excess > 0 => *closed_seen.select_nth_unstable(excess).1,
            _ => i64::MIN,
        };
        let gone = self.keys_where(|c| {
            let closed = is_closed(c);
            let idle = now.saturating_sub(c.last_ts);
            let limit = if closed {
                RETIRE_CLOSED_NS
            } else {
                RETIRE_IDLE_NS
            };
            idle >= limit || (closed && c.last_ts < cutoff)
        });
        for k in gone {
            if let Some(c) = self.conns.remove(&k) {
                self.drop_conn(c);
            }
        }
    }

    /// Track one segment: what [`Tracker::segment_into`] writes, returned.
    pub fn segment(&mut self, seg: &Segment<'_>) -> SegmentInfo {
        let mut info = SegmentInfo::default();
        self.segment_into(seg, &mut info);
        info
    }

    /// Track one segment, writing what it tells into `out`, every field of it. The engine
    /// passes the frame state's own slot: returned by value, the 176 bytes were copied into
    /// that slot twice per segment (through a temporary, around dropping the slot's old value).
    pub fn segment_into(&mut self, seg: &Segment<'_>, out: &mut SegmentInfo) {
        let (src, tcp, now) = (seg.src, seg.tcp, seg.ts_ns);
        self.segments += 1;
        if self.segments.is_multiple_of(SWEEP_EVERY) {
            self.sweep(now);
        }
        let k = key(seg.src, seg.dst);
        let syn = tcp.has(tcp_flags::SYN);
        let ack = tcp.has(tcp_flags::ACK);
        let fin = tcp.has(tcp_flags::FIN);
        let rst = tcp.has(tcp_flags::RST);
        let mut flags = 0u32;
        // A SYN (without ACK) with a different initial sequence number on a known 4-tuple starts a
        // new conversation, as in Wireshark: the old one was closed and the ports reused.
        // (Only a SYN looks: one hash lookup fewer for every other segment.)
        let reused = syn
            && !ack
            && self.conns.get(&k).is_some_and(|c| {
                let dir = usize::from(c.first_src != src);
                c.half
                    .get(dir)
                    .and_then(|h| h.base)
                    .is_some_and(|b| b != tcp.seq)
            });
        if reused {
            flags |= analysis::REUSED_PORTS;
            // The old conversation is over: keep its summary, its 4-tuple now names a new one.
            if let Some(old) = self.conns.remove(&k) {
                self.drop_conn(old);
            }
        }
        if self.conns.len() >= self.live_cap && !self.conns.contains_key(&k) {
            self.forget_oldest();
        }
        // One lookup finds the connection or makes room for a new one.
        let next_stream = &mut self.next_stream;
        let c = self.conns.entry(k).or_insert_with(|| {
            let stream = *next_stream;
            *next_stream = next_stream.saturating_add(1);
            Conn {
                stream,
                first_src: src,
                half: Default::default(),
                syn_time: None,
                synack_seq: None,
                initial_rtt_ns: None,
                first_ts: now,
                last_ts: now,
                summary: ConnSummary::new(stream, src, seg.dst, seg.frame, now),
                streams: None,
            }
        });
        let dir = usize::from(c.first_src != src);
        let time_relative_ns = now.saturating_sub(c.first_ts);
        let time_delta_ns = now.saturating_sub(c.last_ts);
        c.last_ts = now;
        let [h0, h1] = &mut c.half;
        let (fwd, rev) = if dir == 0 { (h0, h1) } else { (h1, h0) };

        if fwd.base.is_none() {
            fwd.base = Some(if syn {
                tcp.seq
            } else {
                tcp.seq.wrapping_sub(1)
            });
        }
        if ack && rev.base.is_none() {
            rev.base = Some(tcp.ack.wrapping_sub(1));
        }
        // Relative to the direction's base, which the lines above have set.
        let seq = tcp.seq.wrapping_sub(fwd.base.unwrap_or(tcp.seq));
        if self.without_analysis {
            c.summary.record_end(dir, tcp, seg.frame, now);
            *out = SegmentInfo {
                stream: c.stream,
                dir: u8::from(dir == 1),
                time_relative_ns,
                time_delta_ns,
                ..SegmentInfo::default()
            };
            if self.reassembler.wants(c.stream, seg) {
                out.delivered = self.reassembler.segment(c, dir, syn, seq, seg);
            }
            return;
        }
        if syn {
            fwd.syn_ws = Some(tcp.window_scale(seg.data));
            if ack {
                c.synack_seq = Some(tcp.seq);
            } else {
                // Wireshark measures the handshake from the most recent SYN.
                c.syn_time = Some(now);
            }
        } else if ack
            && c.initial_rtt_ns.is_none()
            && let (Some(isn), Some(t0)) = (c.synack_seq, c.syn_time)
            && tcp.ack == isn.wrapping_add(1)
        {
            c.initial_rtt_ns = Some(now.saturating_sub(t0));
        }
        let rev_base = rev.base.unwrap_or(0);
        let ackn = if ack {
            tcp.ack.wrapping_sub(rev_base)
        } else {
            0
        };
        let seglen = tcp.payload_len;
        let window = tcp.window;

        // Window scaling (RFC 7323 §2.2): a side's own option counts unless the peer's SYN was
        // seen without one; SYN segments themselves are never scaled.
        let shift_of = |me: &Half, peer: &Half| match (me.syn_ws, peer.syn_ws) {
            (_, Some(None)) | (Some(None), _) => (None, true),
            (Some(Some(s)), _) => (Some(s.min(14)), true),
            (None, _) => (None, false),
        };
        let (shift, scaling_seen) = shift_of(fwd, rev);
        let (rev_shift, rev_scaling_seen) = shift_of(rev, fwd);

        // ---- sequence analysis, in packet-tcp.c's order
        let mut dup_ack = None;
        let no_sfr = !(syn || fin || rst);
        'fwd_checks: {
            if seglen == 1 && fwd.nextseq != 0 && seq == fwd.nextseq && rev.window == Some(0) {
                flags |= analysis::ZERO_WINDOW_PROBE;
                break 'fwd_checks;
            }
            if window == 0 && no_sfr {
                flags |= analysis::ZERO_WINDOW;
            }
            if fwd.nextseq != 0 && gt(seq, fwd.nextseq) && !rst {
                flags |= analysis::LOST_SEGMENT;
            }
            if seglen <= 1 && no_sfr && fwd.nextseq != 0 && seq == fwd.nextseq.wrapping_sub(1) {
                flags |= analysis::KEEP_ALIVE;
            }
            let same_place = seq == fwd.nextseq && ackn == fwd.lastack && no_sfr;
            if seglen == 0 && window != 0 && fwd.window.is_some_and(|w| w != window) && same_place {
                flags |= analysis::WINDOW_UPDATE;
            }
            if seglen > 0
                && no_sfr
                && (rev_shift.is_some() || rev_scaling_seen)
                && let Some(rw) = rev.window
            {
                let limit = rev
                    .lastack
                    .wrapping_add(u32::from(rw) << rev_shift.unwrap_or(0));
                if seq.wrapping_add(seglen) == limit {
                    flags |= analysis::WINDOW_FULL;
                }
            }
            let unchanged = fwd.window == Some(window);
            if seglen == 0
                && window != 0
                && unchanged
                && same_place
                && rev.lastflags & analysis::KEEP_ALIVE != 0
            {
                flags |= analysis::KEEP_ALIVE_ACK;
                break 'fwd_checks;
            }
            if seglen == 0
                && window == 0
                && unchanged
                && same_place
                && rev.lastflags & analysis::ZERO_WINDOW_PROBE != 0
            {
                flags |= analysis::ZERO_WINDOW_PROBE_ACK;
                break 'fwd_checks;
            }
            if seglen == 0 && window != 0 && unchanged && same_place {
                fwd.dupacknum = fwd.dupacknum.saturating_add(1);
                flags |= analysis::DUPLICATE_ACK;
                dup_ack = Some((fwd.lastnondupack, fwd.dupacknum));
            }
        }
        if ackn != fwd.lastack {
            fwd.lastnondupack = seg.frame;
            fwd.dupacknum = 0;
        }
        if ack && rev.maxseqtobeacked != 0 && gt(ackn, rev.maxseqtobeacked) {
            flags |= analysis::ACK_LOST_SEGMENT;
            rev.maxseqtobeacked = rev.nextseq;
        }
        if (seglen > 0 || syn || fin) && flags & analysis::KEEP_ALIVE == 0 {
            let mut not_adv = fwd.nextseq != 0 && lt(seq, fwd.nextseq);
            if seglen > 1 && seq == fwd.nextseq.wrapping_sub(1) {
                not_adv = false;
            }
            let irtt = c.initial_rtt_ns.unwrap_or(0);
            let ooo_threshold = if irtt > 0 { irtt } else { OOO_DEFAULT_NS };
            let seg_end = seq
                .wrapping_add(seglen)
                .wrapping_add(u32::from(syn) + u32::from(fin));
            if seglen > 0 && rev.lastack != 0 && le(seq.wrapping_add(seglen), rev.lastack) {
                flags |= analysis::SPURIOUS_RETRANSMISSION;
            } else if not_adv
                && rev.dupacknum >= 2
                && rev.lastack == seq
                && now.saturating_sub(rev.lastack_time) < FAST_RETRANS_NS
            {
                flags |= analysis::FAST_RETRANSMISSION;
            } else if not_adv
                && now.saturating_sub(fwd.nextseq_time) < ooo_threshold
                && fwd.nextseq != seg_end
            {
                flags |= analysis::OUT_OF_ORDER;
            } else if not_adv {
                flags |= analysis::RETRANSMISSION;
            }
        }

        // ---- update this direction's state
        let seg_end = seq
            .wrapping_add(seglen)
            .wrapping_add(u32::from(syn) + u32::from(fin));
        // The ACK acknowledges the reverse direction's segments up to `ackn`; one that it
        // acknowledges exactly gives the round trip (packet-tcp.c's unacked-segment list).
        let mut acked = None;
        if ack && self.ack_rtt {
            while let Some(&(next, frame, ts)) = rev.unacked.front() {
                if gt(next, ackn) {
                    break;
                }
                if next == ackn {
                    acked = Some((frame, now.saturating_sub(ts)));
                }
                rev.unacked.pop_front();
            }
        }
        if flags & analysis::ZERO_WINDOW_PROBE == 0
            && (fwd.nextseq == 0 || gt(seg_end, fwd.nextseq))
        {
            if (seglen > 0 || syn || fin) && self.ack_rtt {
                if fwd.unacked.len() >= MAX_UNACKED {
                    fwd.unacked.pop_front();
                }
                fwd.unacked.push_back((seg_end, seg.frame, now));
            }
            fwd.nextseq = seg_end;
            fwd.nextseq_time = now;
        }
        // The highest contiguous sequence number: a segment starting exactly there lets it jump
        // to everything seen so far (packet-tcp.c), so one lost segment is flagged once.
        if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0)
            && flags & analysis::ZERO_WINDOW_PROBE == 0
        {
            fwd.maxseqtobeacked = fwd.nextseq;
        }
        fwd.window = Some(window);
        fwd.lastack = ackn;
        fwd.lastack_time = now;
        fwd.lastflags = flags;

        let scaled = match shift {
            Some(s) if !syn => u32::from(window) << s,
            _ => u32::from(window),
        };
        // ---- reassembly, for the connections asked for
        let delivered = if self.reassembler.wants(c.stream, seg) {
            self.reassembler.segment(c, dir, syn, seq, seg)
        } else {
            reassembly::Delivered::new()
        };
        c.summary.record(&SummaryInput {
            from_first: dir == 0,
            tcp,
            data: seg.data,
            frame: seg.frame,
            now,
            flags,
            rel_seq: seq,
            irtt: c.initial_rtt_ns,
        });
        // Named without `..`: a field added to SegmentInfo must be written here too.
        let SegmentInfo {
            stream: out_stream,
            dir: out_dir,
            rel_seq,
            rel_ack,
            next_rel_seq,
            window: out_window,
            shift: out_shift,
            scaling_seen: out_scaling_seen,
            sack_base,
            analysis: out_analysis,
            dup_ack: out_dup_ack,
            initial_rtt_ns,
            time_relative_ns: out_time_relative_ns,
            time_delta_ns: out_time_delta_ns,
            acked: out_acked,
            delivered: out_delivered,
        } = out;
        *out_stream = c.stream;
        *out_dir = u8::from(dir == 1);
        *rel_seq = seq;
        *rel_ack = ackn;
        *next_rel_seq = seg_end;
        *out_window = scaled;
        *out_shift = if syn { None } else { shift };
        *out_scaling_seen = !syn && scaling_seen;
        *sack_base = rev_base;
        *out_analysis = flags;
        *out_dup_ack = dup_ack;
        *initial_rtt_ns = c.initial_rtt_ns;
        *out_time_relative_ns = time_relative_ns;
        *out_time_delta_ns = time_delta_ns;
        *out_acked = acked;
        *out_delivered = delivered;
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::decode::TcpOptions;

    /// The hand-written order is the one `derive` gave: address bytes, then `v6`, then port.
    #[test]
    fn endpoints_order_as_their_fields_do() {
        let mut all = Vec::new();
        for addr in [[0u8; 16], [1; 16], [0xff; 16]] {
            for b in [0u8, 1, 0x80, 0xff] {
                for i in [0usize, 3, 15] {
                    let mut a = addr;
                    a[i] = b;
                    for (v6, port) in [(false, 0), (false, 80), (true, 80), (true, 65535)] {
                        all.push(Endpoint { addr: a, v6, port });
                    }
                }
            }
        }
        let mut ours = all.clone();
        ours.sort();
        let mut fields = all;
        fields.sort_by_key(|e| (e.addr, e.v6, e.port));
        assert_eq!(ours, fields);
    }

    /// The memory budget counts a tracked connection and a kept summary at fixed sizes; they
    /// must not be smaller than what the structures take (a hash slot, the history's heap).
    #[test]
    fn budgeted_sizes_cover_the_structures() {
        let history = 64 * std::mem::size_of::<(usize, u8)>();
        let conn = std::mem::size_of::<(Key, Conn)>() + 16 + history;
        let row = std::mem::size_of::<ConnSummary>() + history;
        eprintln!("tracked connection {conn} bytes, summary row {row} bytes");
        assert!(conn <= crate::limits::TCP_CONN_BYTES, "{conn}");
        assert!(row <= crate::limits::TABLE_ROW_BYTES, "{row}");
    }

    fn ep(last: u8, port: u16) -> Endpoint {
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&[10, 0, 0, last]);
        Endpoint {
            addr,
            v6: false,
            port,
        }
    }

    fn seg(flags: u16, seq: u32, ack: u32, len: u32) -> Tcp {
        Tcp {
            src_port: 0,
            dst_port: 0,
            seq,
            ack,
            hdr_len: 20,
            flags,
            window: 1000,
            checksum: 0,
            urgent: 0,
            options: TcpOptions::default(),
            payload_len: len,
        }
    }

    const SEC: i64 = 1_000_000_000;

    /// Feed a short connection a -> b: handshake, FIN both ways; `t0` in seconds.
    fn connection(tr: &mut Tracker, a: Endpoint, b: Endpoint, isn: u32, t0: i64, frame0: u64) {
        use tcp_flags::*;
        let steps = [
            (a, b, seg(SYN, isn, 0, 0)),
            (b, a, seg(SYN | ACK, 7000, isn.wrapping_add(1), 0)),
            (a, b, seg(ACK, isn.wrapping_add(1), 7001, 0)),
            (a, b, seg(FIN | ACK, isn.wrapping_add(1), 7001, 0)),
            (b, a, seg(FIN | ACK, 7001, isn.wrapping_add(2), 0)),
            (a, b, seg(ACK, isn.wrapping_add(2), 7002, 0)),
        ];
        for (i, (src, dst, t)) in steps.iter().enumerate() {
            tr.segment(&Segment {
                data: &[],
                src: *src,
                dst: *dst,
                tcp: t,
                payload: &[],
                frame: frame0 + i as u64,
                ts_ns: t0 * SEC + i as i64,
            });
        }
    }

    /// A tracker without analysis numbers streams and reassembles as a full one does, through
    /// ports reused with new ISNs, FINs and RSTs, connections retired by the sweeps (closed and
    /// idle ones, past the closed ones kept) and forgotten at the live cap, and segments out of
    /// order, repeated and overlapping: a seeded random walk over a dozen 4-tuples, longer than
    /// three sweeps. With reassembly, the cap on bytes held out of order is small enough to be
    /// hit.
    #[test]
    fn without_analysis_numbers_and_reassembles_as_a_full_tracker_does() {
        use tcp_flags::*;
        let bytes: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
        for (cap, which) in [
            (5, Reassembly::Off),
            (1 << 20, Reassembly::All),
            (5, Reassembly::All),
        ] {
            let make = |t: Tracker| t.limited(cap, 100).reassembling(which, 2 << 10);
            let mut full = make(Tracker::new());
            let mut lean = make(Tracker::new().without_analysis());
            let mut x = 0x2545_f491u64;
            let mut next = |n: u64| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (x >> 33) % n
            };
            let mut isns = [0u32; 12];
            let mut now = 0i64;
            let flag_sets = [
                SYN,
                SYN | ACK,
                ACK,
                ACK | PSH,
                ACK | PSH,
                FIN | ACK,
                RST,
                RST | ACK,
            ];
            let mut delivered = 0;
            for frame in 1..=(3 * SWEEP_EVERY + 1000) {
                let t = next(12) as usize;
                let (client, server) = (ep(1 + t as u8 % 6, 40000 + t as u16), ep(200, 80));
                let (src, dst) = if next(2) == 0 {
                    (client, server)
                } else {
                    (server, client)
                };
                if next(50) == 0 {
                    isns[t] = next(1 << 32) as u32; // a new connection on the same 4-tuple
                }
                let flags = flag_sets[next(flag_sets.len() as u64) as usize];
                let seq = isns[t].wrapping_add(next(20_000) as u32);
                let len = if flags & PSH != 0 {
                    1 + next(1400) as u32
                } else {
                    0
                };
                now += match next(10_000) {
                    0 => RETIRE_IDLE_NS,
                    1..=3 => RETIRE_CLOSED_NS,
                    n => n as i64 * 1000,
                };
                let tcp = seg(flags, seq, next(1 << 32) as u32, len);
                let segment = Segment {
                    data: &[],
                    src,
                    dst,
                    tcp: &tcp,
                    payload: &bytes[..len as usize],
                    frame,
                    ts_ns: now,
                };
                let (a, b) = (full.segment(&segment), lean.segment(&segment));
                assert_eq!(
                    (
                        a.stream,
                        a.dir,
                        a.time_relative_ns,
                        a.time_delta_ns,
                        &a.delivered
                    ),
                    (
                        b.stream,
                        b.dir,
                        b.time_relative_ns,
                        b.time_delta_ns,
                        &b.delivered
                    ),
                    "frame {frame}, live cap {cap}, {which:?}"
                );
                delivered += a.delivered.len();
            }
            assert_eq!(full.streams(), lean.streams());
            assert_eq!(full.forgotten, lean.forgotten);
            assert_eq!(full.reassembly_totals(), lean.reassembly_totals());
            assert_eq!(full.peak_held(), lean.peak_held());
            assert!(full.streams() > 100, "{} streams", full.streams());
            if which == Reassembly::All {
                let (gaps, _, cap_hits) = full.reassembly_totals();
                assert!(
                    delivered > 1000 && gaps > 0 && cap_hits > 0,
                    "{delivered} {gaps} {cap_hits} {}",
                    full.peak_held()
                );
            }
        }
    }

    #[test]
    fn closed_connections_are_retired_but_still_reported() {
        let mut tr = Tracker::keeping_summaries();
        connection(&mut tr, ep(1, 1000), ep(2, 80), 100, 0, 1);
        connection(&mut tr, ep(1, 1001), ep(2, 80), 200, 1, 7);
        assert_eq!(tr.conns.len(), 2);
        tr.sweep(RETIRE_CLOSED_NS / SEC * SEC + 2 * SEC);
        assert_eq!(tr.conns.len(), 0, "both closed and idle past the limit");
        let all = tr.into_summaries();
        assert_eq!(all.iter().map(|c| c.stream).collect::<Vec<_>>(), [0, 1]);
        assert!(all.iter().all(|c| c.conn_state() == "SF"));
    }

    #[test]
    fn the_packet_list_keeps_nothing_of_retired_connections() {
        let mut tr = Tracker::new();
        for i in 0..100u16 {
            connection(&mut tr, ep(1, 1000 + i), ep(2, 80), 100, i64::from(i), 1);
        }
        tr.sweep(RETIRE_CLOSED_NS + 200 * SEC);
        assert!(tr.conns.is_empty() && tr.retired.is_empty());
    }

    #[test]
    fn open_connections_stay_until_long_idle() {
        use tcp_flags::*;
        let mut tr = Tracker::keeping_summaries();
        let (a, b) = (ep(1, 1000), ep(2, 80));
        tr.segment(&Segment {
            data: &[],
            src: a,
            dst: b,
            tcp: &seg(SYN, 5, 0, 0),
            payload: &[],
            frame: 1,
            ts_ns: 0,
        });
        tr.sweep(RETIRE_CLOSED_NS + SEC);
        assert_eq!(
            tr.conns.len(),
            1,
            "not closed: kept past the closed-connection limit"
        );
        tr.sweep(RETIRE_IDLE_NS + SEC);
        assert_eq!(tr.conns.len(), 0);
        assert_eq!(tr.into_summaries()[0].conn_state(), "S0");
    }

    #[test]
    fn reused_ports_start_a_new_stream_and_keep_the_old_one() {
        let mut tr = Tracker::keeping_summaries();
        let (a, b) = (ep(1, 45000), ep(2, 8080));
        connection(&mut tr, a, b, 100, 0, 1);
        connection(&mut tr, a, b, 900, 2, 7);
        let all = tr.into_summaries();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].first_frame, 7);
    }

    #[test]
    fn relative_numbers_wrap_around_zero() {
        use tcp_flags::*;
        let mut tr = Tracker::new();
        let (a, b) = (ep(1, 1000), ep(2, 80));
        let isn = u32::MAX - 1;
        tr.segment(&Segment {
            data: &[],
            src: a,
            dst: b,
            tcp: &seg(SYN, isn, 0, 0),
            payload: &[],
            frame: 1,
            ts_ns: 0,
        });
        let info = tr.segment(&Segment {
            data: &[],
            src: a,
            dst: b,
            tcp: &seg(ACK | PSH, isn.wrapping_add(1), 1, 10),
            payload: &[],
            frame: 2,
            ts_ns: 1,
        });
        assert_eq!((info.rel_seq, info.next_rel_seq), (1, 11));
        let info = tr.segment(&Segment {
            data: &[],
            src: a,
            dst: b,
            tcp: &seg(ACK | PSH, isn.wrapping_add(11), 1, 10),
            payload: &[],
            frame: 3,
            ts_ns: 2,
        });
        assert_eq!(info.rel_seq, 11, "past the wrap of the raw sequence number");
        assert_eq!(
            info.analysis, 0,
            "in order: no retransmission across the wrap"
        );
    }
}
