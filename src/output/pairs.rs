//! The `ping` and `dns` tables: one row per echo request or DNS query, next to its answer, with
//! the time it took; and ping's per-host-pair statistics. Built as sinks from the ordered
//! stage's pairing, so rows follow capture order.

use std::collections::BTreeMap;

use foldhash::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde_json::{Value as Json, json};

use super::safe_text;
use super::text::{
    Column, Row, header_line, ms, push_endpoint, push_int, push_int_or_dash, push_ms,
};
use crate::decode::Proto;
use crate::engine::Sink;
use crate::field::PacketView;
use crate::filter::Filter;
use crate::tcp;
use crate::wire::dns::{self, RData};

/// What a table keeps: rows up to the memory budget's share, each marked with whether the
/// filter picked one of its frames (a row is shown when its request or its answer was picked;
/// the mark travels with the row, so no set of picked frames grows with the capture).
#[derive(Debug)]
pub struct Keep {
    filter: Option<Filter>,
    max_rows: usize,
    /// Rows not kept because the table was full (the first ones are kept).
    rows_left_out: u64,
}

impl Default for Keep {
    fn default() -> Keep {
        Keep::new(None, usize::MAX)
    }
}

impl Keep {
    pub fn new(filter: Option<Filter>, max_rows: usize) -> Keep {
        Keep {
            filter,
            max_rows,
            rows_left_out: 0,
        }
    }

    fn picks(&self, view: &PacketView<'_>) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(view))
    }

    /// Whether a table holding `rows` rows takes one more; counts it left out if not.
    fn room(&mut self, rows: usize) -> bool {
        let room = rows < self.max_rows;
        if !room {
            self.rows_left_out += 1;
        }
        room
    }
}

// ---------------------------------------------------------------- ping

#[derive(Clone, Debug)]
pub struct Echo {
    pub request_frame: u64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ident: u16,
    pub seq: u16,
    /// TTL (IPv4) or hop limit (IPv6) of the request.
    pub ttl: u8,
    pub reply: Option<(u64, i64)>,
    /// The filter picked the request or the reply (always, without a filter).
    pub picked: bool,
}

/// Collects echo requests and their replies.
#[derive(Debug, Default)]
pub struct PingSink {
    pub echoes: Vec<Echo>,
    by_frame: HashMap<u64, usize>,
    keep: Keep,
}

impl PingSink {
    pub fn new(keep: Keep) -> PingSink {
        PingSink {
            keep,
            ..PingSink::default()
        }
    }
}

impl Sink for PingSink {
    fn cut_short(&self, cut: &mut crate::limits::CutShort) {
        cut.pair_rows_left_out += self.keep.rows_left_out;
    }

    fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
        let rec = view.rec;
        let echo = rec
            .layers
            .iter()
            .filter(|l| !l.quoted)
            .find_map(|l| match &l.proto {
                Proto::Icmp(i) if matches!(i.icmp_type, 0 | 8) => {
                    Some((i.icmp_type == 8, i.ident(), i.seq()))
                }
                Proto::Icmpv6(i) if i.is_echo() => Some((i.icmp_type == 128, i.ident(), i.seq())),
                _ => None,
            });
        let Some((is_request, ident, seq)) = echo else {
            return Ok(());
        };
        if is_request {
            let Some((src, dst)) = tcp::endpoints(rec, 0, 0) else {
                return Ok(());
            };
            if !self.keep.room(self.echoes.len()) {
                return Ok(());
            }
            let ttl = rec
                .ipv4()
                .map(|ip| ip.ttl)
                .or_else(|| rec.ipv6().map(|ip| ip.hop_limit))
                .unwrap_or(0);
            self.by_frame.insert(rec.meta.number, self.echoes.len());
            self.echoes.push(Echo {
                request_frame: rec.meta.number,
                src: src.ip(),
                dst: dst.ip(),
                ident,
                seq,
                ttl,
                reply: None,
                picked: self.keep.picks(view),
            });
        } else if let Some(m) = view.state.pairs.echo_reply_to
            && let Some(e) = self
                .by_frame
                .get(&m.request_frame)
                .and_then(|&i| self.echoes.get_mut(i))
            && e.reply.is_none()
        {
            e.reply = Some((rec.meta.number, m.elapsed_ns));
            e.picked = e.picked || self.keep.picks(view);
        }
        Ok(())
    }
}

