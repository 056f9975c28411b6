//! IP fragment reassembly (RFC 791 §3.2 for IPv4, RFC 8200 §4.5 for IPv6), in the ordered stage.
//!
//! Fragments are grouped by source, destination, identification and (IPv4) protocol. A datagram
//! is complete when a last fragment (no "more fragments" flag) fixed its length and every byte
//! before it has arrived, in any order. It is put together as Wireshark does: fragments in
//! offset order, and where two overlap the lower offset (then the earlier arrival) wins. The
//! frame whose fragment completes the datagram carries it, as in tshark.
//!
//! Nothing is invented and nothing grows without bound: a datagram is at most 65,535 bytes and
//! [`MAX_FRAGMENTS`] fragments, and past [`MAX_HELD_TOTAL`] bytes or [`MAX_PENDING`] datagrams
//! the oldest unfinished datagram is given up. Inconsistent datagrams (two different ends, a
//! fragment past the end, more than 65,535 bytes) are given up too, and every one given up is
//! counted.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::VecDeque;

use foldhash::HashMap;

/// The largest datagram either IP version can reassemble (IPv6 jumbograms are never fragmented).
pub const MAX_DATAGRAM: u32 = 65_535;
/// Fragments kept per datagram. Real fragments carry at least 8 bytes (68-byte IPv4 MTU), and
/// real MTUs make a few dozen at most; this leaves room for any honest sender.
pub const MAX_FRAGMENTS: usize = 2048;
/// Fragment bytes held by all unfinished datagrams together.
pub const MAX_HELD_TOTAL: usize = 64 << 20;
/// Unfinished datagrams held at once.
pub const MAX_PENDING: usize = 65_536;

/// What identifies the fragments of one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub v6: bool,
    /// IPv4 addresses sit in the first 4 bytes.
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub id: u32,
    /// The IPv4 protocol; 0 for IPv6, whose fragments are matched without it.
    pub proto: u8,
}

/// One fragment as the decoder found it.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<'a> {
    pub key: Key,
    /// The fragment's place in the datagram, in bytes.
    pub offset: u32,
    pub more: bool,
    /// The fragment's payload as captured; `claimed_len` is what the IP header says it is.
    pub payload: &'a [u8],
    pub claimed_len: u32,
    pub frame: u64,
}

/// One fragment of a reassembled datagram: the frame it came in and the bytes it held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub frame: u64,
    pub offset: u32,
    pub len: u32,
}

/// A reassembled datagram: the payload, and its fragments in offset order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    pub bytes: Vec<u8>,
    pub pieces: Vec<Piece>,
}

#[derive(Debug)]
struct Pending {
    /// Fragments in arrival order, with their captured bytes.
    pieces: Vec<(Piece, Vec<u8>)>,
    held: usize,
    /// The datagram's length, once a last fragment said it.
    total: Option<u32>,
    /// Byte ranges received, sorted and merged.
    covered: Vec<(u32, u32)>,
    /// Arrival order of the datagram's first fragment, for eviction.
    seq: u64,
}

/// Unfinished datagrams of a capture.
#[derive(Debug)]
pub struct Defrag {
    pending: HashMap<Key, Pending>,
    /// Datagrams by arrival of their first fragment; entries of finished ones are skipped.
    order: VecDeque<(u64, Key)>,
    next_seq: u64,
    held: usize,
    /// Bytes all unfinished datagrams may hold (see [`crate::limits::Limits::defrag_bytes`]).
    held_cap: usize,
    /// Datagrams given up: evicted at a cap, or inconsistent.
    pub dropped: u64,
    /// Of those, the ones evicted because fragments filled `held_cap` or [`MAX_PENDING`].
    pub evicted: u64,
}

impl Default for Defrag {
    fn default() -> Self {
        Defrag::with_cap(MAX_HELD_TOTAL)
    }
}

impl Defrag {
    /// Reassembly holding at most `bytes` of fragments at once.
    pub fn with_cap(bytes: usize) -> Defrag {
        Defrag {
            pending: HashMap::default(),
            order: VecDeque::new(),
            next_seq: 0,
            held: 0,
            held_cap: bytes,
            dropped: 0,
            evicted: 0,
        }
    }

