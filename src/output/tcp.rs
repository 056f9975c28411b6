//! The `tcp` table (one row per connection), its plain-language explanations, and the `flow`
//! ladder diagram of one connection, as text and as SVG.

use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use super::summary::{format_rel, push_rel};
use super::text::{
    Column, Row, header_line, ms, push_endpoint, push_int, push_int_or_dash, push_ms, push_rows,
    tcp_flag_names,
};
use crate::decode::tcp_flags;
use crate::field::PacketView;
use crate::tcp::{ConnSummary, Ending, Endpoint, analysis};

/// [`push_endpoint`], as a String.
fn ep(e: &Endpoint) -> String {
    let mut s = String::new();
    push_endpoint(&mut s, e);
    s
}

fn secs(ns: i64) -> String {
    format_rel(ns, 6)
}

/// A cell of both sides' values, "client/server"; "-" for a side without one.
fn push_pair<T: itoa::Integer>(s: &mut String, client: Option<T>, server: Option<T>) {
    push_int_or_dash(s, client);
    s.push('/');
    push_int_or_dash(s, server);
}

fn frame(f: Option<u64>) -> String {
    let mut s = String::new();
    push_int_or_dash(&mut s, f);
    s
}

/// "FIN both", "RST client #12", "no answer", "open".
pub fn ending_text(c: &ConnSummary) -> String {
    match c.ending() {
        Ending::Fin {
            by_client: true,
            by_server: true,
        } => "FIN both".into(),
        Ending::Fin {
            by_client: true, ..
        } => "FIN client".into(),
        Ending::Fin { .. } => "FIN server".into(),
        Ending::Reset { by_client, frame } => {
            format!(
                "RST {} #{frame}",
                if by_client { "client" } else { "server" }
            )
        }
        Ending::NeverAnswered => "no answer".into(),
        Ending::Open => "open".into(),
    }
}

/// Counts over a set of connections, for the closing line and JSON.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub connections: usize,
    pub handshakes_completed: usize,
    pub fin_closed: usize,
    pub rst_closed: usize,
    pub unanswered_syns: usize,
    pub midstream: usize,
}

impl Totals {
    pub fn of(conns: &[&ConnSummary]) -> Totals {
        let mut t = Totals {
            connections: conns.len(),
            ..Totals::default()
        };
        for c in conns {
            let (a, b) = c.sides();
            t.handshakes_completed += usize::from(c.handshake_complete());
            t.fin_closed += usize::from(a.fin.is_some() || b.fin.is_some());
            t.rst_closed += usize::from(a.rst.is_some() || b.rst.is_some());
            t.unanswered_syns += usize::from(c.syn_frame.is_some() && c.server_side().packets == 0);
            t.midstream += usize::from(c.midstream());
        }
        t
    }

    pub fn line(&self) -> String {
        format!(
            "{} connection{}: {} handshake{} completed, {} closed with FIN, {} reset, {} SYN{} never answered, {} picked up midstream",
            self.connections,
            if self.connections == 1 { "" } else { "s" },
            self.handshakes_completed,
            if self.handshakes_completed == 1 {
                ""
            } else {
                "s"
            },
            self.fin_closed,
            self.rst_closed,
            self.unanswered_syns,
            if self.unanswered_syns == 1 { "" } else { "s" },
            self.midstream
        )
    }
}

/// The connection table's columns; with `--handshakes` the last, SACK, is not padded.
const COLUMNS: [Column<'static>; 14] = [
    Column::right("stream", 6),
    Column::left("client", 22).wide_gap(),
    Column::left("server", 22),
    Column::right("start", 11),
    Column::right("duration", 10),
    Column::right("pkts c/s", 11),
    Column::right("bytes c/s", 15),
    Column::left("handshake", 10),
    Column::left("end", 14),
    Column::left("state", 6),
    Column::left("history", 12),
    Column::right("rtx", 4),
    Column::right("dup", 4),
    Column::right("zw", 3),
];
const HANDSHAKE_COLUMNS: [Column<'static>; 12] = [
    Column::right("stream", 6),
    Column::left("client", 22).wide_gap(),
    Column::left("server", 22),
    Column::right("SYN", 6),
    Column::right("SYN-ACK", 7),
    Column::right("ACK", 6),
    Column::left("complete", 8),
    Column::right("SYN-rtx", 7),
    Column::right("iRTT ms", 10),
    Column::left("MSS c/s", 11).wide_gap(),
    Column::left("WS c/s", 9),
    Column::left("SACK", 0),
];

