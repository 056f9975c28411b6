//! The `http` table: one row per HTTP exchange, the request next to its response (paired in
//! order per connection, so pipelined requests each get their own response), with sizes, content
//! type and latency; requests that never got a response and responses without a request seen are
//! rows too. Built as a sink from the ordered stage's HTTP messages.

use foldhash::HashMap;
use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use super::safe_text;
use crate::app::http::HttpMessage;
use crate::engine::Sink;
use crate::field::PacketView;
use crate::tcp::{self, Endpoint};
use crate::wire::http1::StartLine;

/// One side of an exchange: the message and the frame that completed it.
#[derive(Clone, Debug)]
pub struct Part {
    pub frame: u64,
    pub ts_ns: i64,
    pub first_line: String,
    pub body_len: u64,
    pub content_type: Option<String>,
    pub cut_short: bool,
}

#[derive(Clone, Debug)]
pub struct Exchange {
    pub stream: u32,
    pub client: Endpoint,
    pub server: Endpoint,
    pub method: String,
    pub uri: String,
    pub host: Option<String>,
    pub request: Option<Part>,
    pub status: Option<(u16, String)>,
    pub response: Option<Part>,
    /// Interim (1xx) responses before the final one: frame and code.
    pub interim: Vec<(u64, u16)>,
}

impl Exchange {
    pub fn latency_ns(&self) -> Option<i64> {
        Some(
            self.response
                .as_ref()?
                .ts_ns
                .saturating_sub(self.request.as_ref()?.ts_ns),
        )
    }

    /// The frames of the exchange, for `-Y` selection.
    pub fn frames(&self) -> impl Iterator<Item = u64> + '_ {
        self.request
            .iter()
            .chain(self.response.iter())
            .map(|p| p.frame)
            .chain(self.interim.iter().map(|i| i.0))
    }
}

/// Collects exchanges in the order their requests (or orphan responses) completed.
#[derive(Debug, Default)]
pub struct HttpSink {
    pub exchanges: Vec<Exchange>,
    /// Requests still waiting for their final response, by pairing id.
    open: HashMap<u64, usize>,
}

fn part(m: &HttpMessage, view: &PacketView<'_>) -> Part {
    Part {
        frame: view.rec.meta.number,
        ts_ns: view.rec.meta.ts_ns.unwrap_or(0),
        first_line: m.msg.first_line.clone(),
        body_len: m.msg.body_len,
        content_type: m.msg.content_type.clone(),
        cut_short: m.msg.cut_short,
    }
}

impl Sink for HttpSink {
    fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
        if view.state.http.is_empty() {
            return Ok(());
        }
        let (Some(info), Some((_, t))) = (&view.state.tcp, view.rec.tcp()) else {
            return Ok(());
        };
        let Some((src, dst)) = tcp::endpoints(view.rec, t.src_port, t.dst_port) else {
            return Ok(());
        };
        for m in &view.state.http {
            match &m.msg.start {
                StartLine::Request { method, uri: u, .. } => {
                    self.open.insert(m.own_entry, self.exchanges.len());
                    self.exchanges.push(Exchange {
                        stream: info.stream,
                        client: src,
                        server: dst,
                        method: method.clone(),
                        uri: u.clone(),
                        host: m.msg.host.clone(),
                        request: Some(part(m, view)),
                        status: None,
                        response: None,
                        interim: Vec::new(),
                    });
                }
                StartLine::Response { code, phrase, .. } => {
                    let waiting = m.answers.and_then(|r| self.open.get(&r.id).copied());
                    match waiting.and_then(|i| self.exchanges.get_mut(i)) {
                        Some(x) if code / 100 == 1 => x.interim.push((view.rec.meta.number, *code)),
                        Some(x) => {
                            x.status = Some((*code, phrase.clone()));
                            x.response = Some(part(m, view));
                            if let Some(r) = m.answers {
                                self.open.remove(&r.id);
                            }
                        }
                        None => self.exchanges.push(Exchange {
                            stream: info.stream,
                            client: dst,
                            server: src,
                            method: String::new(),
                            uri: String::new(),
                            host: None,
                            request: None,
                            status: Some((*code, phrase.clone())),
                            response: Some(part(m, view)),
                            interim: Vec::new(),
                        }),
                    }
                }
            }
        }
        Ok(())
    }
}

