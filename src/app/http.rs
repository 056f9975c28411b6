//! HTTP/1.x over TCP in the ordered stage: each connection's two byte streams (as reassembly
//! delivers them) run through [`crate::wire::http1::Direction`] parsers; every message is
//! reported on the frame that completes it, with two pairings:
//!
//! - Wireshark's, for the `http.*` fields: a request opens a new entry in the conversation's list;
//!   a response takes the last entry if it has no response yet, else opens an entry of its own
//!   (`push_req`/`push_res` in packet-http.c). Every message of a frame shows the frame's last
//!   entry, so two pipelined requests in one segment both point at the first response, and the
//!   second response has no request. wirelite reproduces this so `http.request_in` and
//!   `http.response_in` equal tshark's.
//! - In order, for the `http` command: responses answer the waiting requests oldest first, as
//!   HTTP/1.1 pipelining works (RFC 9112 §9.3.2).
//!
//! Memory: one parser pair per connection with HTTP seen or in progress, dropped when both sides
//! have ended; past [`MAX_CONNS`] connections, idle ones are dropped.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::VecDeque;

use foldhash::HashMap;

use crate::tcp::reassembly::Event;
use crate::wire::http1::{Direction, KeepText, Message};

/// Connections tracked at once before idle ones are dropped.
pub const MAX_CONNS: usize = 1 << 16;
/// A connection whose segments delivered no bytes and carried no FIN or RST for this long
/// (capture time) is idle: its bare ACKs do not count (see [`HttpTracker::segment`]).
pub const IDLE_NS: i64 = 300 * 1_000_000_000;
/// Requests waiting for a response per connection (for in-order pairing).
pub const MAX_WAITING: usize = 1024;

/// A request as a response refers to it: its frame, time, and pairing entry (unique per request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRef {
    pub frame: u64,
    pub ts_ns: i64,
    pub id: u64,
}

/// One message, on the frame that completed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpMessage {
    pub msg: Message,
    /// Wireshark's pairing entry shown on this frame (the frame's last message's).
    pub entry: u64,
    /// The entry this message itself opened or answered (for resolving `http.response_in`).
    pub own_entry: u64,
    /// A response: the request of the frame's entry (`http.request_in`, `http.time`).
    pub request_in: Option<RequestRef>,
    /// A response: the oldest request still waiting when it completed.
    pub answers: Option<RequestRef>,
    /// The message began in an earlier segment: TCP reassembled it (tshark's `tcp.segments`).
    pub reassembled: bool,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    id: u64,
    request: Option<RequestRef>,
    answered: bool,
}

#[derive(Debug, Default)]
struct Conn {
    dirs: [Direction; 2],
    ended: [bool; 2],
    last_method: Option<&'static str>,
    tail: Option<Entry>,
    /// A message has been seen on this connection, either way.
    carried_http: bool,
    /// The connection switched to another protocol (a 101 response, or a 2xx answer to
    /// CONNECT): what follows is not HTTP, and is not called its continuation.
    switched: bool,
    waiting: VecDeque<RequestRef>,
    last_seen: i64,
}

