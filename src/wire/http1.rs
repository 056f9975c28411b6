//! HTTP/1.x message framing (RFC 9112), incremental: one [`Direction`] per side of a connection
//! is fed the bytes TCP reassembly delivers, in stream order, in whatever pieces they arrive (a
//! request typed by hand over a dozen segments is one message), and yields each message when its
//! last byte arrives. Message ends follow Wireshark 4.0's rules (`req_resp_hdrs.c`, `packet-http.c`)
//! so a message completes on the same frame tshark -2 shows it on:
//!
//! - the head ends at the first empty line (CRLF or bare LF line ends);
//! - `Transfer-Encoding: chunked` wins over `Content-Length`; the last chunk is followed by one line;
//! - a request without either has no body; a response without either runs to the end of the
//!   stream (FIN), except 1xx, 204, 304, responses to HEAD and 2xx responses to CONNECT;
//! - at the end of the stream a message whose head is complete ends, whatever its length said.
//!
//! Pure: no flows, no frames, no output. Every buffer is bounded ([`MAX_HEAD`], [`MAX_LINE`]);
//! bytes that are not HTTP where a message should start are skipped to the next delivered piece,
//! so the parser resynchronises at a segment boundary after a capture that starts mid-body.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// The most bytes a message head (start line and headers) may take before the parser gives up on
/// it. Far above what servers accept (8-64 KiB), small enough for many connections at once.
pub const MAX_HEAD: usize = 64 << 10;
/// The longest chunk-size or trailer line kept.
pub const MAX_LINE: usize = 1024;

/// Request methods recognised at the start of a message (RFC 9110 §9 and WebDAV, as Wireshark's
/// list minus the rarely seen ones).
const METHODS: &[&str] = &[
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
];

/// A piece of a message's text: a byte range into what [`Message::get`] reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of(range: std::ops::Range<usize>) -> Span {
        let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            start: at(range.start),
            end: at(range.end),
        }
    }
}

/// The dissector tshark 4.0 hands a message's body to, chosen by its media type: its name in
/// `frame.protocols`, and (in the packet list) what it adds to the Info column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// Line-based text (`data-text-lines`): HTML, plain text, CSS, JavaScript.
    TextLines,
    Json,
    Xml,
    Png,
    /// `image-jfif`.
    Jpeg,
    /// `image-gif`.
    Gif,
    /// `urlencoded-form`.
    Form,
    /// `mime_multipart`.
    Multipart,
    /// Any other media type: tshark's `media`.
    Media,
    /// No media type, or a 206 response's part of a body: undissected `data`.
    Data,
}

impl Body {
    /// The body's dissector, if the message has a body.
    pub fn of(m: &Message) -> Option<Body> {
        if m.body_len == 0 {
            return None;
        }
        if matches!(m.start, StartLine::Response { code: 206, .. }) {
            return Some(Body::Data);
        }
        Some(m.media.unwrap_or(Body::Data))
    }

    /// The dissector of a Content-Type header's value (parameters after `;` ignored).
    fn of_media_type(value: &[u8]) -> Body {
        let t = value
            .split(|&b| b == b';')
            .next()
            .unwrap_or(value)
            .trim_ascii();
        let is = |name: &[u8]| is_lower_name(t, name);
        let text_lines: [&[u8]; 7] = [
            b"text/html",
            b"text/plain",
            b"text/css",
            b"text/javascript",
            b"text/x-javascript",
            b"application/javascript",
            b"application/x-javascript",
        ];
        if text_lines.iter().any(|n| is(n)) {
            Body::TextLines
        } else if is(b"application/json") {
            Body::Json
        } else if is(b"text/xml") || is(b"application/xml") {
            Body::Xml
        } else if is(b"image/png") {
            Body::Png
        } else if is(b"image/jpeg") {
            Body::Jpeg
        } else if is(b"image/gif") {
            Body::Gif
        } else if is(b"application/x-www-form-urlencoded") {
            Body::Form
        } else if t.get(..10).is_some_and(|p| is_lower_name(p, b"multipart/")) {
            Body::Multipart
        } else {
            Body::Media
        }
    }

    /// The dissector's name in `frame.protocols`.
    pub fn abbrev(self) -> &'static str {
        match self {
            Body::TextLines => "data-text-lines",
            Body::Json => "json",
            Body::Xml => "xml",
            Body::Png => "png",
            Body::Jpeg => "image-jfif",
            Body::Gif => "image-gif",
            Body::Form => "urlencoded-form",
            Body::Multipart => "mime_multipart",
            Body::Media => "media",
            Body::Data => "data",
        }
    }
}

/// The first line of a message; its parts are read with [`Message::get`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartLine {
    Request {
        method: &'static str,
        uri: Span,
        version: Span,
    },
    Response {
        version: Span,
        code: u16,
        phrase: Span,
    },
}

/// One complete message: its start line, the headers wirelite shows, and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub start: StartLine,
    /// The head's text, which the spans below point into: the head itself when it is valid
    /// UTF-8; otherwise the first line, the start line's parts and the values of the headers
    /// below, each read as lossy UTF-8 and appended. Always valid UTF-8, cut at character
    /// boundaries by the spans. Shared by its clones, and unless kept [`KeepText::Own`], with
    /// the texts of the messages parsed just before it on this thread (see [`shared_text`]);
    /// none when parsing for framing only ([`KeepText::No`]).
    text: Option<bytestring::ByteString>,
    first_line: Span,
    host: Option<Span>,
    user_agent: Option<Span>,
    content_type: Option<Span>,
    /// The dissector of the first Content-Type header's media type (kept also when parsing
    /// for framing only, which keeps no text).
    media: Option<Body>,
    /// The Content-Length header's value, when it is a number.
    pub content_length: Option<u64>,
    pub chunked: bool,
    /// Bytes of the head, including the empty line.
    pub head_len: u64,
    /// Bytes of the body (de-chunked: the chunks' data only).
    pub body_len: u64,
    /// The stream ended before the body's stated length.
    pub cut_short: bool,
}

impl Message {
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// A piece of the message's text ("" without text, see [`KeepText::No`]). The
    /// text was checked to be UTF-8 once, when kept; a piece is only checked to end at
    /// characters, which spans do.
    pub fn get(&self, span: Span) -> &str {
        let range = span.start as usize..span.end as usize;
        self.text
            .as_deref()
            .and_then(|t| t.get(range))
            .unwrap_or("")
    }

    /// The first line as sent (without its line end), for summaries.
    pub fn first_line(&self) -> &str {
        self.get(self.first_line)
    }

