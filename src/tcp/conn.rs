//! One TCP connection, summed up for the `tcp` table: endpoints, handshake, how it ended, counts,
//! and Zeek's `conn_state` and `history` (scripts/base/protocols/conn/main.zeek), computed from
//! the segments the tracker feeds it in capture order.
//!
//! Originator and responder follow Zeek: the originator sent the first SYN; with no SYN seen the
//! connection is "midstream" and its first sender stands as originator.

use super::{Endpoint, analysis};
use crate::decode::{Tcp, tcp_flags};

/// History letters kept per connection; Zeek's history is short in practice, this bounds it.
const MAX_HISTORY: usize = 64;

/// What the tracker passes for each segment.
pub(super) struct SummaryInput<'a> {
    /// Sent by the endpoint first seen as source?
    pub from_first: bool,
    pub tcp: &'a Tcp,
    /// The data the record was decoded from, which holds the TCP options.
    pub data: &'a [u8],
    pub frame: u64,
    pub now: i64,
    pub flags: u32,
    pub rel_seq: u32,
    pub irtt: Option<i64>,
}

/// Per direction (index 0: the endpoint first seen as source).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Side {
    pub packets: u64,
    /// TCP payload bytes.
    pub bytes: u64,
    pub syns: u32,
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// First FIN and first RST sent: (frame, time in ns since the epoch).
    pub fin: Option<(u64, i64)>,
    pub rst: Option<(u64, i64)>,
    pub retransmissions: u32,
    pub duplicate_acks: u32,
    pub zero_windows: u32,
    /// Bytes never seen in this direction's stream (reassembly gaps; Zeek's missed_bytes).
    pub missed_bytes: u64,
}

