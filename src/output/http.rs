//! The `http` table: one row per HTTP exchange, the request next to its response (paired in
//! order per connection, so pipelined requests each get their own response), with sizes, content
//! type and latency; requests that never got a response and responses without a request seen are
//! rows too. Built as a sink from the ordered stage's HTTP messages.

use foldhash::HashMap;
use std::collections::VecDeque;
use std::io::{self, Write};

use serde_json::{Value as Json, json};

use super::safe_text;
use super::text::{
    Column, Row, header_line, ms, push_endpoint, push_int, push_int_or_dash, push_ms,
};
use crate::app::http::HttpMessage;
use crate::engine::Sink;
use crate::field::PacketView;
use crate::tcp::{self, Endpoint};
use crate::wire::http1::{Message, StartLine};

/// One side of an exchange: the message and the frame that completed it.
#[derive(Clone, Debug)]
pub struct Part {
    pub frame: u64,
    pub ts_ns: i64,
    /// A clone of the message (its text is shared, not copied).
    pub msg: Message,
}

#[derive(Clone, Debug)]
pub struct Exchange {
    pub stream: u32,
    pub client: Endpoint,
    pub server: Endpoint,
    pub request: Option<Part>,
    /// The final response.
    pub response: Option<Part>,
    /// Interim (1xx) responses before the final one: frame and code.
    pub interim: Vec<(u64, u16)>,
}

impl Exchange {
    /// The request's method ("" without a request).
    pub fn method(&self) -> &str {
        self.request
            .as_ref()
            .and_then(|p| p.msg.method())
            .unwrap_or("")
    }

    /// The request's URI ("" without a request).
    pub fn uri(&self) -> &str {
        self.request
            .as_ref()
            .and_then(|p| p.msg.uri())
            .unwrap_or("")
    }

    /// The request's Host header.
    pub fn host(&self) -> Option<&str> {
        self.request.as_ref().and_then(|p| p.msg.host())
    }

    /// The final response's status code and phrase.
    pub fn status(&self) -> Option<(u16, &str)> {
        self.response.as_ref().and_then(|p| p.msg.status())
    }

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

/// Collects exchanges in the order their requests (or orphan responses) completed, and hands
/// them out in that order as soon as they are settled (see [`HttpSink::take_settled`]), so that
/// memory follows the exchanges in flight, not the capture.
#[derive(Debug, Default)]
pub struct HttpSink {
    /// Exchanges not taken yet; the first has the absolute index `base`.
    exchanges: VecDeque<Exchange>,
    /// Beside each exchange, the pairing id of its request (none for a response alone).
    ids: VecDeque<Option<u64>>,
    base: usize,
    /// Requests still waiting for their final response, by pairing id: absolute index.
    open: HashMap<u64, usize>,
}

impl HttpSink {
    fn get_mut(&mut self, i: usize) -> Option<&mut Exchange> {
        self.exchanges.get_mut(i.checked_sub(self.base)?)
    }

    /// Exchanges not taken yet.
    pub fn pending(&self) -> usize {
        self.exchanges.len()
    }

    /// The frames of the exchanges not taken yet.
    pub fn pending_frames(&self) -> impl Iterator<Item = u64> + '_ {
        self.exchanges.iter().flat_map(Exchange::frames)
    }

    /// Take the leading exchanges that nothing can change any more: answered requests and
    /// responses without a request. With `all`, take every exchange (at the end of the capture,
    /// or, one at a time, when too many wait behind a request that is not answered: that one is
    /// then shown without a response, and a response coming later is a row of its own).
    pub fn take_settled(&mut self, all: bool, out: &mut Vec<Exchange>) {
        while let Some(x) = self.exchanges.front() {
            let settled = x.response.is_some() || x.request.is_none();
            if !settled && !all {
                break;
            }
            self.take_oldest(out);
        }
    }

    /// Take the oldest exchange whatever its state (see [`HttpSink::take_settled`]); a request
    /// still waiting stops waiting.
    pub fn take_oldest(&mut self, out: &mut Vec<Exchange>) {
        if let Some(x) = self.exchanges.pop_front() {
            if let Some(Some(id)) = self.ids.pop_front() {
                self.open.remove(&id);
            }
            out.push(x);
            self.base += 1;
        }
    }
}

