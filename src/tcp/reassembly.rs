//! One direction of a TCP byte stream, put back in order: in-order data is delivered at once,
//! retransmitted and overlapping bytes are delivered once (the first copy wins), segments that
//! arrive early wait until the gap before them fills. Nothing is invented: when the bytes held
//! exceed the cap, the missing range is declared a gap and delivery resumes after it.
//!
//! Sequence numbers are mapped to 64-bit stream offsets by their signed distance from the next
//! expected byte (RFC 9293 §3.4 arithmetic), so ordering survives the 2^32 wrap.

use std::collections::BTreeMap;

/// Bytes held out of order per direction before a gap is declared: far more than a real
/// window waiting for one lost segment, small enough that many streams fit in memory.
pub const MAX_HELD_BYTES: usize = 4 << 20;
/// Segments held out of order per direction (each costs a map entry).
pub const MAX_HELD_SEGMENTS: usize = 4096;

/// What a segment releases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The releasing segment's own payload from this byte on: in-order bytes, the common case,
    /// delivered without a copy (see [`Event::bytes`]).
    Tail(usize),
    /// Bytes, in stream order: held out of order until now, or owned by whoever kept them.
    Data(Vec<u8>),
    /// Bytes never seen (lost before the capture, or given up on at the cap).
    Gap(u64),
}

impl Event {
    /// The bytes delivered, given the payload of the segment that released them; `None` for a
    /// gap.
    pub fn bytes<'a>(&'a self, payload: &'a [u8]) -> Option<&'a [u8]> {
        match self {
            Event::Tail(from) => Some(payload.get(*from..).unwrap_or_default()),
            Event::Data(d) => Some(d),
            Event::Gap(_) => None,
        }
    }

    /// The same event owning its bytes, to keep past the segment (`payload` as for
    /// [`Event::bytes`]).
    pub fn into_owned(self, payload: &[u8]) -> Event {
        match self {
            Event::Tail(from) => Event::Data(payload.get(from..).unwrap_or_default().to_vec()),
            e => e,
        }
    }
}

/// What one segment releases: most release nothing or their own bytes, which fit inline.
pub type Delivered = smallvec::SmallVec<[Event; 2]>;

#[derive(Debug, Default)]
pub struct Direction {
    /// The relative sequence number of the next byte to deliver, once known.
    next: Option<u32>,
    /// The stream offset of that byte.
    next_off: u64,
    /// Early segments by stream offset.
    held: BTreeMap<u64, Vec<u8>>,
    held_bytes: usize,
    /// Gaps declared so far, and the bytes they skipped.
    pub gaps: u32,
    pub missed_bytes: u64,
}

impl Direction {
    /// A SYN occupies one sequence number: data starts after it.
    pub fn syn(&mut self, rel_seq: u32) {
        if self.next.is_none() {
            self.next = Some(rel_seq.wrapping_add(1));
        }
    }

    /// Bytes held out of order now.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Give up on everything held: skip each gap and deliver what follows it.
    pub fn flush(&mut self) -> Delivered {
        let mut out = Delivered::new();
        while !self.held.is_empty() {
            self.skip_gap(&mut out);
        }
        out
    }

    fn advance(&mut self, n: u64) {
        self.next = self.next.map(|s| s.wrapping_add(n as u32));
        self.next_off += n;
    }

    /// Feed one segment's payload at `rel_seq`; returns what becomes deliverable, in order.
    pub fn segment(&mut self, rel_seq: u32, payload: &[u8]) -> Delivered {
        let mut out = Delivered::new();
        if payload.is_empty() {
            return out;
        }
        let next = *self.next.get_or_insert(rel_seq);
        let dist = i64::from(rel_seq.wrapping_sub(next) as i32);
        let len = payload.len() as i64;
        if dist + len <= 0 {
            return out; // everything already delivered: a retransmission
        }
        if dist <= 0 {
            // In order, or overlapping what was delivered: keep only the new tail.
            let from = usize::try_from(-dist).unwrap_or(0);
            out.push(Event::Tail(from));
            self.advance(payload.len().saturating_sub(from) as u64);
            self.drain(&mut out);
        } else {
            // Early: hold it; the first copy of an offset wins.
            let off = self.next_off + dist as u64;
            if !self.held.contains_key(&off) {
                self.held_bytes += payload.len();
                self.held.insert(off, payload.to_vec());
            }
            while self.held_bytes > MAX_HELD_BYTES || self.held.len() > MAX_HELD_SEGMENTS {
                self.skip_gap(&mut out);
            }
        }
        out
    }