impl Conn {
    /// Number the messages a segment completed (`done`, drained) as exchanges, pair each
    /// response with the request it answers, and append them to `out`, each showing the
    /// frame's last exchange. `began_before`: the first of them began in an earlier segment.
    fn number(
        &mut self,
        done: &mut Vec<Message>,
        next_entry: &mut u64,
        s: &SegmentInput<'_>,
        mut began_before: bool,
        out: &mut Vec<HttpMessage>,
    ) {
        let first = out.len();
        // Exactly: the vector is kept with its frame's state (see `FrameState::reset`), and
        // grown as usual one message would take room for four.
        out.reserve_exact(done.len());
        out.extend(done.drain(..).map(|msg| {
            let (entry, answers) = if msg.is_request() {
                let now = RequestRef {
                    frame: s.frame,
                    ts_ns: s.ts_ns,
                    id: *next_entry,
                };
                let e = Entry {
                    id: now.id,
                    request: Some(now),
                    answered: false,
                };
                *next_entry += 1;
                if self.waiting.len() >= MAX_WAITING {
                    self.waiting.pop_front();
                }
                self.waiting.push_back(now);
                (e, None)
            } else {
                let e = match self.tail {
                    Some(t) if !t.answered => Entry {
                        answered: true,
                        ..t
                    },
                    _ => {
                        *next_entry += 1;
                        Entry {
                            id: *next_entry - 1,
                            request: None,
                            answered: true,
                        }
                    }
                };
                // An interim (1xx) response does not end the exchange.
                let interim = matches!(
                    msg.start,
                    crate::wire::http1::StartLine::Response { code, .. } if code / 100 == 1
                );
                let answers = if interim {
                    self.waiting.front().copied()
                } else {
                    self.waiting.pop_front()
                };
                (e, answers)
            };
            self.tail = Some(entry);
            HttpMessage {
                msg,
                entry: entry.id,
                own_entry: entry.id,
                request_in: entry.request,
                answers,
                reassembled: std::mem::take(&mut began_before),
            }
        }));
        let out = out.get_mut(first..).unwrap_or_default();
        // Every message of the frame shows the frame's last entry, as Wireshark's per-frame
        // protocol data does.
        if let Some(last) = self.tail.filter(|_| !out.is_empty()) {
            for m in out {
                m.entry = last.id;
                m.request_in = if m.msg.is_request() {
                    None
                } else {
                    last.request
                };
            }
        }
    }
}

/// What one TCP segment brings.
#[derive(Debug)]
pub struct SegmentInput<'a> {
    pub stream: u32,
    /// 0 or 1: which side sent it.
    pub dir: u8,
    pub delivered: &'a [Event],
    /// The segment's payload, which [`Event::Tail`] refers to.
    pub payload: &'a [u8],
    pub fin: bool,
    pub rst: bool,
    pub frame: u64,
    pub ts_ns: i64,
}

/// A segment whose bytes wait in a message that a later segment completes: tshark's "[TCP
/// segment of a reassembled PDU]", after what its HTTP dissector wrote in the Info column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Continued {
    /// The message's first line is not complete yet, or a body of known length goes on:
    /// tshark's TCP reassembly holds the bytes without asking HTTP again, so the Info is the
    /// TCP summary. (A body that runs to the end of the stream is shown the same way; the
    /// corpus has none longer than two segments to check it against.)
    Segment,
    /// The message's first line is complete and its head is not, or the head completed in
    /// this segment, or the body is chunked (tshark's HTTP parses the head again for every
    /// segment of a head or of a chunked body): the Info starts with the first line.
    FirstLine(bytestring::ByteString),
}

/// What one segment brings to HTTP, besides the messages it completes.
#[derive(Debug, Default)]
pub struct Segmented {
    /// Its bytes wait in a message not complete yet (only when it completes none).
    pub continued: Option<Continued>,
    /// Its bytes start no message on a connection that has carried HTTP (a stray line end, or
    /// bytes that are not HTTP): tshark's "Continuation".
    pub continuation: bool,
}

#[derive(Debug)]
pub struct HttpTracker {
    conns: HashMap<u32, Conn>,
    next_entry: u64,
    /// Bytes all parsers hold for heads being read, and the most they may hold
    /// ([`crate::limits::Limits::http_bytes`]).
    buffered: usize,
    buffered_cap: usize,
    /// Heads given up because `buffered` reached its cap.
    pub heads_dropped: u64,
    /// What every parser's messages keep of their text.
    keep: KeepText,
    /// A segment whose bytes wait in a message says its first line ([`Continued::FirstLine`]).
    first_lines: bool,
    /// The messages a segment completes, before they are numbered (kept, emptied, so that
    /// completing a message costs no allocation here).
    done: Vec<crate::wire::http1::Message>,
}

impl Default for HttpTracker {
    fn default() -> Self {
        HttpTracker::with_cap(crate::limits::Limits::default().http_bytes)
    }
}

impl Conn {
    fn buffered(&self) -> usize {
        self.dirs.iter().map(Direction::buffered).sum()
    }
}