/// Per (source, destination) statistics, as ping prints them.
#[derive(Debug, Default, PartialEq)]
pub struct PingStats {
    pub sent: usize,
    pub received: usize,
    pub rtts_ns: Vec<i64>,
}

impl PingStats {
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            100.0 * (self.sent - self.received) as f64 / self.sent as f64
        }
    }

    fn min_avg_max(&self) -> Option<(i64, i64, i64)> {
        let min = *self.rtts_ns.iter().min()?;
        let max = *self.rtts_ns.iter().max()?;
        let avg = self.rtts_ns.iter().sum::<i64>() / self.rtts_ns.len() as i64;
        Some((min, avg, max))
    }
}

pub fn ping_stats(echoes: &[Echo]) -> BTreeMap<(IpAddr, IpAddr), PingStats> {
    let mut out: BTreeMap<(IpAddr, IpAddr), PingStats> = BTreeMap::new();
    for e in echoes {
        let s = out.entry((e.src, e.dst)).or_default();
        s.sent += 1;
        if let Some((_, rtt)) = e.reply {
            s.received += 1;
            s.rtts_ns.push(rtt);
        }
    }
    out
}

/// The ping table's columns; the round trip, last, is not padded.
const PING_COLUMNS: [Column<'static>; 8] = [
    Column::right("request", 7),
    Column::right("reply", 6),
    Column::left("source", 16).wide_gap(),
    Column::left("destination", 16),
    Column::right("id", 6),
    Column::right("seq", 5),
    Column::right("ttl", 4),
    Column::left("rtt ms", 0).wide_gap(),
];

pub fn ping_text(echoes: &[Echo]) -> String {
    let mut s = String::new();
    header_line(&mut s, &PING_COLUMNS);
    for e in echoes {
        let mut row = Row::new(&mut s, &PING_COLUMNS);
        row.cell(|s| push_int(s, e.request_frame));
        row.cell(|s| push_int_or_dash(s, e.reply.map(|(f, _)| f)));
        row.cell(|s| {
            let _ = write!(s, "{}", e.src);
        });
        row.cell(|s| {
            let _ = write!(s, "{}", e.dst);
        });
        row.cell(|s| {
            let _ = write!(s, "0x{:04x}", e.ident);
        });
        row.cell(|s| push_int(s, e.seq));
        row.cell(|s| push_int(s, e.ttl));
        row.cell(|s| match e.reply {
            Some((_, ns)) => push_ms(s, ns),
            None => s.push_str("no reply"),
        });
        row.end();
    }
    for ((src, dst), st) in ping_stats(echoes) {
        let _ = write!(
            s,
            "--- {src} -> {dst}: {} sent, {} received, {:.0}% loss",
            st.sent,
            st.received,
            st.loss_percent()
        );
        if let Some((min, avg, max)) = st.min_avg_max() {
            let _ = write!(
                s,
                ", rtt min/avg/max = {}/{}/{} ms",
                ms(min),
                ms(avg),
                ms(max)
            );
        }
        s.push('\n');
    }
    s
}