fn part(m: &HttpMessage, view: &PacketView<'_>) -> Part {
    Part {
        frame: view.rec.meta.number,
        ts_ns: view.rec.meta.ts_ns.unwrap_or(0),
        msg: m.msg.clone(),
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
            match m.msg.start {
                StartLine::Request { .. } => {
                    self.open
                        .insert(m.own_entry, self.base + self.exchanges.len());
                    self.ids.push_back(Some(m.own_entry));
                    self.exchanges.push_back(Exchange {
                        stream: info.stream,
                        client: src,
                        server: dst,
                        request: Some(part(m, view)),
                        response: None,
                        interim: Vec::new(),
                    });
                }
                StartLine::Response { code, .. } => {
                    let waiting = m.answers.and_then(|r| self.open.get(&r.id).copied());
                    match waiting.and_then(|i| self.get_mut(i)) {
                        Some(x) if code / 100 == 1 => x.interim.push((view.rec.meta.number, code)),
                        Some(x) => {
                            x.response = Some(part(m, view));
                            if let Some(r) = m.answers {
                                self.open.remove(&r.id);
                            }
                        }
                        None => {
                            self.ids.push_back(None);
                            self.exchanges.push_back(Exchange {
                                stream: info.stream,
                                client: dst,
                                server: src,
                                request: None,
                                response: Some(part(m, view)),
                                interim: Vec::new(),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Rows of each kind, for the table's last line.
#[derive(Clone, Copy, Debug, Default)]
struct HttpCounts {
    answered: u64,
    unanswered: u64,
    orphans: u64,
}

impl HttpCounts {
    fn add(&mut self, x: &Exchange) {
        match (&x.request, &x.response) {
            (Some(_), Some(_)) => self.answered += 1,
            (Some(_), None) => self.unanswered += 1,
            _ => self.orphans += 1,
        }
    }
}

/// The text table's columns; the URI, last, is not padded.
const COLUMNS: [Column<'static>; 13] = [
    Column::right("stream", 6),
    Column::right("req", 6),
    Column::right("resp", 6),
    Column::left("client", 22).wide_gap(),
    Column::left("server", 22),
    Column::left("method", 7),
    Column::left("host", 24),
    Column::left("status", 16),
    Column::right("req body", 9),
    Column::right("resp body", 9),
    Column::right("latency ms", 10),
    Column::left("content type", 24).wide_gap(),
    Column::left("uri", 0),
];

/// The text table's header line.
fn http_text_header() -> String {
    let mut s = String::new();
    header_line(&mut s, &COLUMNS);
    s
}

/// One row of the text table, appended to `s`, padded as [`http_text_header`] pads the titles
/// (a big capture has a million rows: no string per column).
fn write_text_row(x: &Exchange, s: &mut String) {
    let mut row = Row::new(s, &COLUMNS);
    row.cell(|s| push_int(s, x.stream));
    row.cell(|s| push_frame(s, &x.request));
    row.cell(|s| push_frame(s, &x.response));
    row.cell(|s| push_endpoint(s, &x.client));
    row.cell(|s| push_endpoint(s, &x.server));
    row.cell(|s| match x.request {
        Some(_) => s.push_str(&safe_text(x.method())),
        None => s.push('-'),
    });
    row.cell(|s| s.push_str(&safe_text(x.host().unwrap_or(""))));
    row.cell(|s| match x.status() {
        Some((code, phrase)) => {
            push_int(s, code);
            s.push(' ');
            s.push_str(&safe_text(phrase));
        }
        None => s.push_str("none"),
    });
    row.cell(|s| push_size(s, &x.request));
    row.cell(|s| push_size(s, &x.response));
    row.cell(|s| {
        if let Some(ns) = x.latency_ns() {
            push_ms(s, ns);
        }
    });
    let ctype = (x.response.as_ref()).and_then(|p| p.msg.content_type());
    row.cell(|s| s.push_str(&safe_text(ctype.unwrap_or(""))));
    row.cell(|s| s.push_str(&safe_text(x.uri())));
    row.end();
}

fn push_frame(s: &mut String, p: &Option<Part>) {
    push_int_or_dash(s, p.as_ref().map(|p| p.frame));
}

fn push_size(s: &mut String, p: &Option<Part>) {
    match p {
        Some(p) => {
            push_int(s, p.msg.body_len);
            if p.msg.cut_short {
                s.push_str("+cut");
            }
        }
        None => s.push('-'),
    }
}

/// The text table's last line.
fn http_text_footer(c: &HttpCounts) -> String {
    let n = c.answered + c.unanswered + c.orphans;
    format!(
        "{n} exchange{}: {} answered, {} without response, {} response{} without request\n",
        if n == 1 { "" } else { "s" },
        c.answered,
        c.unanswered,
        c.orphans,
        if c.orphans == 1 { "" } else { "s" }
    )
}

/// The `http` table as it is written, one exchange after another: the text table (its header
/// before the first row, its last line after the last) or the JSON document.
pub struct TableWriter<W: Write> {
    out: W,
    json: bool,
    counts: HttpCounts,
    rows: u64,
    header_done: bool,
    /// One text row at a time (its allocation serves every row).
    line: String,
}

impl<W: Write> TableWriter<W> {
    pub fn new(out: W, json: bool) -> TableWriter<W> {
        TableWriter {
            out,
            json,
            counts: HttpCounts::default(),
            rows: 0,
            header_done: false,
            line: String::new(),
        }
    }

    /// The text table's header, before its first row (or its last line).
    fn text_header(&mut self) -> io::Result<()> {
        if !self.json && !self.header_done {
            self.header_done = true;
            self.out.write_all(http_text_header().as_bytes())?;
        }
        Ok(())
    }

    pub fn write(&mut self, x: &Exchange) -> io::Result<()> {
        self.text_header()?;
        self.counts.add(x);
        if self.json {
            // As serde_json's pretty printer lays out the whole document.
            self.out.write_all(if self.rows == 0 {
                b"{\n  \"exchanges\": [\n"
            } else {
                b",\n"
            })?;
            let row = serde_json::to_string_pretty(&exchange_json(x)).map_err(io::Error::other)?;
            for (i, line) in row.lines().enumerate() {
                if i > 0 {
                    self.out.write_all(b"\n")?;
                }
                self.out.write_all(b"    ")?;
                self.out.write_all(line.as_bytes())?;
            }
        } else {
            self.line.clear();
            write_text_row(x, &mut self.line);
            self.out.write_all(self.line.as_bytes())?;
        }
        self.rows += 1;
        Ok(())
    }

    /// The table's end, flushed; the writer it wrote to.
    pub fn finish(mut self) -> io::Result<W> {
        if self.json {
            self.out.write_all(if self.rows == 0 {
                b"{\n  \"exchanges\": []\n}\n"
            } else {
                b"\n  ]\n}\n"
            })?;
        } else {
            self.text_header()?;
            self.out
                .write_all(http_text_footer(&self.counts).as_bytes())?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One exchange as JSON: an element of the `exchanges` array of `http -T json`.
fn exchange_json(x: &Exchange) -> Json {
    let part = |p: &Option<Part>| {
        p.as_ref().map(|p| {
            json!({
                "frame": p.frame,
                "line": p.msg.first_line(),
                "body_bytes": p.msg.body_len,
                "content_type": p.msg.content_type(),
                "cut_short": p.msg.cut_short,
            })
        })
    };
    json!({
        "stream": x.stream,
        "client": { "address": x.client.ip().to_string(), "port": x.client.port },
        "server": { "address": x.server.ip().to_string(), "port": x.server.port },
        "method": x.request.as_ref().map(|_| x.method()),
        "uri": x.request.as_ref().map(|_| x.uri()),
        "host": x.host(),
        "request": part(&x.request),
        "status": x.status().map(|s| s.0),
        "phrase": x.status().map(|s| s.1),
        "response": part(&x.response),
        "interim": x.interim.iter().map(|(f, c)| json!({"frame": f, "status": c})).collect::<Vec<_>>(),
        "latency_ms": x.latency_ns().map(ms),
    })
}