/// The connection table, text form.
pub fn table(conns: &[&ConnSummary], first_ts: i64, handshakes: bool, explain: bool) -> String {
    let mut s = String::new();
    let columns: &[Column<'static>] = if handshakes {
        &HANDSHAKE_COLUMNS
    } else {
        &COLUMNS
    };
    header_line(&mut s, columns);
    // One row per connection, tens of thousands in a large capture: pushed cell by cell.
    push_rows(&mut s, conns, |s, c| {
        let (cs, ss) = c.sides();
        let mut row = Row::new(s, columns);
        row.cell(|s| push_int(s, c.stream));
        row.cell(|s| {
            push_endpoint(s, c.client());
            if c.midstream() {
                s.push('*');
            }
        });
        row.cell(|s| push_endpoint(s, c.server()));
        if handshakes {
            let scale = |w: Option<u8>| w.map(|v| 1u32 << v.min(14));
            row.cell(|s| push_int_or_dash(s, c.syn_frame));
            row.cell(|s| push_int_or_dash(s, c.synack_frame));
            row.cell(|s| push_int_or_dash(s, c.ack_frame));
            row.text(if c.handshake_complete() { "yes" } else { "no" });
            row.cell(|s| push_int(s, c.syn_retransmissions()));
            row.cell(|s| match c.initial_rtt_ns {
                Some(ns) => push_ms(s, ns),
                None => s.push('-'),
            });
            row.cell(|s| push_pair(s, cs.mss, ss.mss));
            row.cell(|s| push_pair(s, scale(cs.window_scale), scale(ss.window_scale)));
            row.text(match (cs.sack_permitted, ss.sack_permitted) {
                (true, true) => "yes",
                (false, false) => "no",
                _ => "one side",
            });
        } else {
            let start = c.start_ns.saturating_sub(first_ts);
            row.cell(|s| push_rel(s, start, 6));
            row.cell(|s| push_rel(s, c.duration_ns(), 6));
            row.cell(|s| push_pair(s, Some(cs.packets), Some(ss.packets)));
            row.cell(|s| push_pair(s, Some(cs.bytes), Some(ss.bytes)));
            row.cell(|s| {
                if c.handshake_complete() {
                    s.push_str("complete");
                } else if c.midstream() {
                    s.push_str("midstream");
                } else if c.syn_retransmissions() > 0 {
                    s.push_str("SYN x");
                    push_int(s, c.syn_retransmissions() + 1);
                } else {
                    s.push_str("incomplete");
                }
            });
            row.text(&ending_text(c));
            row.text(c.conn_state());
            row.text(&c.history());
            row.cell(|s| push_int(s, cs.retransmissions + ss.retransmissions));
            row.cell(|s| push_int(s, cs.duplicate_acks + ss.duplicate_acks));
            row.cell(|s| push_int(s, cs.zero_windows + ss.zero_windows));
        }
        row.end();
        if explain {
            for line in explain_conn(c) {
                let _ = writeln!(s, "        {line}");
            }
        }
    });
    if conns.iter().any(|c| c.midstream()) {
        s.push_str("* picked up midstream: no SYN seen, the first sender is shown as client\n");
    }
    s.push_str(&Totals::of(conns).line());
    s.push('\n');
    s
}

