//! Request/response pairing in capture order: ICMP and ICMPv6 echo requests with their replies,
//! DNS queries with their responses (and repeated queries, and responses nobody asked for).
//!
//! Runs in the ordered stage on decoded records; parses no bytes. Pending requests are kept in
//! bounded tables: past [`MAX_PENDING`], requests older than [`STALE_NS`] of capture time are
//! dropped (a reply after that is reported as unsolicited rather than growing memory).

pub mod dns_tcp;
pub mod http;

use foldhash::HashMap;

use crate::decode::{PacketRecord, Proto};
use crate::tcp::{self, Endpoint};

/// Pending requests kept per table before stale ones are dropped.
pub const MAX_PENDING: usize = 1 << 16;
/// A request unanswered this long (capture time) is stale.
pub const STALE_NS: i64 = 60 * 1_000_000_000;
/// A repeated DNS query within this time is a retransmission; later, a new query (Wireshark's
/// `dns.retransmission_timer` default).
pub const DNS_RETRANSMISSION_NS: i64 = 5 * 1_000_000_000;

/// A reply or response matched to its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Matched {
    pub request_frame: u64,
    /// Time from the request, nanoseconds.
    pub elapsed_ns: i64,
}

/// What pairing found for one frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairInfo {
    /// An echo reply: its request.
    pub echo_reply_to: Option<Matched>,
    /// A DNS response: its query.
    pub dns_response_to: Option<Matched>,
    /// A DNS query repeated while the first was unanswered: the first query's frame.
    pub dns_retransmission_of: Option<u64>,
    /// A DNS response that matches no query seen.
    pub dns_unsolicited: bool,
}

/// (source, destination, identifier, sequence) of an echo request.
type EchoKey = (Endpoint, Endpoint, u16, u16);
/// (client, server, transaction id, first question name) of a DNS query.
type DnsKey = (Endpoint, Endpoint, u16, String);

#[derive(Debug, Default)]
pub struct Pairing {
    echo: HashMap<EchoKey, (u64, i64)>,
    dns: HashMap<DnsKey, (u64, i64)>,
}

/// Keep a table of pending requests within [`MAX_PENDING`]: when it is full, drop the stale
/// requests, and everything if that frees less than a quarter. Each full scan is then followed
/// by at least `MAX_PENDING / 4` insertions before the next: a flood of fresh requests cannot
/// make every packet scan the whole table.
fn bound<K: Eq + std::hash::Hash>(map: &mut HashMap<K, (u64, i64)>, now: i64) {
    if map.len() >= MAX_PENDING {
        map.retain(|_, (_, t)| now.saturating_sub(*t) < STALE_NS);
        if map.len() > MAX_PENDING / 4 * 3 {
            map.clear();
        }
    }
}

impl Pairing {
    pub fn process(&mut self, rec: &PacketRecord, now: i64) -> PairInfo {
        let mut info = PairInfo::default();
        if !rec.pairable() {
            return info;
        }
        for l in rec.layers.iter().filter(|l| !l.quoted) {
            match &l.proto {
                Proto::Icmp(i) if matches!(i.icmp_type, 0 | 8) => {
                    info.echo_reply_to = self.echo(rec, now, i.icmp_type == 8, i.ident(), i.seq());
                }
                Proto::Icmpv6(i) if i.is_echo() => {
                    info.echo_reply_to =
                        self.echo(rec, now, i.icmp_type == 128, i.ident(), i.seq());
                }
                Proto::Dns(m) => {
                    let Some((src, dst)) =
                        ports_of(rec).and_then(|(sp, dp)| tcp::endpoints(rec, sp, dp))
                    else {
                        continue;
                    };
                    let name = m
                        .questions
                        .first()
                        .map(|q| q.name.clone())
                        .unwrap_or_default();
                    if m.is_response() {
                        match self.dns.remove(&(dst, src, m.id, name)) {
                            Some((frame, t)) => {
                                info.dns_response_to = Some(Matched {
                                    request_frame: frame,
                                    elapsed_ns: now.saturating_sub(t),
                                })
                            }
                            // tshark stops dissecting a malformed message before this check.
                            None => info.dns_unsolicited = m.malformed.is_none(),
                        }
                    } else {
                        let key = (src, dst, m.id, name);
                        match self.dns.get(&key) {
                            Some(&(first, t))
                                if first != rec.meta.number
                                    && now.saturating_sub(t) < DNS_RETRANSMISSION_NS =>
                            {
                                info.dns_retransmission_of = Some(first)
                            }
                            // The same message twice in one segment, or asked again later: a
                            // new query, which later responses answer.
                            Some(_) => {
                                self.dns.insert(key, (rec.meta.number, now));
                            }
                            None => {
                                bound(&mut self.dns, now);
                                self.dns.insert(key, (rec.meta.number, now));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        info
    }

    fn echo(
        &mut self,
        rec: &PacketRecord,
        now: i64,
        is_request: bool,
        ident: u16,
        seq: u16,
    ) -> Option<Matched> {
        let (src, dst) = tcp::endpoints(rec, 0, 0)?;
        if is_request {
            bound(&mut self.echo, now);
            self.echo
                .insert((src, dst, ident, seq), (rec.meta.number, now));
            return None;
        }
        // A reply answers the latest request with the same identifier and sequence number. It
        // stays in the table: Wireshark pairs duplicate replies with the same request too.
        let (frame, t) = *self.echo.get(&(dst, src, ident, seq))?;
        Some(Matched {
            request_frame: frame,
            elapsed_ns: now.saturating_sub(t),
        })
    }
}

/// The transport ports of the record's (outer) UDP or TCP header.
fn ports_of(rec: &PacketRecord) -> Option<(u16, u16)> {
    rec.udp()
        .map(|(_, u)| (u.src_port, u.dst_port))
        .or_else(|| rec.tcp().map(|(_, t)| (t.src_port, t.dst_port)))
}