    /// [`Message::first_line`] in the message's own allocation: a frame that continues the
    /// message shows it, and a copy each was a malloc, a copy and a free on the thread that
    /// sets the wall time, for one segment in nine of the benchmark's.
    pub fn first_line_shared(&self) -> bytestring::ByteString {
        // The line is a piece of the text ([`Message::get`]'s), so it is sliced out of it
        // without checking it again.
        match &self.text {
            Some(t) => t.slice_ref(self.first_line()),
            None => bytestring::ByteString::new(),
        }
    }

    pub fn host(&self) -> Option<&str> {
        self.host.map(|s| self.get(s))
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.map(|s| self.get(s))
    }

    pub fn content_type(&self) -> Option<&str> {
        self.content_type.map(|s| self.get(s))
    }

    /// The Content-Type's media type, without its parameters.
    pub fn media_type(&self) -> Option<&str> {
        let t = self.content_type()?;
        Some(t.split(';').next().unwrap_or(t).trim())
    }

    /// A request's method.
    pub fn method(&self) -> Option<&'static str> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// A request's URI.
    pub fn uri(&self) -> Option<&str> {
        match self.start {
            StartLine::Request { uri, .. } => Some(self.get(uri)),
            StartLine::Response { .. } => None,
        }
    }

    /// The start line's version ("HTTP/1.1").
    pub fn version(&self) -> &str {
        match self.start {
            StartLine::Request { version, .. } | StartLine::Response { version, .. } => {
                self.get(version)
            }
        }
    }

    /// A response's status code and phrase.
    pub fn status(&self) -> Option<(u16, &str)> {
        match self.start {
            StartLine::Response { code, phrase, .. } => Some((code, self.get(phrase))),
            StartLine::Request { .. } => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At a message boundary.
    Idle,
    /// Collecting the head in `buf`; `line_start` is where the current line began.
    Head { line_start: usize },
    /// A body of known length: bytes still to come.
    Fixed(u64),
    /// Chunked body: reading a chunk-size line (in `buf`).
    ChunkSize,
    /// Chunked body: data bytes of the current chunk, then its 2-byte line end.
    ChunkData { data: u64, crlf: u64 },
    /// Chunked body: the line after the last chunk.
    Trailer,
    /// A body that runs to the end of the stream.
    UntilEnd,
    /// Not HTTP here: skip the rest of the piece being fed.
    Lost,
}

/// One direction of a connection.
#[derive(Debug)]
pub struct Direction {
    state: State,
    buf: Vec<u8>,
    /// The start line of the head being read, parsed when its line ended.
    start: Option<StartLine>,
    /// The message whose head is complete and whose body is being read.
    current: Option<Message>,
    /// Pieces skipped because they were not HTTP where a message should start.
    pub skipped: u64,
    /// Heads completed so far: a piece that moves it completed one.
    heads: u64,
    /// What its messages keep of their text.
    pub keep: KeepText,
}

/// What a parser's messages keep of their heads' text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeepText {
    /// Nothing: frame messages only. A message keeps its kind, status code, method, framing
    /// and sizes, but none of its text (URI, versions, phrase, first line, header values stay
    /// empty). For readers that only ask which frames carry HTTP: it saves several allocations
    /// a message.
    No,
    /// The text, in an allocation shared with the texts parsed just before and after it on the
    /// same thread: one allocation for a few dozen messages.
    #[default]
    Shared,
    /// The text, in an allocation of its own: for readers that hold messages long (the `http`
    /// table), where a shared allocation would keep the texts of a few dozen other messages
    /// alive.
    Own,
}

impl KeepText {
    /// A copy of `bytes`, where this says. (`No` never comes here: [`parse_head`] keeps no
    /// text then.)
    fn copy(self, bytes: &[u8]) -> bytes::Bytes {
        match self {
            KeepText::Own => bytes::Bytes::copy_from_slice(bytes),
            KeepText::No | KeepText::Shared => shared_text(bytes),
        }
    }

    /// A copy of `text` as a message's text, where this says.
    fn copy_text(self, text: &str) -> bytestring::ByteString {
        // Checked again: a cut of bytes is not known to be text. Only the texts of long heads
        // and of heads that are not UTF-8 come here, and those keep only their pieces.
        bytestring::ByteString::try_from(self.copy(text.as_bytes()))
            .unwrap_or_else(|_| bytestring::ByteString::from(text))
    }
}

impl Default for Direction {
    fn default() -> Self {
        Direction {
            state: State::Idle,
            buf: Vec::new(),
            start: None,
            current: None,
            skipped: 0,
            heads: 0,
            keep: KeepText::default(),
        }
    }
}

/// Whether a response can carry a body (RFC 9110 §6.4.1), given the conversation's most recent
/// request method.
pub fn response_has_body(code: u16, last_method: Option<&str>) -> bool {
    let connect = matches!(last_method, Some("CONNECT" | "SSTP_DUPLEX_POST"));
    !(last_method == Some("HEAD")
        || (code / 100 == 2 && connect)
        || code / 100 == 1
        || code == 204
        || code == 304)
}

impl Direction {
    /// Feed one delivered piece of the stream. Completed messages are appended to `out`;
    /// `last_method` is the conversation's most recent request method (it decides whether a
    /// response has a body) and is updated as requests complete.
    pub fn feed(
        &mut self,
        piece: &[u8],
        last_method: &mut Option<&'static str>,
        out: &mut Vec<Message>,
    ) {
        if self.state == State::Lost {
            self.state = State::Idle;
        }
        let mut input = piece;
        // Every round consumes input or moves to a state that will (Idle → Head consumes the
        // next round, a completed message returns to Idle only after consuming its last byte).
        while !input.is_empty() {
            match self.state {
                State::Lost => return,
                State::Idle => {
                    // RFC 9112 §2.2: ignore empty lines where a message should start.
                    let skip = input
                        .iter()
                        .take_while(|b| matches!(b, b'\r' | b'\n'))
                        .count();
                    input = input.get(skip..).unwrap_or(&[]);
                    match input.first() {
                        None => return,
                        Some(b) if b.is_ascii_graphic() => {
                            // The common case, a whole head in this piece, is parsed where it
                            // lies; the same bytes one line at a time would give the same.
                            let mut ends = LineEnds::default();
                            if let Some(len) = head_end(input, &mut ends).filter(|&n| n <= MAX_HEAD)
                            {
                                let (head, rest) = input.split_at(len);
                                input = rest;
                                self.buf.clear();
                                let lines = Lines::of(head, ends.found());
                                let line = trim_eol(lines.clone().next().unwrap_or(head));
                                match start_line(line) {
                                    Some(start) => self.head_parsed(lines, start, last_method, out),
                                    None => self.lose(),
                                }
                                continue;
                            }
                            self.buf.clear();
                            self.state = State::Head { line_start: 0 };
                        }
                        Some(_) => self.lose(),
                    }
                }
                State::Head { line_start } => {
                    let (line, rest, complete) = take_line(input);
                    input = rest;
                    if self.buf.len() + line.len() > MAX_HEAD {
                        self.lose();
                        continue;
                    }
                    self.buf.extend_from_slice(line);
                    let first = line_start == 0;
                    if !complete {
                        if first && !plausible_start(&self.buf) {
                            self.lose();
                        }
                        continue;
                    }
                    let text = trim_eol(self.buf.get(line_start..).unwrap_or(&[]));
                    if first {
                        let Some(start) = start_line(text) else {
                            self.lose();
                            continue;
                        };
                        self.start = Some(start);
                    } else if text.is_empty() {
                        self.head_done(last_method, out);
                        continue;
                    }
                    self.state = State::Head {
                        line_start: self.buf.len(),
                    };
                }
                State::Fixed(left) => {
                    let n = left.min(input.len() as u64);
                    input = input.get(n as usize..).unwrap_or(&[]);
                    self.add_body(n);
                    if n == left {
                        self.complete(out);
                    } else {
                        self.state = State::Fixed(left - n);
                    }
                }
                State::ChunkData { data, crlf } => {
                    let n = (data + crlf).min(input.len() as u64);
                    input = input.get(n as usize..).unwrap_or(&[]);
                    let d = n.min(data);
                    self.add_body(d);
                    let (data, crlf) = (data - d, crlf - (n - d));
                    self.state = if data + crlf == 0 {
                        self.buf.clear();
                        State::ChunkSize
                    } else {
                        State::ChunkData { data, crlf }
                    };
                }
                State::ChunkSize | State::Trailer => {
                    let (line, rest, complete) = take_line(input);
                    input = rest;
                    if self.buf.len() + line.len() > MAX_LINE {
                        // Not a chunk-size line: Wireshark stops reading the body here.
                        self.complete(out);
                        continue;
                    }
                    self.buf.extend_from_slice(line);
                    if !complete {
                        continue;
                    }
                    if self.state == State::Trailer {
                        self.complete(out);
                        continue;
                    }
                    match chunk_size(trim_eol(&self.buf)) {
                        Some(0) => {
                            self.buf.clear();
                            self.state = State::Trailer;
                        }
                        Some(size) => {
                            self.state = State::ChunkData {
                                data: size,
                                crlf: 2,
                            }
                        }
                        None => self.complete(out),
                    }
                }
                State::UntilEnd => {
                    self.add_body(input.len() as u64);
                    input = &[];
                }
            }
        }
    }

