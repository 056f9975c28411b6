//! DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message behind a two-byte length, framed from
//! the byte stream reassembly delivers, so a message split over segments is found on the segment
//! that completes it, and several messages in one segment are each found. This is where tshark
//! shows them.
//!
//! A gap in the stream (bytes never captured) loses the framing: the direction is not read any
//! further, rather than reading message lengths from the middle of a message. Memory: at most
//! one message (65,537 bytes) buffered per direction, for at most [`MAX_CONNS`] connections.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use foldhash::HashMap;

use crate::tcp::reassembly::Event;

/// Whether a TCP connection between these ports is one whose DNS messages are framed (DNS's
/// port on either side): the tracker reassembles it, and the ordered stage adds the messages a
/// segment completes to the segment's layers, so a sink's [`crate::engine::Precount`] leaves
/// such a record's layers to the ordered stage.
pub fn carries_dns(src_port: u16, dst_port: u16) -> bool {
    crate::wire::dns::is_dns_port(src_port, dst_port)
}

/// Connections with a partial message buffered, before the table starts over.
pub const MAX_CONNS: usize = 1 << 16;

#[derive(Debug, Default)]
struct Dir {
    buf: Vec<u8>,
    /// A gap was declared: message boundaries are unknown from here on.
    lost: bool,
}

/// What one segment completed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Framed {
    /// Whole messages (without their length prefix), in stream order.
    pub messages: Vec<Vec<u8>>,
    /// Bytes of this segment wait in a message a later segment completes (tshark's
    /// "[TCP segment of a reassembled PDU]").
    pub continued: bool,
}

#[derive(Debug, Default)]
pub struct DnsTcp {
    dirs: HashMap<(u32, u8), Dir>,
}

impl DnsTcp {
    /// Feed what one segment of stream `stream`, direction `dir`, delivered (`payload` is the
    /// segment's, which [`Event::Tail`] refers to).
    pub fn segment(
        &mut self,
        stream: u32,
        dir: u8,
        delivered: &[Event],
        payload: &[u8],
        end: bool,
    ) -> Framed {
        let mut out = Framed::default();
        if delivered.is_empty() && !end {
            return out;
        }
        if self.dirs.len() >= MAX_CONNS && !self.dirs.contains_key(&(stream, dir)) {
            self.dirs.clear();
        }
        let d = self.dirs.entry((stream, dir)).or_default();
        let mut fresh = 0usize;
        for event in delivered {
            match event.bytes(payload) {
                None => {
                    d.lost = true;
                    d.buf = Vec::new();
                }
                Some(bytes) if !d.lost => {
                    d.buf.extend_from_slice(bytes);
                    fresh += bytes.len();
                    // Each round takes a whole message (at least its 2-byte prefix); the
                    // buffer is shifted once at the end, not once per message.
                    let mut pos = 0;
                    while let Some(&[hi, lo]) = d.buf.get(pos..).and_then(|b| b.first_chunk::<2>())
                    {
                        let end = pos + 2 + usize::from(u16::from_be_bytes([hi, lo]));
                        let Some(msg) = d.buf.get(pos + 2..end) else {
                            break;
                        };
                        out.messages.push(msg.to_vec());
                        pos = end;
                    }
                    d.buf.drain(..pos);
                }
                Some(_) => {}
            }
        }
        out.continued = fresh > 0 && !d.buf.is_empty();
        if end || (d.buf.is_empty() && !d.lost) {
            self.dirs.remove(&(stream, dir));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_message_split_over_three_segments_completes_on_the_third() {
        let mut t = DnsTcp::default();
        let msg: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let mut stream = vec![0x01, 0x2c];
        stream.extend_from_slice(&msg);
        let a = t.segment(0, 1, &[Event::Tail(0)], &stream[..1], false);
        assert_eq!((a.messages.len(), a.continued), (0, true));
        let b = t.segment(0, 1, &[Event::Tail(0)], &stream[1..200], false);
        assert_eq!((b.messages.len(), b.continued), (0, true));
        let c = t.segment(0, 1, &[Event::Tail(0)], &stream[200..], false);
        assert_eq!(c.messages, vec![msg]);
        assert!(!c.continued);
    }

    #[test]
    fn two_messages_in_one_segment_and_a_third_begun() {
        let mut t = DnsTcp::default();
        let f = t.segment(
            3,
            0,
            &[Event::Tail(0)],
            &[0, 1, 0xaa, 0, 2, 0xbb, 0xcc, 0, 5, 1],
            false,
        );
        assert_eq!(f.messages, vec![vec![0xaa], vec![0xbb, 0xcc]]);
        assert!(f.continued);
        let g = t.segment(3, 0, &[Event::Tail(0)], &[2, 3, 4, 5], false);
        assert_eq!(g.messages, vec![vec![1, 2, 3, 4, 5]]);
    }

    #[test]
    fn a_gap_stops_the_direction() {
        let mut t = DnsTcp::default();
        t.segment(0, 0, &[Event::Tail(0)], &[0, 9, 1, 2], false);
        let f = t.segment(
            0,
            0,
            &[Event::Gap(3), Event::Data(vec![0, 1, 7])],
            &[],
            false,
        );
        assert!(f.messages.is_empty());
        let g = t.segment(0, 0, &[Event::Tail(0)], &[0, 1, 7], false);
        assert!(g.messages.is_empty(), "no framing after a gap");
    }
}