/// Plain-language lines about what happened on a connection.
pub fn explain_conn(c: &ConnSummary) -> Vec<String> {
    let mut out = Vec::new();
    let port = c.server().port;
    let (cs, ss) = c.sides();
    if c.midstream() {
        out.push(
            "the capture started in the middle of this connection: no handshake was seen".into(),
        );
    }
    if cs.packets > 0 && ss.packets == 0 && c.history().contains('A') {
        out.push(
            "the client acknowledges data this capture never saw: only one direction was captured \
             (a capture filter, or replies taking another route)"
                .into(),
        );
    }
    match c.conn_state() {
        "S0" if c.syn_retransmissions() > 0 => out.push(format!(
            "the client sent the SYN {} times over {} s and got no answer: a firewall (security group) probably drops port {port}",
            c.syn_retransmissions() + 1,
            format_rel(c.duration_ns(), 1)
        )),
        "S0" => out.push(format!(
            "the client's SYN got no answer (the capture may have ended too soon, or a firewall drops port {port})"
        )),
        "REJ" => out.push(format!(
            "the server answered the SYN with RST: port {port} is closed (nothing listens there), or a firewall rejects it"
        )),
        _ => {}
    }
    if c.handshake_complete() {
        out.push(format!(
            "three-way handshake complete: SYN #{}, SYN-ACK #{}, ACK #{}{}",
            frame(c.syn_frame),
            frame(c.synack_frame),
            frame(c.ack_frame),
            c.initial_rtt_ns
                .map_or(String::new(), |ns| format!(", round trip {} ms", ms(ns)))
        ));
        if c.syn_retransmissions() > 0 {
            out.push(format!(
                "the SYN had to be sent {} times before the server answered",
                c.syn_retransmissions() + 1
            ));
        }
    }
    match c.ending() {
        Ending::Fin {
            by_client,
            by_server,
        } => {
            let first_client = match (cs.fin, ss.fin) {
                (Some(a), Some(b)) => a.1 <= b.1,
                _ => by_client,
            };
            let who = if first_client { "client" } else { "server" };
            let other = if first_client { "server" } else { "client" };
            if by_client && by_server {
                out.push(format!(
                    "the {who} closed first (FIN), the {other} answered with its own FIN"
                ));
            } else {
                out.push(format!(
                    "the {who} sent FIN; the {other} never closed its side in this capture"
                ));
            }
        }
        Ending::Reset { by_client, frame } if c.conn_state() != "REJ" => out.push(format!(
            "the {} aborted the connection with RST in frame #{frame}",
            if by_client { "client" } else { "server" }
        )),
        Ending::Open if c.handshake_complete() => {
            out.push("still open when the capture ended".into())
        }
        _ => {}
    }
    let rtx = cs.retransmissions + ss.retransmissions;
    // For an unanswered connection the retransmissions are the SYN retries, said above.
    if rtx > 0 && c.conn_state() != "S0" {
        out.push(format!(
            "{rtx} segment(s) were retransmitted: packets were lost or delayed"
        ));
    }
    for (name, side) in [("client", cs), ("server", ss)] {
        if side.zero_windows > 0 {
            out.push(format!(
                "the {name} advertised a zero window {} time(s): its receive buffer was full",
                side.zero_windows
            ));
        }
    }
    out
}

fn endpoint_json(e: &Endpoint) -> Json {
    json!({ "address": e.ip().to_string(), "port": e.port })
}

/// One connection as JSON.
pub fn conn_json(c: &ConnSummary, first_ts: i64) -> Json {
    let (cs, ss) = c.sides();
    let side = |s: &crate::tcp::Side| {
        json!({
            "packets": s.packets,
            "bytes": s.bytes,
            "mss": s.mss,
            "window_scale": s.window_scale,
            "sack_permitted": s.sack_permitted,
            "fin_frame": s.fin.map(|f| f.0),
            "rst_frame": s.rst.map(|f| f.0),
            "retransmissions": s.retransmissions,
            "duplicate_acks": s.duplicate_acks,
            "zero_windows": s.zero_windows,
        })
    };
    json!({
        "stream": c.stream,
        "client": endpoint_json(c.client()),
        "server": endpoint_json(c.server()),
        "midstream": c.midstream(),
        "start": secs(c.start_ns.saturating_sub(first_ts)),
        "duration": secs(c.duration_ns()),
        "handshake": {
            "syn_frame": c.syn_frame,
            "synack_frame": c.synack_frame,
            "ack_frame": c.ack_frame,
            "complete": c.handshake_complete(),
            "syn_retransmissions": c.syn_retransmissions(),
            "initial_rtt": c.initial_rtt_ns.map(secs),
        },
        "end": ending_text(c),
        "conn_state": c.conn_state(),
        "history": c.history(),
        "client_side": side(cs),
        "server_side": side(ss),
        "explain": explain_conn(c),
    })
}

pub fn totals_json(t: &Totals) -> Json {
    json!({
        "connections": t.connections,
        "handshakes_completed": t.handshakes_completed,
        "fin_closed": t.fin_closed,
        "rst_closed": t.rst_closed,
        "unanswered_syns": t.unanswered_syns,
        "midstream": t.midstream,
    })
}

// ---------------------------------------------------------------- flow diagrams

/// One segment of the diagram.
#[derive(Clone, Debug)]
pub struct FlowRow {
    pub frame: u64,
    pub time_ns: i64,
    /// Sent by the connection's first-seen endpoint (index 0)?
    pub from_first: bool,
    pub label: String,
    pub note: Option<String>,
}