    /// The stream ended (FIN): a message whose head is complete ends here.
    pub fn end(&mut self, out: &mut Vec<Message>) {
        match self.state {
            State::Fixed(_) | State::ChunkSize | State::ChunkData { .. } | State::Trailer => {
                if let Some(m) = &mut self.current {
                    m.cut_short = true;
                }
                self.complete(out);
            }
            State::UntilEnd => self.complete(out),
            State::Head { .. } | State::Idle | State::Lost => {
                self.buf.clear();
                self.state = State::Idle;
            }
        }
    }

    /// Heads completed so far.
    pub fn heads(&self) -> u64 {
        self.heads
    }

    /// A message is under way: its head or its body has begun and it is not complete.
    pub fn in_message(&self) -> bool {
        !matches!(self.state, State::Idle | State::Lost)
    }

    /// The message under way whose head is complete (its body is being read).
    pub fn current(&self) -> Option<&Message> {
        self.current.as_ref().filter(|_| self.in_message())
    }

    /// The first line of a head still being read, once that line is complete.
    pub fn first_line_read(&self) -> Option<&[u8]> {
        match self.state {
            State::Head { line_start } if line_start > 0 && self.start.is_some() => {
                let end = memchr::memchr(b'\n', &self.buf).unwrap_or(self.buf.len());
                Some(trim_eol(self.buf.get(..end).unwrap_or(&self.buf)))
            }
            _ => None,
        }
    }

    /// Bytes held for a head or chunk line not yet complete.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes were lost before the capture saw them: the message in progress cannot be framed.
    pub fn gap(&mut self) {
        self.start = None;
        self.current = None;
        self.buf.clear();
        self.state = State::Idle;
        self.skipped += 1;
    }

    fn lose(&mut self) {
        self.start = None;
        self.buf.clear();
        self.current = None;
        self.state = State::Lost;
        self.skipped += 1;
    }

    fn add_body(&mut self, n: u64) {
        if let Some(m) = &mut self.current {
            m.body_len += n;
        }
    }

    fn complete(&mut self, out: &mut Vec<Message>) {
        self.buf.clear();
        self.state = State::Idle;
        if let Some(m) = self.current.take() {
            out.push(m);
        }
    }

    /// The head in `buf` is complete: parse it and decide how the body is framed.
    fn head_done(&mut self, last_method: &mut Option<&'static str>, out: &mut Vec<Message>) {
        let Some(start) = self.start.take() else {
            self.lose();
            return;
        };
        let mut head = std::mem::take(&mut self.buf);
        self.head_parsed(Lines::of(&head, &[]), start, last_method, out);
        // The buffer's allocation serves the next head.
        head.clear();
        self.buf = head;
    }

    /// A complete head (its start line already parsed): make its message and decide how the
    /// body is framed.
    fn head_parsed(
        &mut self,
        lines: Lines<'_>,
        start: StartLine,
        last_method: &mut Option<&'static str>,
        out: &mut Vec<Message>,
    ) {
        self.heads += 1;
        let (msg, framing_length) = parse_head(lines, start, self.keep);
        let has_body = match msg.start {
            StartLine::Request { method, .. } => {
                *last_method = Some(method);
                true
            }
            StartLine::Response { code, .. } => response_has_body(code, *last_method),
        };
        let chunked = msg.chunked;
        let is_request = msg.is_request();
        self.current = Some(msg);
        self.state = match (has_body, chunked, framing_length) {
            (false, _, _) => State::Idle,
            (true, true, _) => State::ChunkSize,
            (true, false, Some(0)) => State::Idle,
            (true, false, Some(n)) => State::Fixed(n),
            (true, false, None) if is_request => State::Idle,
            (true, false, None) => State::UntilEnd,
        };
        if self.state == State::Idle {
            self.complete(out);
        }
    }
}

/// Where the head that starts `input` ends (just past its empty line), if it ends in `input`.
/// The line feeds it passes are noted in `ends`, so that the head's lines need not be sought
/// again (see [`Lines`]).
fn head_end(input: &[u8], ends: &mut LineEnds) -> Option<usize> {
    memchr::memchr_iter(b'\n', input).find_map(|i| {
        ends.note(i);
        let end = match input.get(i + 1..) {
            Some([b'\n', ..]) => i + 2,
            Some([b'\r', b'\n', ..]) => i + 3,
            _ => return None,
        };
        ends.note(end - 1);
        Some(end)
    })
}

/// How many line feeds of a head [`LineEnds`] notes: as many lines as most heads have. More
/// room costs more to clear than it saves on the longer heads.
const NOTED_ENDS: usize = 16;

/// The offsets of the first line feeds of some bytes, in order (at most [`NOTED_ENDS`]).
#[derive(Default)]
struct LineEnds {
    at: [usize; NOTED_ENDS],
    n: usize,
}

impl LineEnds {
    /// The next line feed, at `i`, after every one noted so far; past the room, none is noted,
    /// so those noted are always the first ones.
    fn note(&mut self, i: usize) {
        if let Some(slot) = self.at.get_mut(self.n) {
            *slot = i;
            self.n += 1;
        }
    }