    /// Add one fragment; returns the datagram it completes, if it does.
    pub fn add(&mut self, f: &Fragment<'_>) -> Option<Datagram> {
        let captured = u32::try_from(f.payload.len()).unwrap_or(u32::MAX);
        let len = captured.min(f.claimed_len);
        let end = f.offset.saturating_add(f.claimed_len);
        let seq = self.next_seq;
        let p = self.pending.entry(f.key).or_insert_with(|| Pending {
            pieces: Vec::new(),
            held: 0,
            total: None,
            covered: Vec::new(),
            seq,
        });
        if p.seq == seq {
            self.next_seq += 1;
            self.order.push_back((seq, f.key));
        }
        let consistent = end <= MAX_DATAGRAM
            && p.pieces.len() < MAX_FRAGMENTS
            && p.held + len as usize <= 2 * MAX_DATAGRAM as usize
            && match (p.total, f.more) {
                (Some(t), true) => end <= t,
                (Some(t), false) => end == t,
                (None, true) => true,
                // A last fragment must not cut off bytes already received.
                (None, false) => p.covered.last().is_none_or(|&(_, e)| e <= end),
            };
        if !consistent {
            self.give_up(f.key);
            return None;
        }
        if !f.more {
            p.total = Some(end);
        }
        let bytes = f.payload.get(..len as usize).unwrap_or(f.payload).to_vec();
        p.held += bytes.len();
        self.held += bytes.len();
        let piece = Piece {
            frame: f.frame,
            offset: f.offset,
            len,
        };
        p.pieces.push((piece, bytes));
        if len > 0 {
            cover(&mut p.covered, f.offset, f.offset + len);
        }
        let done = p
            .total
            .is_some_and(|t| t == 0 || p.covered.as_slice() == [(0, t)]);
        if done {
            let p = self.pending.remove(&f.key)?;
            self.held -= p.held;
            self.compact_order();
            return Some(assemble(p));
        }
        self.enforce_caps();
        None
    }

    /// Unfinished datagrams now.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn give_up(&mut self, key: Key) {
        if let Some(p) = self.pending.remove(&key) {
            self.held -= p.held;
            self.dropped += 1;
        }
    }

    fn enforce_caps(&mut self) {
        while self.held > self.held_cap || self.pending.len() > MAX_PENDING {
            let Some((seq, key)) = self.order.pop_front() else {
                break;
            };
            if self.pending.get(&key).is_some_and(|p| p.seq == seq) {
                self.give_up(key);
                self.evicted += 1;
            }
        }
    }

    /// Drop the order entries of datagrams that finished, once they outnumber the live ones.
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.pending.len() + 64 {
            let pending = &self.pending;
            self.order
                .retain(|(seq, key)| pending.get(key).is_some_and(|p| p.seq == *seq));
        }
    }
}

/// Add `[start, end)` to a sorted list of disjoint ranges, merging what touches it.
fn cover(ranges: &mut Vec<(u32, u32)>, start: u32, end: u32) {
    let first = ranges.partition_point(|&(_, e)| e < start);
    let last = ranges.partition_point(|&(s, _)| s <= end);
    let (mut s, mut e) = (start, end);
    if let Some(merged) = ranges.get(first..last) {
        if let (Some(a), Some(b)) = (merged.first(), merged.last()) {
            s = s.min(a.0);
            e = e.max(b.1);
        }
        ranges.splice(first..last, [(s, e)]);
    }
}

