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

use std::collections::HashMap;

use crate::decode::{PacketRecord, Proto, Tcp, tcp_flags};

/// An endpoint: address bytes (4 or 16 used) and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: [u8; 16],
    pub v6: bool,
    pub port: u16,
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

/// The two endpoints of a frame's outer IP/TCP headers, source first.
pub fn endpoints(rec: &PacketRecord, port_src: u16, port_dst: u16) -> Option<(Endpoint, Endpoint)> {
    rec.layers.iter().find_map(|l| {
        if l.quoted {
            return None;
        }
        match &l.proto {
            Proto::Ipv4(ip) => {
                let mut s = [0u8; 16];
                let mut d = [0u8; 16];
                s.get_mut(..4)?.copy_from_slice(&ip.src);
                d.get_mut(..4)?.copy_from_slice(&ip.dst);
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
    })
}

/// What the tracker tells about one TCP segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub stream: u32,
    /// 0 when the segment travels from the side first seen as source, 1 otherwise.
    pub dir: u8,
    pub rel_seq: u32,
    /// Relative acknowledgement number; 0 when the ACK flag is clear (as tshark shows it).
    pub rel_ack: u32,
    /// `tcp.nxtseq`: seq + len (+1 for SYN, +1 for FIN), relative; absent on pure ACKs (tshark).
    pub next_rel_seq: Option<u32>,
    /// The window in bytes (raw value shifted by the scale learnt from the handshake).
    pub window: u32,
    /// Window shift: Some(n) known; None with `scaling_seen` false = unknown (-1), true = none (-2).
    pub shift: Option<u8>,
    pub scaling_seen: bool,
    /// Relative SACK blocks (they refer to the other direction's sequence space).
    pub sack_rel: smallvec::SmallVec<[(u32, u32); 4]>,
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
}

#[derive(Debug)]
struct Conn {
    stream: u32,
    /// The endpoint first seen as source: direction 0.
    first_src: Endpoint,
    /// Per direction: the base for relative numbers, once known.
    base: [Option<u32>; 2],
    /// Per direction: the window scale option of its SYN. None = no SYN seen yet;
    /// Some(None) = SYN without the option.
    syn_ws: [Option<Option<u8>>; 2],
}

type Key = (Endpoint, Endpoint);

fn key(a: Endpoint, b: Endpoint) -> Key {
    if a <= b { (a, b) } else { (b, a) }
}

/// Tracks every TCP connection of a capture, in capture order.
#[derive(Debug, Default)]
pub struct Tracker {
    conns: HashMap<Key, Conn>,
    next_stream: u32,
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Number of streams assigned so far.
    pub fn streams(&self) -> u32 {
        self.next_stream
    }

    pub fn segment(&mut self, src: Endpoint, dst: Endpoint, tcp: &Tcp) -> SegmentInfo {
        let k = key(src, dst);
        let syn = tcp.has(tcp_flags::SYN);
        let ack = tcp.has(tcp_flags::ACK);
        // A SYN (without ACK) with a different initial sequence number on a known 4-tuple starts a
        // new conversation, as in Wireshark: the old one was closed and the ports reused.
        let reused = match self.conns.get(&k) {
            Some(c) if syn && !ack => {
                let dir = usize::from(c.first_src != src);
                c.base
                    .get(dir)
                    .copied()
                    .flatten()
                    .is_some_and(|b| b != tcp.seq)
            }
            _ => false,
        };
        if reused || !self.conns.contains_key(&k) {
            let stream = self.next_stream;
            self.next_stream = self.next_stream.saturating_add(1);
            self.conns.insert(
                k,
                Conn {
                    stream,
                    first_src: src,
                    base: [None, None],
                    syn_ws: [None, None],
                },
            );
        }
        let Some(c) = self.conns.get_mut(&k) else {
            // Inserted just above when missing.
            return SegmentInfo::default_for(tcp);
        };
        let dir = usize::from(c.first_src != src);
        let rev = 1 - dir;
        if c.base.get(dir).copied().flatten().is_none() {
            let base = if syn {
                tcp.seq
            } else {
                tcp.seq.wrapping_sub(1)
            };
            set(&mut c.base, dir, Some(base));
        }
        if ack && c.base.get(rev).copied().flatten().is_none() {
            set(&mut c.base, rev, Some(tcp.ack.wrapping_sub(1)));
        }
        if syn {
            set(&mut c.syn_ws, dir, Some(tcp.window_scale()));
        }
        let fwd_base = c.base.get(dir).copied().flatten().unwrap_or(tcp.seq);
        let rev_base = c.base.get(rev).copied().flatten().unwrap_or(0);
        let rel_seq = tcp.seq.wrapping_sub(fwd_base);
        let rel_ack = if ack {
            tcp.ack.wrapping_sub(rev_base)
        } else {
            0
        };
        let seg_len = tcp.payload_len + u32::from(syn) + u32::from(tcp.has(tcp_flags::FIN));
        let next_rel_seq = (seg_len > 0).then(|| rel_seq.wrapping_add(seg_len));

        // Window scaling applies only when both SYNs carried the option (RFC 7323 §2.2), and
        // never to the SYNs themselves.
        let (shift, scaling_seen) = match (
            c.syn_ws.first().copied().flatten(),
            c.syn_ws.get(1).copied().flatten(),
        ) {
            (Some(Some(a)), Some(Some(b))) => (Some(if dir == 0 { a } else { b }.min(14)), true),
            (Some(None), _) | (_, Some(None)) => (None, true),
            _ => (None, false),
        };
        let window = match shift {
            Some(s) if !syn => u32::from(tcp.window) << s,
            _ => u32::from(tcp.window),
        };
        let sack_rel = tcp
            .options
            .items
            .iter()
            .filter_map(|o| match o {
                crate::decode::TcpOption::Sack { count, blocks } => Some(
                    blocks
                        .iter()
                        .take(usize::from(*count))
                        .map(|(l, r)| (l.wrapping_sub(rev_base), r.wrapping_sub(rev_base)))
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect();
        SegmentInfo {
            stream: c.stream,
            dir: u8::from(dir == 1),
            rel_seq,
            rel_ack,
            next_rel_seq,
            window,
            shift: if syn { None } else { shift },
            scaling_seen: if syn { false } else { scaling_seen },
            sack_rel,
        }
    }
}

fn set<T: Copy>(arr: &mut [T; 2], i: usize, v: T) {
    if let Some(slot) = arr.get_mut(i) {
        *slot = v;
    }
}

impl SegmentInfo {
    fn default_for(tcp: &Tcp) -> SegmentInfo {
        SegmentInfo {
            stream: 0,
            dir: 0,
            rel_seq: tcp.seq,
            rel_ack: tcp.ack,
            next_rel_seq: None,
            window: u32::from(tcp.window),
            shift: None,
            scaling_seen: false,
            sack_rel: Default::default(),
        }
    }
}