    fn found(&self) -> &[usize] {
        self.at.get(..self.n).unwrap_or(&[])
    }
}

/// The pieces of a head between line feeds, as `head.split(|&b| b == b'\n')` gives them (the
/// piece after the last one included). The first line feeds may be known already (`ends`, from
/// [`head_end`]); the others are found with memchr. A head is read for every message.
#[derive(Clone)]
struct Lines<'h> {
    head: &'h [u8],
    /// Offsets of line feeds of `head` not passed yet: the next ones in order, or none.
    ends: &'h [usize],
    /// Where the next piece starts; None once the last piece is given.
    at: Option<usize>,
}

impl<'h> Lines<'h> {
    /// `ends`: the offsets of `head`'s first line feeds, in order (or none).
    fn of(head: &'h [u8], ends: &'h [usize]) -> Lines<'h> {
        Lines {
            head,
            ends,
            at: Some(0),
        }
    }
}

impl<'h> Iterator for Lines<'h> {
    type Item = &'h [u8];

    fn next(&mut self) -> Option<&'h [u8]> {
        let start = self.at?;
        let end = match self.ends.split_first() {
            Some((&end, rest)) => {
                self.ends = rest;
                Some(end)
            }
            None => memchr::memchr(b'\n', self.head.get(start..)?).map(|i| start + i),
        };
        match end {
            Some(end) => {
                self.at = Some(end + 1);
                self.head.get(start..end)
            }
            None => {
                self.at = None;
                self.head.get(start..)
            }
        }
    }
}