    /// Deliver held segments the stream has now reached.
    fn drain(&mut self, out: &mut Delivered) {
        while let Some(entry) = self.held.first_entry() {
            let off = *entry.key();
            if off > self.next_off {
                break;
            }
            let data = entry.remove();
            self.held_bytes = self.held_bytes.saturating_sub(data.len());
            let end = off + data.len() as u64;
            if end > self.next_off {
                let skip = usize::try_from(self.next_off - off).unwrap_or(usize::MAX);
                let mut data = data;
                data.drain(..skip.min(data.len()));
                self.advance(data.len() as u64);
                out.push(Event::Data(data));
            }
        }
    }

    /// Give up on the missing range before the first held segment, then deliver from it.
    fn skip_gap(&mut self, out: &mut Delivered) {
        let Some((&off, _)) = self.held.first_key_value() else {
            return;
        };
        let missing = off.saturating_sub(self.next_off);
        if missing > 0 {
            out.push(Event::Gap(missing));
            self.gaps += 1;
            self.missed_bytes += missing;
            self.advance(missing);
        }
        self.drain(out);
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn data(events: &[Event]) -> Vec<u8> {
        events
            .iter()
            .flat_map(|e| match e {
                Event::Data(d) => d.clone(),
                Event::Gap(_) | Event::Tail(_) => Vec::new(),
            })
            .collect()
    }

    /// Cut a message into segments and feed them in the given order, duplicates included.
    fn feed(order: &[usize], seg: usize, start: u32) -> Vec<u8> {
        let msg: Vec<u8> = (0..200u8).collect();
        let mut d = Direction::default();
        d.syn(start.wrapping_sub(1));
        let mut out = Vec::new();
        for &i in order {
            let from = i * seg;
            let chunk = &msg[from..(from + seg).min(msg.len())];
            let events = d.segment(start.wrapping_add(from as u32), chunk);
            out.extend(events.into_iter().map(|e| e.into_owned(chunk)));
        }
        data(&out)
    }

    #[test]
    fn any_order_with_duplicates_rebuilds_the_stream() {
        let msg: Vec<u8> = (0..200u8).collect();
        let orders: [&[usize]; 4] = [
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            &[9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
            &[1, 0, 0, 3, 2, 2, 5, 4, 9, 6, 7, 8, 8],
            &[0, 2, 4, 6, 8, 1, 3, 5, 7, 9, 9, 0],
        ];
        for order in orders {
            assert_eq!(feed(order, 20, 1), msg, "{order:?}");
            // The same across the 2^32 wrap of sequence numbers.
            assert_eq!(feed(order, 20, u32::MAX - 50), msg, "{order:?} wrapped");
        }
    }

    #[test]
    fn overlapping_segments_keep_the_first_copy() {
        let mut d = Direction::default();
        d.syn(0);
        let mut out: Vec<Event> = (d.segment(1, b"hello").into_iter())
            .map(|e| e.into_owned(b"hello"))
            .collect();
        // Overlaps "llo", adds "wo".
        out.extend(
            d.segment(3, b"XXowo")
                .into_iter()
                .map(|e| e.into_owned(b"XXowo")),
        );
        assert_eq!(data(&out), b"hellowo");
    }

    #[test]
    fn a_hole_never_filled_becomes_a_gap_at_the_cap() {
        let mut d = Direction::default();
        d.syn(0);
        let seg = vec![7u8; 1000];
        let mut out: Vec<Event> = d.segment(1, &seg).into_vec(); // delivered
        // Byte 1001.. never arrives; later segments pile up past the cap.
        let mut seq = 2001u32;
        for _ in 0..(MAX_HELD_BYTES / 1000 + 2) {
            out.extend(d.segment(seq, &seg));
            seq = seq.wrapping_add(1000);
        }
        assert_eq!(
            out.iter().filter(|e| matches!(e, Event::Gap(1000))).count(),
            1
        );
        assert_eq!((d.gaps, d.missed_bytes), (1, 1000));
        assert!(d.held_bytes() <= MAX_HELD_BYTES);
    }
}