pub fn ping_json(echoes: &[Echo]) -> Json {
    json!({
        "echoes": echoes.iter().map(|e| json!({
            "request_frame": e.request_frame,
            "reply_frame": e.reply.map(|r| r.0),
            "source": e.src.to_string(),
            "destination": e.dst.to_string(),
            "id": e.ident,
            "seq": e.seq,
            "ttl": e.ttl,
            "rtt_ms": e.reply.map(|r| ms(r.1)),
        })).collect::<Vec<_>>(),
        "pairs": ping_stats(echoes).into_iter().map(|((src, dst), st)| json!({
            "source": src.to_string(),
            "destination": dst.to_string(),
            "sent": st.sent,
            "received": st.received,
            "loss_percent": st.loss_percent(),
            "rtt_min_avg_max_ms": st.min_avg_max().map(|(a, b, c)| [ms(a), ms(b), ms(c)]),
        })).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------- dns

#[derive(Clone, Debug)]
pub struct Query {
    pub frame: u64,
    pub client: tcp::Endpoint,
    pub server: tcp::Endpoint,
    pub transport: &'static str,
    pub id: u16,
    pub name: String,
    pub qtype: u16,
    pub retransmission_of: Option<u64>,
    pub response: Option<Response>,
    /// The filter picked the query or the response (always, without a filter).
    pub picked: bool,
}

#[derive(Clone, Debug)]
pub struct Response {
    pub frame: u64,
    pub elapsed_ns: i64,
    pub rcode: u16,
    /// Answers as `TYPE data`, in order.
    pub answers: Vec<String>,
    /// Authority and additional records, the same way.
    pub others: Vec<String>,
}

/// Collects DNS queries and their responses.
#[derive(Debug, Default)]
pub struct DnsSink {
    pub queries: Vec<Query>,
    /// Responses to no query, that the filter picked.
    pub unsolicited: Vec<u64>,
    by_frame: HashMap<u64, usize>,
    keep: Keep,
}

impl DnsSink {
    pub fn new(keep: Keep) -> DnsSink {
        DnsSink {
            keep,
            ..DnsSink::default()
        }
    }
}

fn answer_text(r: &dns::Record) -> String {
    let data = match &r.data {
        RData::A(a) => IpAddr::from(*a).to_string(),
        RData::Aaaa(a) => IpAddr::from(*a).to_string(),
        RData::Name(n) => n.clone(),
        RData::Mx {
            preference,
            exchange,
        } => format!("{preference} {exchange}"),
        RData::Soa { mname, .. } => mname.clone(),
        RData::Srv {
            priority,
            weight,
            port,
            target,
        } => format!("{priority} {weight} {port} {target}"),
        RData::Txt(t) => t.join(" "),
        RData::Other | RData::Bad => String::new(),
    };
    format!("{} {data}", dns::type_name(r.rtype))
        .trim_end()
        .to_string()
}

impl Sink for DnsSink {
    fn cut_short(&self, cut: &mut crate::limits::CutShort) {
        cut.pair_rows_left_out += self.keep.rows_left_out;
    }

    fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
        let rec = view.rec;
        let (ports, transport) = match (rec.udp(), rec.tcp()) {
            (Some((_, u)), _) => ((u.src_port, u.dst_port), "udp"),
            (None, Some((_, t))) => ((t.src_port, t.dst_port), "tcp"),
            _ => return Ok(()),
        };
        let Some((src, dst)) = tcp::endpoints(rec, ports.0, ports.1) else {
            return Ok(());
        };
        let pairs = &view.state.pairs;
        let mut first_response = true;
        // A TCP segment can carry several DNS messages; each is a transaction of its own.
        for layer in rec.layers.iter().filter(|l| !l.quoted) {
            let Proto::Dns(m) = &layer.proto else {
                continue;
            };
            if m.is_response() {
                // The frame's pairing speaks for its first response.
                if !std::mem::take(&mut first_response) {
                    continue;
                }
                // Counted against the share before the filter, as queries are.
                if pairs.dns_unsolicited
                    && self.keep.room(self.unsolicited.len())
                    && self.keep.picks(view)
                {
                    self.unsolicited.push(rec.meta.number);
                }
                let Some(matched) = pairs.dns_response_to else {
                    continue;
                };
                let q = self
                    .by_frame
                    .get(&matched.request_frame)
                    .and_then(|&i| self.queries.get_mut(i));
                if let Some(q) = q.filter(|q| q.response.is_none()) {
                    q.picked = q.picked || self.keep.picks(view);
                    q.response = Some(Response {
                        frame: rec.meta.number,
                        elapsed_ns: matched.elapsed_ns,
                        rcode: m.rcode(),
                        answers: m.answers.iter().map(answer_text).collect(),
                        others: m
                            .authority
                            .iter()
                            .chain(&m.additional)
                            .map(answer_text)
                            .collect(),
                    });
                }
            } else {
                if !self.keep.room(self.queries.len()) {
                    continue;
                }
                let q = m.questions.first();
                // Responses are matched to the last query of a frame (a repeat replaces it).
                self.by_frame.insert(rec.meta.number, self.queries.len());
                self.queries.push(Query {
                    frame: rec.meta.number,
                    client: src,
                    server: dst,
                    transport,
                    id: m.id,
                    name: q.map(|q| q.name.clone()).unwrap_or_default(),
                    qtype: q.map_or(0, |q| q.qtype),
                    retransmission_of: pairs.dns_retransmission_of,
                    response: None,
                    picked: self.keep.picks(view),
                });
            }
        }
        Ok(())
    }
}

/// The DNS table's columns; the answers, last, are not padded.
const DNS_COLUMNS: [Column<'static>; 9] = [
    Column::right("query", 6),
    Column::right("resp", 6),
    Column::left("client", 22).wide_gap(),
    Column::left("server", 19),
    Column::left("type", 5),
    Column::left("name", 30),
    Column::left("rcode", 16),
    Column::right("latency ms", 10),
    Column::left("answers", 0).wide_gap(),
];

pub fn dns_text(queries: &[Query], unsolicited: &[u64]) -> String {
    let mut s = String::new();
    header_line(&mut s, &DNS_COLUMNS);
    let (mut answered, mut retrans) = (0, 0);
    for q in queries {
        let server = format!(
            "{}{}",
            q.server.ip(),
            if q.transport == "tcp" { " (tcp)" } else { "" }
        );
        let name = safe_text(&q.name);
        let (resp, rcode, latency, answers) = match &q.response {
            Some(r) => {
                answered += 1;
                (
                    r.frame.to_string(),
                    dns::rcode_name(r.rcode).to_string(),
                    ms(r.elapsed_ns),
                    safe_text(&r.answers.join(", ")).into_owned(),
                )
            }
            None if q.retransmission_of.is_some() => (
                "-".into(),
                String::new(),
                String::new(),
                format!("retransmission of #{}", q.retransmission_of.unwrap_or(0)),
            ),
            None => (
                "-".into(),
                "no response".into(),
                String::new(),
                String::new(),
            ),
        };
        retrans += usize::from(q.retransmission_of.is_some());
        let mut row = Row::new(&mut s, &DNS_COLUMNS);
        row.cell(|s| push_int(s, q.frame));
        row.text(&resp);
        // As every table writes an endpoint: an IPv6 address in brackets before its port.
        row.cell(|s| push_endpoint(s, &q.client));
        row.text(&server);
        row.text(&dns::type_name(q.qtype));
        row.text(&name);
        row.text(&rcode);
        row.text(&latency);
        row.text(&answers);
        row.end();
    }
    let _ = writeln!(
        s,
        "{} quer{}: {answered} answered, {} unanswered, {retrans} retransmitted; {} unsolicited response{}",
        queries.len(),
        if queries.len() == 1 { "y" } else { "ies" },
        queries
            .iter()
            .filter(|q| q.response.is_none() && q.retransmission_of.is_none())
            .count(),
        unsolicited.len(),
        if unsolicited.len() == 1 { "" } else { "s" }
    );
    s
}

pub fn dns_json(queries: &[Query], unsolicited: &[u64]) -> Json {
    json!({
        "queries": queries.iter().map(|q| json!({
            "query_frame": q.frame,
            "client": { "address": q.client.ip().to_string(), "port": q.client.port },
            "server": { "address": q.server.ip().to_string(), "port": q.server.port },
            "transport": q.transport,
            "id": format!("0x{:04x}", q.id),
            "name": q.name,
            "type": q.qtype,
            "type_name": dns::type_name(q.qtype),
            "retransmission_of": q.retransmission_of,
            "response_frame": q.response.as_ref().map(|r| r.frame),
            "rcode": q.response.as_ref().map(|r| r.rcode),
            "rcode_name": q.response.as_ref().map(|r| dns::rcode_name(r.rcode)),
            "latency_ms": q.response.as_ref().map(|r| ms(r.elapsed_ns)),
            "answers": q.response.as_ref().map(|r| r.answers.clone()),
            "authority_and_additional": q.response.as_ref().map(|r| r.others.clone()),
        })).collect::<Vec<_>>(),
        "unsolicited_responses": unsolicited,
    })
}