impl HttpTracker {
    /// A tracker whose parsers hold at most `bytes` of unfinished heads together.
    pub fn with_cap(bytes: usize) -> HttpTracker {
        HttpTracker {
            conns: HashMap::default(),
            next_entry: 0,
            buffered: 0,
            buffered_cap: bytes,
            heads_dropped: 0,
            keep: KeepText::default(),
            first_lines: true,
            done: Vec::new(),
        }
    }

    /// Messages keep no text, only their kind, status, framing and sizes (see
    /// [`KeepText::No`]): for readers that only ask which frames carry HTTP.
    pub fn framing_only(mut self) -> HttpTracker {
        self.keep = KeepText::No;
        self
    }

    /// Messages are held past their frame (the `http` table): each keeps a text of its own
    /// ([`KeepText::Own`]), so that what is held is what is counted. Framing only keeps no
    /// text to own, and stays so.
    pub fn holding_messages(mut self) -> HttpTracker {
        if self.keep != KeepText::No {
            self.keep = KeepText::Own;
        }
        self
    }

    /// A segment whose bytes wait in a message is [`Continued::Segment`] whatever it holds: for
    /// readers that show no first line there (tshark's second pass shows such a segment by its
    /// TCP summary, running HTTP only on the frame that completes the message).
    pub fn without_first_lines(mut self) -> HttpTracker {
        self.first_lines = false;
        self
    }