/// Build a row from a packet of the stream.
pub fn flow_row(view: &PacketView<'_>) -> Option<FlowRow> {
    let (_, t) = view.rec.tcp()?;
    let info = view.state.tcp.as_ref()?;
    let mut label = String::new();
    for (flag, _, tag) in analysis::TABLE.iter().rev() {
        if info.has(*flag) {
            let _ = write!(label, "[{tag}] ");
        }
    }
    let _ = write!(label, "{} Seq={}", tcp_flag_names(t.flags), info.rel_seq);
    if t.has(tcp_flags::ACK) {
        let _ = write!(label, " Ack={}", info.rel_ack);
    }
    let _ = write!(label, " Len={}", t.payload_len);
    let note = if t.has(tcp_flags::SYN) && !t.has(tcp_flags::ACK) {
        Some("SYN: the client opens; its sequence numbers start here (relative 0)".to_string())
    } else if t.has(tcp_flags::SYN) {
        Some("SYN-ACK: Ack=1 acknowledges the SYN, which counts as one byte".to_string())
    } else if t.has(tcp_flags::FIN) {
        Some(format!(
            "FIN takes one sequence number: it is acknowledged with Ack={}",
            info.next_rel_seq
        ))
    } else if t.has(tcp_flags::RST) {
        Some("RST: the connection is aborted, nothing more is acknowledged".to_string())
    } else if info.has(analysis::RETRANSMISSION) {
        Some("the same bytes again: the first copy was lost or its ACK was late".to_string())
    } else {
        None
    };
    Some(FlowRow {
        frame: view.rec.meta.number,
        time_ns: info.time_relative_ns,
        from_first: info.dir == 0,
        label,
        note,
    })
}

const LANE: usize = 56;

/// The ladder diagram as text: one arrow per segment between the client and server columns.
pub fn flow_text(c: &ConnSummary, rows: &[FlowRow], explain: bool) -> String {
    let mut s = String::new();
    let client_is_first = c.orig() == 0;
    let (cl, sv) = (ep(c.client()), ep(c.server()));
    let _ = writeln!(
        s,
        "stream {}: {cl} (client{}) <-> {sv} (server), {}, {}",
        c.stream,
        if c.midstream() { ", midstream" } else { "" },
        c.conn_state(),
        c.history()
    );
    let _ = writeln!(
        s,
        "{:>11} {:>6}  {:<w2$}server",
        "time",
        "frame",
        "client",
        w2 = LANE + 2
    );
    for r in rows {
        let to_server = r.from_first == client_is_first;
        let label = format!(" {} ", r.label);
        let fill = LANE.saturating_sub(label.chars().count() + 1);
        let arrow = if to_server {
            format!("|──{label}{}▶|", "─".repeat(fill.saturating_sub(2)))
        } else {
            format!("|◀{}{label}──|", "─".repeat(fill.saturating_sub(2)))
        };
        let _ = writeln!(s, "{:>11} {:>6}  {arrow}", secs(r.time_ns), r.frame);
        if explain && let Some(n) = &r.note {
            let _ = writeln!(s, "{:>20}{n}", "");
        }
    }
    if explain {
        for line in explain_conn(c) {
            let _ = writeln!(s, "  {line}");
        }
    }
    s
}

pub(crate) fn xml_escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The same diagram as an SVG document.
pub fn flow_svg(c: &ConnSummary, rows: &[FlowRow]) -> String {
    let (w, top, step) = (760, 70, 34);
    let h = top + step * rows.len() + 30;
    let (xc, xs) = (170, 700);
    let client_is_first = c.orig() == 0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="monospace" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<defs><marker id="a" markerWidth="10" markerHeight="8" refX="10" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z"/></marker></defs>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="10" y="20">stream {} ({}, {})</text>"#,
        c.stream,
        c.conn_state(),
        xml_escape(&c.history())
    );
    let _ = writeln!(
        s,
        r#"<text x="{xc}" y="45" text-anchor="middle">client {}</text><text x="{xs}" y="45" text-anchor="middle">server {}</text>"#,
        xml_escape(&ep(c.client())),
        xml_escape(&ep(c.server()))
    );
    let _ = writeln!(
        s,
        r#"<line x1="{xc}" y1="55" x2="{xc}" y2="{}" stroke="gray"/><line x1="{xs}" y1="55" x2="{xs}" y2="{}" stroke="gray"/>"#,
        h - 10,
        h - 10
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + step * i + 14;
        let (x1, x2) = if r.from_first == client_is_first {
            (xc, xs)
        } else {
            (xs, xc)
        };
        let _ = writeln!(
            s,
            r#"<text x="10" y="{y}">{} #{}</text><line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="black" marker-end="url(#a)"/><text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            secs(r.time_ns),
            r.frame,
            (xc + xs) / 2,
            y - 4,
            xml_escape(&r.label)
        );
    }
    s.push_str("</svg>\n");
    s
}