impl Side {
    /// A segment of this side with these flags, in frame `frame` at `now`: the first FIN and
    /// the first RST are kept.
    fn record_end(&mut self, fin: bool, rst: bool, frame: u64, now: i64) {
        if fin && self.fin.is_none() {
            self.fin = Some((frame, now));
        }
        if rst && self.rst.is_none() {
            self.rst = Some((frame, now));
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnSummary {
    pub stream: u32,
    /// The two endpoints, index 0 first seen as source.
    pub ends: [Endpoint; 2],
    pub first_frame: u64,
    pub start_ns: i64,
    pub last_ns: i64,
    pub sides: [Side; 2],
    /// Which side originated (sent the first SYN); None: no SYN or SYN-ACK seen (midstream).
    orig: Option<usize>,
    pub syn_frame: Option<u64>,
    pub synack_frame: Option<u64>,
    pub ack_frame: Option<u64>,
    pub initial_rtt_ns: Option<i64>,
    /// (direction, letter) events in order; case is decided at the end.
    history: Vec<(usize, u8)>,
    /// Per direction: seq of the last s/h/f/r letter, letters recorded once, and t/w counts.
    last_seq_for: [[Option<u32>; 4]; 2],
    once: [u8; 2],
    counts_tw: [[u32; 2]; 2],
}

/// How a connection ended, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Fin { by_client: bool, by_server: bool },
    Reset { by_client: bool, frame: u64 },
    NeverAnswered,
    Open,
}

impl ConnSummary {
    pub(super) fn new(stream: u32, src: Endpoint, dst: Endpoint, frame: u64, now: i64) -> Self {
        ConnSummary {
            stream,
            ends: [src, dst],
            first_frame: frame,
            start_ns: now,
            last_ns: now,
            sides: Default::default(),
            orig: None,
            syn_frame: None,
            synack_frame: None,
            ack_frame: None,
            initial_rtt_ns: None,
            history: Vec::new(),
            last_seq_for: [[None; 4]; 2],
            once: [0; 2],
            counts_tw: [[0; 2]; 2],
        }
    }

    /// Of a segment, only whether it ends its side ([`Side::fin`], [`Side::rst`]): what decides
    /// when a connection is over (see [`super::Tracker::without_analysis`]). `dir` 0 is the side
    /// first seen as source.
    pub(super) fn record_end(&mut self, dir: usize, t: &crate::decode::Tcp, frame: u64, now: i64) {
        if let Some(side) = self.sides.get_mut(dir) {
            side.record_end(t.has(tcp_flags::FIN), t.has(tcp_flags::RST), frame, now);
        }
    }

    pub(super) fn record(&mut self, s: &SummaryInput<'_>) {
        let d = usize::from(!s.from_first);
        let t = s.tcp;
        let (syn, ack, fin, rst) = (
            t.has(tcp_flags::SYN),
            t.has(tcp_flags::ACK),
            t.has(tcp_flags::FIN),
            t.has(tcp_flags::RST),
        );
        self.last_ns = self.last_ns.max(s.now);
        self.initial_rtt_ns = s.irtt;
        let Some(side) = self.sides.get_mut(d) else {
            return;
        };
        side.packets += 1;
        side.bytes += u64::from(t.payload_len);
        if syn {
            if let Some(m) = t.mss(s.data) {
                side.mss = Some(m);
            }
            side.window_scale = t.window_scale(s.data).or(side.window_scale);
            side.sack_permitted |= t.sack_permitted(s.data);
        }
        side.record_end(fin, rst, s.frame, s.now);
        if s.flags
            & (analysis::RETRANSMISSION
                | analysis::FAST_RETRANSMISSION
                | analysis::SPURIOUS_RETRANSMISSION)
            != 0
        {
            side.retransmissions += 1;
        }
        if s.flags & analysis::DUPLICATE_ACK != 0 {
            side.duplicate_acks += 1;
        }
        if s.flags & analysis::ZERO_WINDOW != 0 {
            side.zero_windows += 1;
        }

        // Handshake bookkeeping.
        if syn && !ack {
            side.syns += 1;
            if self.orig.is_none() {
                self.orig = Some(d);
            }
            if self.orig == Some(d) && self.syn_frame.is_none() {
                self.syn_frame = Some(s.frame);
            }
        }
        if syn && ack {
            if self.orig.is_none() {
                self.orig = Some(1 - d);
            }
            if self.orig == Some(1 - d) && self.synack_frame.is_none() {
                self.synack_frame = Some(s.frame);
            }
        }
        if !syn
            && ack
            && self.orig == Some(d)
            && self.synack_frame.is_some()
            && self.ack_frame.is_none()
        {
            self.ack_frame = Some(s.frame);
        }

        // Zeek's history letters.
        let multi = syn && (fin || rst);
        if multi {
            self.letter_once(d, b'q', 1);
        }
        // Most segments carry none of these flags: they skip the four slots.
        if syn || fin || rst {
            let repeatable = [
                (syn && !ack, b's', 0usize),
                (syn && ack, b'h', 1),
                (fin, b'f', 2),
                (rst, b'r', 3),
            ];
            for (on, letter, slot) in repeatable {
                if on {
                    let last = self.last_seq_for.get_mut(d).and_then(|a| a.get_mut(slot));
                    if let Some(last) = last
                        && *last != Some(s.rel_seq)
                    {
                        *last = Some(s.rel_seq);
                        self.push_letter(d, letter);
                    }
                }
            }
        }
        if t.payload_len > 0 {
            self.letter_once(d, b'd', 2);
        } else if ack && !syn && !fin && !rst {
            self.letter_once(d, b'a', 4);
        }
        if side_flags_retrans(s.flags) && t.payload_len > 0 {
            self.letter_log(d, b't', 0);
        }
        if s.flags & analysis::ZERO_WINDOW != 0 {
            self.letter_log(d, b'w', 1);
        }
    }

    fn push_letter(&mut self, d: usize, letter: u8) {
        if self.history.len() < MAX_HISTORY {
            self.history.push((d, letter));
        }
    }

    /// Letters Zeek records at most once per direction; `bit` marks them.
    fn letter_once(&mut self, d: usize, letter: u8, bit: u8) {
        if let Some(mask) = self.once.get_mut(d)
            && *mask & bit == 0
        {
            *mask |= bit;
            self.push_letter(d, letter);
        }
    }

    /// Letters Zeek records logarithmically: the 1st, 10th, 100th ... occurrence.
    fn letter_log(&mut self, d: usize, letter: u8, slot: usize) {
        let Some(n) = self.counts_tw.get_mut(d).and_then(|c| c.get_mut(slot)) else {
            return;
        };
        *n += 1;
        let n = *n;
        if n == 1 || (n % 10 == 0 && (n as f64).log10().fract() == 0.0) {
            self.push_letter(d, letter);
        }
    }

    /// Index of the originator (client) side.
    pub fn orig(&self) -> usize {
        self.orig.unwrap_or(0)
    }

    pub fn midstream(&self) -> bool {
        self.orig.is_none()
    }

    /// (client, server) endpoints.
    pub fn endpoints(&self) -> (&Endpoint, &Endpoint) {
        let [a, b] = &self.ends;
        if self.orig() == 0 { (a, b) } else { (b, a) }
    }

    pub fn client(&self) -> &Endpoint {
        self.endpoints().0
    }

    pub fn server(&self) -> &Endpoint {
        self.endpoints().1
    }

    /// (client, server) sides.
    pub fn sides(&self) -> (&Side, &Side) {
        let [a, b] = &self.sides;
        if self.orig() == 0 { (a, b) } else { (b, a) }
    }

    pub fn client_side(&self) -> &Side {
        self.sides().0
    }

    pub fn server_side(&self) -> &Side {
        self.sides().1
    }

    pub fn handshake_complete(&self) -> bool {
        self.syn_frame.is_some() && self.synack_frame.is_some() && self.ack_frame.is_some()
    }

    /// SYN retransmissions by the client.
    pub fn syn_retransmissions(&self) -> u32 {
        self.client_side().syns.saturating_sub(1)
    }

    pub fn duration_ns(&self) -> i64 {
        self.last_ns.saturating_sub(self.start_ns)
    }

    /// Zeek's history string: upper case for the originator, lower for the responder.
    pub fn history(&self) -> String {
        let o = self.orig();
        self.history
            .iter()
            .map(|&(d, l)| {
                if d == o {
                    char::from(l.to_ascii_uppercase())
                } else {
                    char::from(l)
                }
            })
            .collect()
    }

    pub fn ending(&self) -> Ending {
        let (c, s) = (self.client_side(), self.server_side());
        match (c.rst, s.rst) {
            (Some((fc, tc)), Some((fs, ts))) => {
                let by_client = tc <= ts;
                return Ending::Reset {
                    by_client,
                    frame: if by_client { fc } else { fs },
                };
            }
            (Some((f, _)), None) => {
                return Ending::Reset {
                    by_client: true,
                    frame: f,
                };
            }
            (None, Some((f, _))) => {
                return Ending::Reset {
                    by_client: false,
                    frame: f,
                };
            }
            (None, None) => {}
        }
        if c.fin.is_some() || s.fin.is_some() {
            return Ending::Fin {
                by_client: c.fin.is_some(),
                by_server: s.fin.is_some(),
            };
        }
        if self.syn_frame.is_some() && s.packets == 0 {
            return Ending::NeverAnswered;
        }
        Ending::Open
    }

    /// Zeek's conn_state (S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH).
    pub fn conn_state(&self) -> &'static str {
        #[derive(PartialEq, Clone, Copy)]
        enum St {
            Inactive,
            SynSent,
            SynAckSent,
            Partial,
            Established,
            Closed,
            Reset,
        }
        let (os_side, rs_side) = self.sides();
        let established = self.handshake_complete();
        let os = if os_side.rst.is_some() {
            St::Reset
        } else if os_side.fin.is_some() {
            St::Closed
        } else if os_side.syns > 0 {
            if established {
                St::Established
            } else {
                St::SynSent
            }
        } else if os_side.packets > 0 {
            St::Partial
        } else {
            St::Inactive
        };
        let rs = if rs_side.rst.is_some() {
            St::Reset
        } else if rs_side.fin.is_some() {
            St::Closed
        } else if self.synack_frame.is_some() {
            if established {
                St::Established
            } else {
                St::SynAckSent
            }
        } else if rs_side.packets > 0 {
            St::Partial
        } else {
            St::Inactive
        };
        let inactive = |s: St| matches!(s, St::Inactive | St::Partial);
        let no_bytes = os_side.bytes == 0 && rs_side.bytes == 0;
        if rs == St::Reset {
            if matches!(os, St::SynSent | St::SynAckSent)
                || (os == St::Reset && no_bytes && !established)
            {
                "REJ"
            } else if inactive(os) {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == St::Reset {
            if inactive(rs) {
                let h = self.history();
                let h = h.strip_prefix('^').unwrap_or(&h);
                let after_s = h.strip_prefix('S').map(|r| {
                    let upto_r: String = r.chars().take_while(|&c| c != 'R').collect();
                    r.contains('R') && !upto_r.contains(['H', 'A', 'F', 'G', 'I', 'Q'])
                });
                if after_s == Some(true) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == St::Closed && os == St::Closed {
            "SF"
        } else if os == St::Closed {
            if inactive(rs) { "SH" } else { "S2" }
        } else if rs == St::Closed {
            if inactive(os) { "SHR" } else { "S3" }
        } else if os == St::SynSent && rs == St::Inactive {
            "S0"
        } else if os == St::Established && rs == St::Established {
            "S1"
        } else {
            "OTH"
        }
    }
}

fn side_flags_retrans(flags: u32) -> bool {
    flags
        & (analysis::RETRANSMISSION
            | analysis::FAST_RETRANSMISSION
            | analysis::SPURIOUS_RETRANSMISSION)
        != 0
}