/// Split off the input up to and including the first LF: (line part, rest, whether it ended).
fn take_line(input: &[u8]) -> (&[u8], &[u8], bool) {
    match memchr::memchr(b'\n', input) {
        Some(i) => {
            let (line, rest) = input.split_at(i + 1);
            (line, rest, true)
        }
        None => (input, &[], false),
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Could these bytes (no line end yet) still become a request or status line?
fn plausible_start(buf: &[u8]) -> bool {
    const STATUS: &[u8] = b"HTTP/";
    let prefix_of = |word: &[u8]| {
        let n = buf.len().min(word.len());
        buf.get(..n) == word.get(..n)
    };
    if prefix_of(STATUS) {
        return true;
    }
    METHODS.iter().map(|m| m.as_bytes()).any(|m| {
        let n = buf.len().min(m.len());
        buf.get(..n) == m.get(..n) && buf.get(n).is_none_or(|&b| n == m.len() && b == b' ')
    })
}

/// The start line's parts: a request (known method, a space) or a status line (`HTTP/`). The
/// spans are byte ranges of `line`, which starts its head; [`parse_head`] turns them into spans
/// of the message's text.
fn start_line(line: &[u8]) -> Option<StartLine> {
    // The first three space-separated parts, each with where it lies in the line.
    let mut parts = line
        .splitn(3, |&b| b == b' ')
        .scan(0, |at: &mut usize, part| {
            let span = Span::of(*at..*at + part.len());
            *at += part.len() + 1;
            Some((part, span))
        });
    let (first, first_at) = parts.next()?;
    if first.starts_with(b"HTTP/") {
        let (code, _) = parts.next()?;
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let code = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        return Some(StartLine::Response {
            version: first_at,
            code,
            phrase: parts.next().map_or(Span::default(), |p| p.1),
        });
    }
    let method = *METHODS.iter().find(|m| m.as_bytes() == first)?;
    let (_, uri) = parts.next()?;
    Some(StartLine::Request {
        method,
        uri,
        version: parts.next().map_or(Span::default(), |p| p.1),
    })
}

/// The message a complete head (with its start line, already parsed) describes, and the body
/// length that frames it: the first Content-Length read as Wireshark reads it (a 32-bit signed
/// number; negative or unreadable means none). Unless `keep` is [`KeepText::No`], the message
/// keeps the text wirelite shows; with it, only its framing.
fn parse_head(mut lines: Lines<'_>, start: StartLine, keep: KeepText) -> (Message, Option<u64>) {
    let head = lines.head;
    let first = trim_eol(lines.next().unwrap_or(&[]));
    let mut framing = Framing::default();
    let mut m = Message {
        start,
        text: None,
        first_line: Span::default(),
        host: None,
        user_agent: None,
        content_type: None,
        media: None,
        content_length: None,
        chunked: false,
        head_len: head.len() as u64,
        body_len: 0,
        cut_short: false,
    };
    if keep == KeepText::No {
        // Framing only: the start line's spans point at nothing.
        m.start = match start {
            StartLine::Request { method, .. } => StartLine::Request {
                method,
                uri: Span::default(),
                version: Span::default(),
            },
            StartLine::Response { code, .. } => StartLine::Response {
                version: Span::default(),
                code,
                phrase: Span::default(),
            },
        };
        let [.., content_type] = SHOWN_HEADERS;
        for line in lines
            .filter(|l| may_name_one_of(l, &FRAMING_HEADERS) || may_name_one_of(l, &[content_type]))
        {
            header(trim_eol(line), &mut m, &mut framing, |m, (name, v)| {
                if m.media.is_none() && is_lower_name(name, content_type) {
                    m.media = Some(Body::of_media_type(v));
                }
            });
        }
        return (m, framing.length);
    }
    // A head is nearly always valid UTF-8 (ASCII, mostly). Then it is the message's text as it
    // is, copied once and checked once, and its pieces are where they lie in it: nothing is
    // assembled, and nothing is checked again when they are read. A long head keeps only its
    // pieces, so that a message held for its table row (see `limits::TABLE_ROW_BYTES`) does not
    // hold kilobytes of cookies it never shows. (A short head that is not UTF-8 leaves its copy
    // unused: it is freed with its allocation.)
    if head.len() <= WHOLE_HEAD_KEPT
        && let Ok(whole) = bytestring::ByteString::try_from(keep.copy(head))
    {
        let length = keep_head_text(first, start, lines, &mut m, &mut framing, |piece| {
            piece_of(head, piece)
        });
        m.text = Some(whole);
        return (m, length);
    }
    // Otherwise each piece is read as lossy UTF-8 on its own, and appended to the text.
    TEXT.with_borrow_mut(|text| {
        text.clear();
        let length = keep_head_text(first, start, lines, &mut m, &mut framing, |piece| {
            let at = text.len();
            text.push_str(&String::from_utf8_lossy(piece));
            Span::of(at..text.len())
        });
        m.text = Some(keep.copy_text(text));
        if text.capacity() > TEXT_KEPT {
            *text = String::new();
        }
        (m, length)
    })
}

/// Where `piece`, a slice of `head`, lies in it. (Every piece [`keep_head_text`] keeps is one:
/// the first line, the start line's parts and header values are all cut from the head.)
fn piece_of(head: &[u8], piece: &[u8]) -> Span {
    let offset = piece.as_ptr().addr().wrapping_sub(head.as_ptr().addr());
    match offset.checked_add(piece.len()) {
        Some(end) if end <= head.len() => Span::of(offset..end),
        _ => Span::default(),
    }
}

thread_local! {
    /// Where [`parse_head`] assembles the text of a head that is not valid UTF-8, before copying
    /// it once into the message's shared allocation. One buffer a thread, not a connection,
    /// which would make every HTTP connection hold its largest head's text.
    static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

thread_local! {
    /// The allocation the next messages' texts are copied into (see [`shared_text`]).
    static TEXT_CHUNKS: std::cell::RefCell<bytes::BytesMut> =
        std::cell::RefCell::new(bytes::BytesMut::new());
}

/// Bytes of one allocation that [`shared_text`] cuts texts from: a few dozen typical heads.
const TEXT_CHUNK: usize = 8 << 10;

/// A copy of `text` that shares its allocation with the texts copied before it on this thread,
/// until [`TEXT_CHUNK`] bytes are used (a text longer than that has one of its own). Messages
/// are made and dropped by the hundred thousand: one allocation each, of a different size
/// each, was a fifth of the ordered stage's time in the packet list (malloc, free and the
/// reference count), which this cuts to one allocation for a few dozen messages. The chunk
/// is freed when the last message cut from it is dropped.
fn shared_text(text: &[u8]) -> bytes::Bytes {
    TEXT_CHUNKS.with_borrow_mut(|chunk| {
        if chunk.capacity() - chunk.len() < text.len() {
            *chunk = bytes::BytesMut::with_capacity(TEXT_CHUNK.max(text.len()));
        }
        chunk.extend_from_slice(text);
        chunk.split().freeze()
    })
}

/// The most capacity [`TEXT`] keeps between heads; a larger head's buffer is given back.
const TEXT_KEPT: usize = 16 << 10;

/// The longest head kept whole as its message's text (see [`parse_head`]); typical heads are a
/// few hundred bytes.
const WHOLE_HEAD_KEPT: usize = 1 << 10;

/// [`parse_head`]'s text: the first line, the start line's parts and the shown headers' values,
/// each handed to `keep`, which gives its span in the message's text; `m`'s spans are set to
/// those. Returns the body length that frames it.
fn keep_head_text(
    first: &[u8],
    start: StartLine,
    lines: Lines<'_>,
    m: &mut Message,
    framing: &mut Framing,
    mut keep: impl FnMut(&[u8]) -> Span,
) -> Option<u64> {
    let head = lines.head;
    let raw = |span: Span| {
        head.get(span.start as usize..span.end as usize)
            .unwrap_or(&[])
    };
    m.first_line = keep(first);
    m.start = match start {
        StartLine::Request {
            method,
            uri,
            version,
        } => StartLine::Request {
            method,
            uri: keep(raw(uri)),
            version: keep(raw(version)),
        },
        StartLine::Response {
            version,
            code,
            phrase,
        } => StartLine::Response {
            version: keep(raw(version)),
            code,
            phrase: keep(raw(phrase)),
        },
    };
    for line in
        lines.filter(|l| may_name_one_of(l, &FRAMING_HEADERS) || may_name_one_of(l, &SHOWN_HEADERS))
    {
        header(trim_eol(line), m, framing, |m, (name, v)| {
            let is = |n: &[u8]| is_lower_name(name, n);
            let [host, user_agent, content_type] = SHOWN_HEADERS;
            let slot = if is(host) {
                &mut m.host
            } else if is(user_agent) {
                &mut m.user_agent
            } else if is(content_type) {
                &mut m.content_type
            } else {
                return;
            };
            if slot.is_none() {
                *slot = Some(keep(v));
                if is(content_type) {
                    m.media = Some(Body::of_media_type(v));
                }
            }
        });
    }
    framing.length
}

/// What frames a body, as the header lines are read.
#[derive(Default)]
struct Framing {
    /// The first Content-Length, read as Wireshark reads it.
    length: Option<u64>,
    length_seen: bool,
}

/// The headers that frame a body, read on every message (see [`header`]).
const FRAMING_HEADERS: [&[u8]; 2] = [b"transfer-encoding", b"content-length"];
/// The headers whose values a message keeps as text: host, user agent, content type.
const SHOWN_HEADERS: [&[u8]; 3] = [b"host", b"user-agent", b"content-type"];

/// Whether `bytes` are `lower` but for the case of their letters, as `eq_ignore_ascii_case`
/// tells, where `lower` is ASCII without capitals (a header name, a media type). Eight bytes
/// are compared at a time: a letter of `lower` matches either case of itself (the byte with
/// 0x20 set), any other byte only itself. Header names are compared on every message, and
/// byte by byte, lowering both sides, they were a fifth of the head parser's work.
fn is_lower_name(bytes: &[u8], lower: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let n = lower.len();
    if bytes.len() != n {
        return false;
    }
    if n < 8 {
        return bytes
            .iter()
            .zip(lower)
            .all(|(&b, &l)| b | (u8::from(l.is_ascii_lowercase()) << 5) == l);
    }
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    };
    // Words at 0, 8, ... and one ending at the end (overlapping the one before, if need be).
    (0..n - 8).step_by(8).chain([n - 8]).all(|at| {
        let l = word(lower, at);
        // A byte below 0x80 plus 0x1f reaches 0x80 from `a` up; plus 0x05, from past `z`. No
        // sum carries into the next byte, so the high bits mark the lowercase letters.
        let letters = (l.wrapping_add(0x1f * ONES) & !l.wrapping_add(0x05 * ONES) & HIGH) >> 2;
        word(bytes, at) | letters == l
    })
}

/// Whether a header line's name can be one of `names`: names are matched whole and without
/// case, so a line whose first letter starts none of them is skipped before its colon is sought.
fn may_name_one_of(line: &[u8], names: &[&[u8]]) -> bool {
    line.first().is_some_and(|b| {
        let b = b.to_ascii_lowercase();
        names.iter().any(|n| n.first() == Some(&b))
    })
}

/// One header line: the framing headers update `m` and `framing` (the first Content-Length line
/// counts, even when it is not a number; every Transfer-Encoding line is looked at for
/// "chunked", as Wireshark does); any other header goes to `other` as (name, value). The first
/// of each header counts, as Wireshark's do.
fn header(
    line: &[u8],
    m: &mut Message,
    framing: &mut Framing,
    mut other: impl FnMut(&mut Message, (&[u8], &[u8])),
) {
    let Some(colon) = memchr::memchr(b':', line) else {
        return;
    };
    let (name, v) = line.split_at(colon);
    let v = v.get(1..).unwrap_or(&[]);
    let v = v
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .and_then(|s| v.get(s..))
        .unwrap_or(&[]);
    let [transfer_encoding, content_length] = FRAMING_HEADERS;
    if is_lower_name(name, transfer_encoding) {
        m.chunked |= v.get(..7).is_some_and(|p| is_lower_name(p, b"chunked"));
    } else if is_lower_name(name, content_length) {
        if !framing.length_seen {
            framing.length_seen = true;
            (m.content_length, framing.length) = read_content_length(v.trim_ascii());
        }
    } else {
        other(m, (name, v));
    }
}

/// A Content-Length value read two ways in one pass: as a number (`str::parse::<u64>`: an
/// optional `+`, then digits), and as Wireshark frames a body by it (`str::parse::<i32>`, which
/// takes a `-` too, and none if negative). Every message with a body has one: parsing it twice,
/// after checking it as UTF-8, was a fiftieth of the ordered stage's work in `stats`.
fn read_content_length(text: &[u8]) -> (Option<u64>, Option<u64>) {
    let (negative, digits) = match text {
        [b'+', rest @ ..] => (false, rest),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return (None, None);
    }
    let value = digits.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    let Some(n) = value else {
        return (None, None); // past u64, so past i32 too
    };
    let framing = match negative {
        // -0 is 0 to `parse::<i32>`; anything below is no length.
        true => (n == 0).then_some(0),
        false => (n <= i32::MAX as u64).then_some(n),
    };
    ((!negative).then_some(n), framing)
}

/// A chunk-size line's size (hex, extensions after `;` ignored), as `sscanf("%x")` reads it.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or(&[])
        .trim_ascii();
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let hex = std::str::from_utf8(line.get(..digits)?).ok()?;
    if hex.is_empty() {
        return None;
    }
    // Wireshark gives up on chunks over 2^31 bytes; so does wirelite.
    u64::from_str_radix(hex.get(hex.len().saturating_sub(16)..)?, 16)
        .ok()
        .filter(|&n| n <= 1 << 31)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn content_length_reads_as_the_two_parses_it_replaces() {
        let parses = |t: &str| {
            (
                t.parse::<u64>().ok(),
                t.parse::<i32>().ok().and_then(|n| u64::try_from(n).ok()),
            )
        };
        let mut texts: Vec<String> = [
            "",
            "+",
            "-",
            "0",
            "-0",
            "+0",
            "5",
            "+5",
            "-5",
            "007",
            "12a",
            "a12",
            "1 2",
            "++1",
            "+-1",
            "-+1",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
            "-18446744073709551616",
            "\u{e9}1",
            "1\u{e9}",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        // Every string of up to three characters from these.
        let alphabet = ["", "+", "-", "0", "1", "9", "x", " "];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    texts.push(format!("{a}{b}{c}"));
                }
            }
        }
        for t in &texts {
            assert_eq!(super::read_content_length(t.as_bytes()), parses(t), "{t:?}");
        }
        // Not UTF-8: neither parse would read it.
        assert_eq!(super::read_content_length(b"1\xff"), (None, None));
    }

    #[test]
    fn names_match_as_eq_ignore_ascii_case_matches_them() {
        let names: [&[u8]; 9] = [
            b"host",
            b"user-agent",
            b"content-type",
            b"content-length",
            b"transfer-encoding",
            b"chunked",
            b"text/plain",
            b"application/x-www-form-urlencoded",
            b"",
        ];
        // Each name, and every byte of it changed to each of a few bytes that a word-wide
        // compare could confuse with it: the other case, 0x20 apart, past the ASCII range.
        for lower in names {
            assert!(is_lower_name(lower, lower));
            assert!(is_lower_name(&lower.to_ascii_uppercase(), lower));
            assert!(!is_lower_name(lower.get(1..).unwrap_or(&[]), lower) || lower.is_empty());
            for i in 0..lower.len() {
                for delta in [0x20u8, 0x01, 0x80, 0xa0, 0xe0] {
                    let mut bytes = lower.to_vec();
                    bytes[i] ^= delta;
                    assert_eq!(
                        is_lower_name(&bytes, lower),
                        bytes.eq_ignore_ascii_case(lower),
                        "{:?} against {:?}",
                        String::from_utf8_lossy(&bytes),
                        String::from_utf8_lossy(lower)
                    );
                }
            }
        }
        // Non-letters match only themselves: a carriage return is not a dash, though the two
        // differ only in bit 0x20.
        assert!(!is_lower_name(b"content\rlength", b"content-length"));
        assert!(!is_lower_name(b"Content_Length", b"content-length"));
        assert!(is_lower_name(b"CoNtEnT-lEnGtH", b"content-length"));
    }

    /// Feed `pieces` to one direction; the messages completed after each piece.
    fn run(pieces: &[&[u8]], last_method: Option<&'static str>) -> Vec<Vec<Message>> {
        let mut d = Direction::default();
        let mut method = last_method;
        pieces
            .iter()
            .map(|p| {
                let mut out = Vec::new();
                d.feed(p, &mut method, &mut out);
                out
            })
            .collect()
    }

    /// A head that lies whole in one piece is parsed in place; cut anywhere, it is parsed line
    /// by line. Both give the same messages, for every two-piece cut and byte by byte.
    #[test]
    fn where_a_stream_is_cut_does_not_change_its_messages() {
        let streams: &[(&[u8], Option<&'static str>)] = &[
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: x\r\n\r\nPOST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\r\nHEAD /h HTTP/1.0\n\n",
                None,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: t\r\n\r\n4;x=1\r\nWiki\r\n0\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok",
                Some("GET"),
            ),
        ];
        for &(stream, method) in streams {
            let whole: Vec<Message> = run(&[stream], method).concat();
            assert!(whole.len() >= 3, "{whole:?}");
            for cut in 0..=stream.len() {
                let (a, b) = stream.split_at(cut);
                assert_eq!(run(&[a, b], method).concat(), whole, "cut at {cut}");
            }
            let bytes: Vec<&[u8]> = stream.chunks(1).collect();
            assert_eq!(run(&bytes, method).concat(), whole, "byte by byte");
        }
    }

    /// Framing only, the same stream gives the same messages on the same pieces, with no text.
    #[test]
    fn framing_only_frames_the_same_messages_without_their_text() {
        let stream: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD /x HTTP/1.1\r\n\r\nPOST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        let answers: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: t\r\n\r\nokHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n";
        for (bytes, method) in [(stream, None), (answers, Some("GET"))] {
            for cut in [1, 7, bytes.len()] {
                let pieces: Vec<&[u8]> = bytes.chunks(cut).collect();
                let full = run(&pieces, method).concat();
                let mut d = Direction {
                    keep: KeepText::No,
                    ..Direction::default()
                };
                let mut last = method;
                let mut lean = Vec::new();
                for p in &pieces {
                    d.feed(p, &mut last, &mut lean);
                }
                assert_eq!(lean.len(), full.len(), "cut {cut}");
                assert!(lean.len() >= 3);
                for (l, f) in lean.iter().zip(&full) {
                    let kind = |m: &Message| (m.method(), m.status().map(|s| s.0));
                    assert_eq!(kind(l), kind(f));
                    assert_eq!(
                        (
                            l.head_len,
                            l.body_len,
                            l.chunked,
                            l.content_length,
                            l.cut_short
                        ),
                        (
                            f.head_len,
                            f.body_len,
                            f.chunked,
                            f.content_length,
                            f.cut_short
                        )
                    );
                    assert!(
                        l.first_line().is_empty()
                            && l.host().is_none()
                            && l.content_type().is_none()
                            && l.version().is_empty()
                    );
                    assert!(!f.first_line().is_empty() && !f.version().is_empty());
                }
            }
        }
    }

    #[test]
    fn a_request_typed_slowly_completes_on_its_empty_line() {
        let pieces: &[&[u8]] = &[
            b"GET /hel",
            b"lo?name=student HT",
            b"TP/1.1\r\nHost: 10.0.1.10\r",
            b"\n",
            b"\r\n",
        ];
        let out = run(pieces, None);
        assert!(out[..4].iter().all(Vec::is_empty));
        let m = &out[4][0];
        assert_eq!(
            (m.method(), m.uri(), m.version()),
            (Some("GET"), Some("/hello?name=student"), "HTTP/1.1")
        );
        assert_eq!(m.first_line(), "GET /hello?name=student HTTP/1.1");
        assert_eq!(m.host(), Some("10.0.1.10"));
        assert_eq!(m.body_len, 0);
    }

    #[test]
    fn content_length_and_pipelined_messages_in_one_piece() {
        let out = run(
            &[b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nokHTTP/1.1 404 Not Found\r\ncontent-length:0\r\n\r\n"],
            Some("GET"),
        );
        assert_eq!(out[0].len(), 2);
        assert_eq!(out[0][0].body_len, 2);
        assert_eq!(out[0][0].content_type(), Some("text/plain"));
        assert_eq!(out[0][1].status(), Some((404, "Not Found")));
        assert_eq!(out[0][1].version(), "HTTP/1.1");
        assert_eq!(out[0][1].method(), None);
    }

    /// Each piece of text is read as lossy UTF-8 on its own: an invalid byte becomes U+FFFD in
    /// the URI and in the first line alike, and a header value's in its own.
    #[test]
    fn text_that_is_not_utf8_is_kept_lossily_piece_by_piece() {
        let out = run(
            &[b"GET /caf\xe9 HTTP/1.1\r\nHost: \xff\r\nUser-Agent: ok\r\n\r\n"],
            None,
        );
        let m = &out[0][0];
        assert_eq!(m.uri(), Some("/caf\u{fffd}"));
        assert_eq!(m.first_line(), "GET /caf\u{fffd} HTTP/1.1");
        assert_eq!(m.host(), Some("\u{fffd}"));
        assert_eq!(m.user_agent(), Some("ok"));
        assert_eq!(m.status(), None);
    }

    #[test]
    fn text_that_is_utf8_is_kept_as_it_is_sent() {
        // Valid as a whole: every piece is taken from the head as it is, characters whole.
        let head = "GET /café?q=日本 HTTP/1.1\r\nHost: bücher.example\r\nUser-Agent: ☃ 1.0\r\n\
                    Content-Type: text/plain; charset=utf-8\r\n\r\n";
        for pieces in [vec![head.as_bytes()], head.as_bytes().chunks(3).collect()] {
            let out: Vec<Message> = run(&pieces, None).concat();
            let m = &out[0];
            assert_eq!(m.first_line(), "GET /café?q=日本 HTTP/1.1");
            assert_eq!(m.uri(), Some("/café?q=日本"));
            assert_eq!(m.version(), "HTTP/1.1");
            assert_eq!(m.host(), Some("bücher.example"));
            assert_eq!(m.user_agent(), Some("☃ 1.0"));
            assert_eq!(m.media_type(), Some("text/plain"));
        }
    }

    /// A head past `WHOLE_HEAD_KEPT` keeps its pieces only, and reads as the same message.
    #[test]
    fn a_long_head_keeps_only_its_pieces() {
        let short = "GET /café HTTP/1.1\r\nHost: a.example\r\nUser-Agent: ☃\r\n\
                     Content-Type: text/plain\r\n\r\n";
        let cookie = format!("Cookie: {}\r\n", "c".repeat(WHOLE_HEAD_KEPT));
        let long = short.replacen("\r\n\r\n", &format!("\r\n{cookie}\r\n"), 1);
        let [s, l] = [short, &long].map(|h| run(&[h.as_bytes()], None).concat().remove(0));
        for m in [&s, &l] {
            assert_eq!(m.first_line(), "GET /café HTTP/1.1");
            assert_eq!(m.uri(), Some("/café"));
            assert_eq!(m.version(), "HTTP/1.1");
            assert_eq!(m.host(), Some("a.example"));
            assert_eq!(m.user_agent(), Some("☃"));
            assert_eq!(m.media_type(), Some("text/plain"));
        }
        let text = |m: &Message| m.text.as_ref().map_or(0, |t| t.len());
        assert_eq!(text(&s), short.len());
        assert!(text(&l) < 64, "{} bytes of text kept", text(&l));
        assert_eq!(l.head_len, long.len() as u64);
    }

    /// Texts cut from shared allocations stay each their own, across as many allocations as
    /// it takes, while all are alive; kept [`KeepText::Own`], each has an allocation of its own.
    #[test]
    fn shared_texts_stay_apart_and_own_texts_are_apart() {
        let heads: Vec<String> = (0..2 * TEXT_CHUNK / 40)
            .map(|i| format!("GET /{i} HTTP/1.1\r\nHost: h{i}\r\n\r\n"))
            .collect();
        for own in [false, true] {
            let mut d = Direction {
                keep: if own { KeepText::Own } else { KeepText::Shared },
                ..Direction::default()
            };
            let mut out = Vec::new();
            for h in &heads {
                d.feed(h.as_bytes(), &mut None, &mut out);
            }
            assert_eq!(out.len(), heads.len());
            for (i, m) in out.iter().enumerate() {
                assert_eq!(m.first_line(), format!("GET /{i} HTTP/1.1"));
                assert_eq!(m.host(), Some(format!("h{i}").as_str()));
            }
            // Shared texts lie one after the other in their allocations; own texts never do.
            let at = |m: &Message| {
                m.text
                    .as_ref()
                    .map_or((0, 0), |t| (t.as_ptr().addr(), t.len()))
            };
            let adjacent = out
                .windows(2)
                .filter(|w| at(&w[0]).0 + at(&w[0]).1 == at(&w[1]).0)
                .count();
            if own {
                assert_eq!(adjacent, 0);
            } else {
                // All but where one allocation ends and the next begins: an allocation holds
                // at least half its size of texts this short.
                let bytes: usize = out.iter().map(|m| at(m).1).sum();
                let allocations = bytes / (TEXT_CHUNK / 2) + 1;
                assert!(
                    out.len() - 1 - adjacent < allocations,
                    "{adjacent} adjacent"
                );
            }
        }
    }

    #[test]
    fn chunked_body_across_pieces_with_extensions() {
        let pieces: &[&[u8]] = &[
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhel",
            b"lo\r\n3\r\nabc\r\n0\r\n",
            b"\r\n",
        ];
        let out = run(pieces, Some("GET"));
        assert!(out[0].is_empty() && out[1].is_empty());
        assert_eq!(out[2][0].body_len, 8);
        assert!(out[2][0].chunked);
    }

    #[test]
    fn a_response_without_length_runs_to_the_end_of_the_stream() {
        let mut d = Direction::default();
        let mut method = Some("GET");
        let mut out = Vec::new();
        d.feed(b"HTTP/1.0 200 OK\r\n\r\nhello ", &mut method, &mut out);
        d.feed(b"world", &mut method, &mut out);
        assert!(out.is_empty());
        d.end(&mut out);
        assert_eq!(out[0].body_len, 11);
        assert!(!out[0].cut_short);
    }

    #[test]
    fn responses_that_never_have_a_body() {
        for (code, method) in [(304, "GET"), (204, "GET"), (100, "POST"), (200, "HEAD")] {
            let head = format!("HTTP/1.1 {code} X\r\nContent-Length: 10\r\n\r\n");
            let out = run(&[head.as_bytes()], Some(method));
            assert_eq!(out[0].len(), 1, "{code} {method}");
        }
        // A request without a length has no body.
        assert_eq!(run(&[b"POST / HTTP/1.1\r\n\r\n"], None)[0].len(), 1);
    }

    #[test]
    fn not_http_is_skipped_to_the_next_piece() {
        let mut d = Direction::default();
        let mut m = None;
        let mut out = Vec::new();
        d.feed(b"SSH-2.0-OpenSSH_9.2\r\n", &mut m, &mut out);
        d.feed(b"\x00\x00\x01\x0cGET / HTTP/1.1\r\n\r\n", &mut m, &mut out);
        assert!(out.is_empty());
        d.feed(b"GET / HTTP/1.1\r\n\r\n", &mut m, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(d.skipped, 2);
    }

    #[test]
    fn an_endless_head_is_given_up_within_the_bound() {
        let mut d = Direction::default();
        let mut m = None;
        let mut out = Vec::new();
        d.feed(b"GET / HTTP/1.1\r\n", &mut m, &mut out);
        let line = vec![b'a'; 4096];
        for _ in 0..100 {
            d.feed(&line, &mut m, &mut out);
            assert!(d.buf.len() <= MAX_HEAD);
        }
        assert!(out.is_empty());
    }

    #[test]
    fn lines_are_split_as_slice_split_does() {
        let long: Vec<u8> = (0..NOTED_ENDS + 5)
            .flat_map(|i| format!("X-{i}: v\r\n").into_bytes())
            .chain(*b"\r\nbody")
            .collect();
        let heads: [&[u8]; 8] = [
            b"",
            b"\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"no line feed",
            b"a\n\nb\n",
            b"\n\nx",
            b"HTTP/1.0 200 OK\nContent-Length: 3\n\n",
            &long,
        ];
        for head in heads {
            let slow: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
            let shown = String::from_utf8_lossy(head);
            // With the first k line feeds known, for every k: none, some, all of them.
            let all: Vec<usize> = memchr::memchr_iter(b'\n', head).collect();
            for k in 0..=all.len() {
                let fast: Vec<&[u8]> = Lines::of(head, &all[..k]).collect();
                assert_eq!(fast, slow, "{shown:?} with {k} line feeds known");
            }
            // With the ones head_end notes, for the head it finds.
            let mut ends = LineEnds::default();
            if let Some(len) = head_end(head, &mut ends) {
                let head = &head[..len];
                let slow: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
                assert_eq!(ends.found(), &all[..ends.found().len()], "{shown:?}");
                let fast: Vec<&[u8]> = Lines::of(head, ends.found()).collect();
                assert_eq!(fast, slow, "{shown:?}, as head_end left it");
            }
        }
        // The long head has more lines than are noted: they are found as they are read.
        let mut ends = LineEnds::default();
        assert_eq!(head_end(&long, &mut ends), Some(long.len() - 4));
        assert_eq!(ends.found().len(), NOTED_ENDS);
    }

    #[test]
    fn header_names_are_matched_without_case_after_the_first_letter_check() {
        let head =
            b"HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 5\r\nX-Other: 1\r\ncontent-TYPE: text/x\r\n\r\n";
        let start = start_line(b"HTTP/1.1 200 OK").unwrap();
        let (m, length) = parse_head(Lines::of(head, &[]), start, KeepText::Shared);
        assert_eq!(length, Some(5));
        assert_eq!(m.content_length, Some(5));
        assert_eq!(m.content_type(), Some("text/x"));
        let (m, length) = parse_head(Lines::of(head, &[]), start, KeepText::No);
        assert_eq!((length, m.content_type()), (Some(5), None));
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b" 0 ; ext"), Some(0));
        assert_eq!(chunk_size(b"zz"), None);
        assert_eq!(chunk_size(b"ffffffffff"), None);
    }
}