    /// Feed one segment's delivered bytes: the messages it completes are appended to `out`, in
    /// stream order (the caller's vector, so that a frame's messages cost no allocation of their
    /// own); returned is whether its bytes wait in one not complete yet.
    pub fn segment(&mut self, s: &SegmentInput<'_>, out: &mut Vec<HttpMessage>) -> Segmented {
        // A segment that delivers nothing (a bare ACK, a retransmission, data held out of order)
        // and carries no FIN or RST changes nothing below but the time its connection was last
        // seen, so the connection is not looked up: half of the segments of a download are bare
        // ACKs, and each lookup was a cache miss in a table of large entries.
        if s.delivered.is_empty() && !s.fin && !s.rst {
            return Segmented::default();
        }
        if self.conns.len() >= MAX_CONNS
            && !s.delivered.is_empty()
            && !self.conns.contains_key(&s.stream)
        {
            // A new connection when the table is full: drop idle connections, and all of them
            // if that frees less than a quarter, so that the next full scan is at least
            // MAX_CONNS / 4 new connections away.
            self.conns
                .retain(|_, c| s.ts_ns.saturating_sub(c.last_seen) < IDLE_NS);
            if self.conns.len() > MAX_CONNS / 4 * 3 {
                self.conns.clear();
            }
            self.buffered = self.conns.values().map(Conn::buffered).sum();
        }
        // A connection is tracked from its first payload byte. (The stream is looked up once:
        // every segment that delivers bytes or ends a side comes here.)
        let keep = self.keep;
        let conn = match self.conns.entry(s.stream) {
            std::collections::hash_map::Entry::Occupied(tracked) => tracked.into_mut(),
            std::collections::hash_map::Entry::Vacant(_) if s.delivered.is_empty() => {
                return Segmented::default();
            }
            std::collections::hash_map::Entry::Vacant(new) => new.insert({
                let mut c = Conn::default();
                for d in &mut c.dirs {
                    d.keep = keep;
                }
                c
            }),
        };
        conn.last_seen = s.ts_ns;
        let side = usize::from(s.dir & 1);
        let done = &mut self.done;
        done.clear();
        let mut continued = None;
        let mut continuation = false;
        let mut began_before = false;
        if let Some(dir) = conn.dirs.get_mut(side) {
            let before = dir.buffered();
            let heads = dir.heads();
            // The first message this segment completes began before it if a message was
            // under way; any other began in this segment, after the one before it ended.
            began_before = dir.in_message();
            // Bytes were fed (not only gaps): they may wait in a message, or continue none.
            let mut fed = false;
            for e in s.delivered {
                match e.bytes(s.payload) {
                    Some(bytes) => {
                        fed = true;
                        dir.feed(bytes, &mut conn.last_method, done);
                    }
                    None => dir.gap(),
                }
            }
            if s.fin {
                dir.end(done);
            }
            self.buffered = (self.buffered + dir.buffered()).saturating_sub(before);
            if self.buffered > self.buffered_cap {
                // Heads being read fill their share: give this one up, as after a gap.
                self.buffered = self.buffered.saturating_sub(dir.buffered());
                dir.gap();
                self.heads_dropped += 1;
            }
            if fed && done.is_empty() && dir.in_message() {
                let line = match (dir.current(), dir.first_line_read()) {
                    _ if self.keep == KeepText::No || !self.first_lines => None,
                    (Some(m), _) if dir.heads() != heads || m.chunked => {
                        Some(m.first_line_shared())
                    }
                    (None, Some(line)) => Some(String::from_utf8_lossy(line).into_owned().into()),
                    _ => None,
                };
                continued = Some(line.map_or(Continued::Segment, Continued::FirstLine));
            }
            continuation =
                fed && done.is_empty() && !dir.in_message() && conn.carried_http && !conn.switched;
            conn.carried_http |= !done.is_empty();
            let connect = conn.last_method == Some("CONNECT");
            conn.switched |= done.iter().any(|m| match m.start {
                crate::wire::http1::StartLine::Response { code, .. } => {
                    code == 101 || (connect && code / 100 == 2)
                }
                crate::wire::http1::StartLine::Request { .. } => false,
            });
        }
        if let Some(e) = conn.ended.get_mut(side) {
            *e |= s.fin;
        }
        // Most segments complete no message (ACKs, the middles of bodies).
        if !done.is_empty() {
            conn.number(done, &mut self.next_entry, s, began_before, out);
        }
        if (s.rst || conn.ended == [true, true])
            && let Some(c) = self.conns.remove(&s.stream)
        {
            self.buffered = self.buffered.saturating_sub(c.buffered());
        }
        Segmented {
            continued,
            continuation,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// One segment of stream `stream` (from the client) carrying `payload` whole, in order.
    fn request(
        http: &mut HttpTracker,
        stream: u32,
        ts_ns: i64,
        payload: &[u8],
    ) -> Vec<HttpMessage> {
        let delivered = [Event::Tail(0)];
        let mut out = Vec::new();
        http.segment(
            &SegmentInput {
                stream,
                dir: 0,
                delivered: if payload.is_empty() { &[] } else { &delivered },
                payload,
                fin: false,
                rst: false,
                frame: u64::from(stream) + 1,
                ts_ns,
            },
            &mut out,
        );
        out
    }

    /// Past `MAX_CONNS` connections the idle ones are dropped, and a new connection is still
    /// tracked; a segment without payload on a connection not tracked starts none.
    #[test]
    fn the_connections_tracked_stay_bounded() {
        let mut http = HttpTracker::default();
        let get = b"GET / HTTP/1.1\r\n\r\n";
        let n = u32::try_from(MAX_CONNS).unwrap();
        // A head begun on every connection at time 0: all idle by the time of the next ones.
        for stream in 0..n {
            assert!(request(&mut http, stream, 0, b"GET / HTTP/1.1\r\n").is_empty());
        }
        assert_eq!(http.conns.len(), MAX_CONNS);
        assert!(request(&mut http, n, IDLE_NS + 1, &[]).is_empty());
        assert_eq!(http.conns.len(), MAX_CONNS, "an ACK alone tracks nothing");
        // Nor does it keep a connection from being idle: stream 0's head stays as idle as the
        // others'.
        assert!(request(&mut http, 0, IDLE_NS, &[]).is_empty());
        // A new connection past the bound: the idle ones go, with the bytes they held.
        let done = request(&mut http, n, IDLE_NS + 1, get);
        assert_eq!(done.len(), 1);
        assert_eq!(http.conns.len(), 1);
        assert_eq!(http.buffered, 0);
        // A connection dropped is new when it comes back: its old head is gone.
        assert!(request(&mut http, 0, IDLE_NS + 2, b"\r\n").is_empty());
        assert_eq!(request(&mut http, 0, IDLE_NS + 3, get).len(), 1);
    }
}