/// Put a complete datagram together: fragments in offset order (stable, so among equal offsets
/// the first to arrive), each adding only the bytes past what is already there.
fn assemble(p: Pending) -> Datagram {
    let total = p.total.unwrap_or(0);
    let mut pieces = p.pieces;
    pieces.sort_by_key(|(piece, _)| piece.offset);
    let mut bytes = vec![0u8; total as usize];
    let mut filled = 0u32;
    for (piece, data) in &pieces {
        let end = piece.offset.saturating_add(piece.len).min(total);
        if end <= filled {
            continue;
        }
        let from = filled.max(piece.offset);
        let src = data.get(
            from.saturating_sub(piece.offset) as usize..end.saturating_sub(piece.offset) as usize,
        );
        if let (Some(dst), Some(src)) = (bytes.get_mut(from as usize..end as usize), src) {
            dst.copy_from_slice(src);
        }
        filled = end;
    }
    Datagram {
        bytes,
        pieces: pieces.into_iter().map(|(piece, _)| piece).collect(),
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: Key = Key {
        v6: false,
        src: [10, 0, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        dst: [10, 0, 2, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        id: 0x425f,
        proto: 6,
    };

    fn frag(frame: u64, offset: u32, more: bool, payload: &[u8]) -> Fragment<'_> {
        Fragment {
            key: KEY,
            offset,
            more,
            payload,
            claimed_len: payload.len() as u32,
            frame,
        }
    }

    #[test]
    fn in_order_and_out_of_order_give_the_same_datagram() {
        let data: Vec<u8> = (0..40u8).collect();
        let parts = [(1, 0, true), (2, 16, true), (3, 32, false)];
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
            let mut d = Defrag::default();
            let mut out = None;
            for (n, &i) in order.iter().enumerate() {
                let (frame, off, more) = parts[i];
                let end = if more { off as usize + 16 } else { 40 };
                let got = d.add(&frag(frame, off, more, &data[off as usize..end]));
                assert_eq!(got.is_some(), n == 2, "completes on the last arrival only");
                out = out.or(got);
            }
            let dg = out.unwrap();
            assert_eq!(dg.bytes, data);
            let frames: Vec<u64> = dg.pieces.iter().map(|p| p.frame).collect();
            assert_eq!(frames, [1, 2, 3], "pieces are listed in offset order");
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn overlap_keeps_the_lower_offset_and_duplicates_do_not_complete_early() {
        let mut d = Defrag::default();
        assert!(d.add(&frag(1, 0, true, &[1; 16])).is_none());
        assert!(d.add(&frag(2, 0, true, &[9; 16])).is_none());
        assert!(d.add(&frag(3, 8, false, &[2; 16])).is_some_and(|dg| {
            dg.bytes[..16] == [1; 16] && dg.bytes[16..] == [2; 8] && dg.pieces.len() == 3
        }));
    }

    #[test]
    fn a_truncated_fragment_leaves_the_datagram_unfinished() {
        let mut d = Defrag::default();
        let mut f = frag(1, 0, true, &[0; 8]);
        f.claimed_len = 16;
        assert!(d.add(&f).is_none());
        assert!(d.add(&frag(2, 16, false, &[0; 8])).is_none());
        assert_eq!(d.pending(), 1);
    }

    #[test]
    fn inconsistent_datagrams_are_given_up_and_counted() {
        let mut d = Defrag::default();
        d.add(&frag(1, 16, false, &[0; 8]));
        // A second end elsewhere.
        assert!(d.add(&frag(2, 32, false, &[0; 8])).is_none());
        assert_eq!((d.pending(), d.dropped), (0, 1));
        // Past 65,535 bytes.
        assert!(d.add(&frag(3, 65_528, true, &[0; 16])).is_none());
        assert_eq!((d.pending(), d.dropped), (0, 2));
    }

    #[test]
    fn held_bytes_stay_under_the_cap() {
        let mut d = Defrag::default();
        let chunk = vec![0u8; 60_000];
        let n = MAX_HELD_TOTAL / chunk.len() + 100;
        for id in 0..n as u32 {
            let mut f = frag(u64::from(id), 0, true, &chunk);
            f.key.id = id;
            d.add(&f);
            assert!(d.held <= MAX_HELD_TOTAL);
        }
        assert!(d.dropped >= 100);
        assert!(d.order.len() <= n);
    }

    #[test]
    fn cover_merges_touching_ranges() {
        let mut r = Vec::new();
        cover(&mut r, 10, 20);
        cover(&mut r, 30, 40);
        assert_eq!(r, [(10, 20), (30, 40)]);
        cover(&mut r, 20, 30);
        assert_eq!(r, [(10, 40)]);
        cover(&mut r, 0, 5);
        cover(&mut r, 2, 50);
        assert_eq!(r, [(0, 50)]);
    }
}