fn ms(ns: i64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

fn endpoint(e: &Endpoint) -> String {
    match e.ip() {
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", e.port),
        a => format!("{a}:{}", e.port),
    }
}

fn frame_text(p: &Option<Part>) -> String {
    p.as_ref().map_or("-".into(), |p| p.frame.to_string())
}

fn size_text(p: &Option<Part>) -> String {
    p.as_ref().map_or("-".into(), |p| {
        format!("{}{}", p.body_len, if p.cut_short { "+cut" } else { "" })
    })
}

pub fn http_text(exchanges: &[Exchange]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>6} {:>6} {:>6}  {:<22} {:<22} {:<7} {:<24} {:<16} {:>9} {:>9} {:>10}  {:<24} uri",
        "stream",
        "req",
        "resp",
        "client",
        "server",
        "method",
        "host",
        "status",
        "req body",
        "resp body",
        "latency ms",
        "content type"
    );
    let (mut answered, mut unanswered, mut orphans) = (0, 0, 0);
    for x in exchanges {
        let status = match &x.status {
            Some((code, phrase)) => format!("{code} {}", safe_text(phrase)),
            None => "none".into(),
        };
        match (&x.request, &x.response) {
            (Some(_), Some(_)) => answered += 1,
            (Some(_), None) => unanswered += 1,
            _ => orphans += 1,
        }
        let ctype = x
            .response
            .as_ref()
            .and_then(|p| p.content_type.as_deref())
            .unwrap_or("");
        let _ = writeln!(
            s,
            "{:>6} {:>6} {:>6}  {:<22} {:<22} {:<7} {:<24} {:<16} {:>9} {:>9} {:>10}  {:<24} {}",
            x.stream,
            frame_text(&x.request),
            frame_text(&x.response),
            endpoint(&x.client),
            endpoint(&x.server),
            if x.request.is_some() {
                safe_text(&x.method).into_owned()
            } else {
                "-".into()
            },
            safe_text(x.host.as_deref().unwrap_or("")),
            status,
            size_text(&x.request),
            size_text(&x.response),
            x.latency_ns().map(ms).unwrap_or_default(),
            safe_text(ctype),
            safe_text(&x.uri)
        );
    }
    let _ = writeln!(
        s,
        "{} exchange{}: {answered} answered, {unanswered} without response, {orphans} response{} without request",
        exchanges.len(),
        if exchanges.len() == 1 { "" } else { "s" },
        if orphans == 1 { "" } else { "s" }
    );
    s
}

pub fn http_json(exchanges: &[Exchange]) -> Json {
    let part = |p: &Option<Part>| {
        p.as_ref().map(|p| {
            json!({
                "frame": p.frame,
                "line": p.first_line,
                "body_bytes": p.body_len,
                "content_type": p.content_type,
                "cut_short": p.cut_short,
            })
        })
    };
    json!({
        "exchanges": exchanges.iter().map(|x| json!({
            "stream": x.stream,
            "client": { "address": x.client.ip().to_string(), "port": x.client.port },
            "server": { "address": x.server.ip().to_string(), "port": x.server.port },
            "method": x.request.as_ref().map(|_| &x.method),
            "uri": x.request.as_ref().map(|_| &x.uri),
            "host": x.host,
            "request": part(&x.request),
            "status": x.status.as_ref().map(|s| s.0),
            "phrase": x.status.as_ref().map(|s| &s.1),
            "response": part(&x.response),
            "interim": x.interim.iter().map(|(f, c)| json!({"frame": f, "status": c})).collect::<Vec<_>>(),
            "latency_ms": x.latency_ns().map(ms),
        })).collect::<Vec<_>>(),
    })
}
