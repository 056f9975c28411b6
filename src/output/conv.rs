//! `conv` and `endpoints`: who talked to whom, as tshark's `-z conv,X` and `-z endpoints,X` count
//! it. A conversation is an address pair (Ethernet, IPv4, IPv6: the outer header only, as tshark's
//! taps see it) or a transport stream (TCP: `tcp.stream`, UDP: `udp.stream`); side A is the source
//! of its first frame. Bytes are frame lengths. Rows come in tshark's order (most frames first, ties
//! in order of appearance) unless `--sort` says otherwise.

use foldhash::HashMap;
use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use super::summary::push_rel;
use super::text::{Column, Row, header_line, push_int, push_rows};
use crate::engine::Sink;
use crate::field::PacketView;
use crate::tcp;

/// What a conversation is keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Eth,
    Ip,
    Ipv6,
    Tcp,
    Udp,
}

impl By {
    pub fn parse(s: &str) -> Option<By> {
        Some(match s {
            "eth" => By::Eth,
            "ip" | "ipv4" => By::Ip,
            "ipv6" => By::Ipv6,
            "tcp" => By::Tcp,
            "udp" => By::Udp,
            _ => return None,
        })
    }

    /// tshark's table title word.
    pub fn title(self) -> &'static str {
        match self {
            By::Eth => "Ethernet",
            By::Ip => "IPv4",
            By::Ipv6 => "IPv6",
            By::Tcp => "TCP",
            By::Udp => "UDP",
        }
    }

    fn has_ports(self) -> bool {
        matches!(self, By::Tcp | By::Udp)
    }
}

/// One side of a conversation: an address (as text) and, for TCP and UDP, a port.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Side {
    pub address: String,
    pub port: Option<u16>,
}

impl Side {
    /// `address` or `address:port`, appended to `s`.
    pub fn push_to(&self, s: &mut String) {
        s.push_str(&self.address);
        if let Some(p) = self.port {
            s.push(':');
            push_int(s, p);
        }
    }
}

#[derive(Clone, Debug)]
pub struct Conversation {
    pub a: Side,
    pub b: Side,
    pub frames_ab: u64,
    pub bytes_ab: u64,
    pub frames_ba: u64,
    pub bytes_ba: u64,
    /// First and last frame, relative to the capture's first frame.
    pub start_ns: i64,
    pub last_ns: i64,
}

impl Conversation {
    pub fn frames(&self) -> u64 {
        self.frames_ab + self.frames_ba
    }
    pub fn bytes(&self) -> u64 {
        self.bytes_ab + self.bytes_ba
    }
    pub fn duration_ns(&self) -> i64 {
        self.last_ns.saturating_sub(self.start_ns)
    }
}

/// Keys of a conversation: an unordered address pair, or a stream number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Pair(tcp::Endpoint, tcp::Endpoint),
    Stream(u32),
}

/// `by_stream`'s mark for a stream with no conversation (yet).
const NO_CONVERSATION: u32 = u32::MAX;
/// Slots of `ConvSink::by_tcp_stream` (12 bytes each); more than the connections a capture
/// usually has open at once.
const TCP_CACHE: usize = 4096;

/// A TCP stream's conversation in an IP table, and which of the stream's two directions
/// (`tcp::SegmentInfo::dir`) go from side A to side B. Both can: a stream between two ports
/// of one address.
#[derive(Clone, Copy, Debug)]
struct StreamConv {
    stream: u32,
    conversation: u32,
    forward: [bool; 2],
}

const NO_STREAM_CONV: StreamConv = StreamConv {
    stream: NO_CONVERSATION,
    conversation: NO_CONVERSATION,
    forward: [false; 2],
};

/// Collects the conversations of one kind. Packets are matched by raw address bytes; the text
/// of an address is made once, when its conversation first appears.
#[derive(Debug)]
pub struct ConvSink {
    by: By,
    /// Conversations by TCP or UDP stream number, indexed by it: stream numbers are given
    /// densely in order of first appearance, so a vector replaces a hash lookup per frame. It
    /// grows only while it stays within twice the conversations (plus some): a filter that
    /// picks a few late streams sends them to `by_key` instead of growing it to their numbers.
    by_stream: Vec<u32>,
    /// Conversations by address pair (Ethernet, IP), and streams past `by_stream`.
    by_key: HashMap<Key, usize>,
    /// IP tables only: the conversations of TCP streams seen lately, in the slot
    /// `stream % TCP_CACHE`. A TCP stream's frames all have one address pair, so most frames
    /// find theirs here, and their direction in it, without making the two addresses. Fixed in
    /// size: its memory does not grow with the capture's streams. Empty for the other kinds.
    by_tcp_stream: Vec<StreamConv>,
    pub conversations: Vec<Conversation>,
    /// Each conversation's side A, raw, to tell the direction of a packet.
    first_src: Vec<tcp::Endpoint>,
    /// Conversations kept at most (the memory budget's table rows).
    max_rows: usize,
    /// Frames not counted because their conversation would have been past `max_rows`.
    frames_left_out: u64,
}

impl ConvSink {
    pub fn new(by: By) -> ConvSink {
        ConvSink {
            by,
            by_stream: Vec::new(),
            by_key: HashMap::default(),
            by_tcp_stream: if matches!(by, By::Ip | By::Ipv6) {
                vec![NO_STREAM_CONV; TCP_CACHE]
            } else {
                Vec::new()
            },
            conversations: Vec::new(),
            first_src: Vec::new(),
            max_rows: usize::MAX,
            frames_left_out: 0,
        }
    }

    /// Keep at most `n` conversations; frames of later ones are counted in `frames_left_out`.
    pub fn with_max_rows(mut self, n: usize) -> ConvSink {
        self.max_rows = n;
        self
    }

    /// Add a batch's counts (see [`PairCounts`]); `first_ts_ns` is the capture's first frame's
    /// time, which times are relative to. Conversations new to the table come in the order the
    /// batch first met them, so the table is the one its frames would have made one by one.
    pub fn add_batch(&mut self, counts: &PairCounts, first_ts_ns: i64) {
        // A frame's time from the start, as the ordered stage gives it (0 without a timestamp);
        // earliest and latest of a pair's frames, as `count` keeps them.
        let relative = |t: Option<i64>| t.map(|t| t.saturating_sub(first_ts_ns));
        let v6 = self.by == By::Ipv6;
        let endpoint = |addr: u128| tcp::Endpoint {
            addr: addr.to_be_bytes(),
            v6,
            port: 0,
        };
        for &((lo, hi), ref p) in counts.pairs.iter() {
            let untimed = p.untimed.then_some(0);
            let start = relative(p.earliest).into_iter().chain(untimed).min();
            let last = relative(p.latest).into_iter().chain(untimed).max();
            let ends = [lo, hi].map(endpoint);
            let [lo, hi] = ends;
            let i = match self.find(Key::Pair(lo, hi)) {
                Some(i) => i,
                None if self.conversations.len() >= self.max_rows => {
                    self.frames_left_out += p.frames.iter().sum::<u64>();
                    continue;
                }
                None => {
                    let (src, dst) = if p.first_from_higher {
                        (hi, lo)
                    } else {
                        (lo, hi)
                    };
                    let (start, last) = (start.unwrap_or(0), last.unwrap_or(0));
                    self.add_conversation(Key::Pair(lo, hi), src, dst, start, last)
                }
            };
            let a = self.first_src.get(i).copied();
            if let Some(c) = self.conversations.get_mut(i) {
                for ((from, frames), bytes) in ends.iter().zip(p.frames).zip(p.bytes) {
                    if Some(*from) == a {
                        c.frames_ab += frames;
                        c.bytes_ab += bytes;
                    } else {
                        c.frames_ba += frames;
                        c.bytes_ba += bytes;
                    }
                }
                c.start_ns = start.map_or(c.start_ns, |s| c.start_ns.min(s));
                c.last_ns = last.map_or(c.last_ns, |l| c.last_ns.max(l));
            }
        }
    }

    /// A new conversation, named by `key`, whose first frame went from `src` to `dst`, with
    /// nothing counted yet; its index.
    fn add_conversation(
        &mut self,
        key: Key,
        src: tcp::Endpoint,
        dst: tcp::Endpoint,
        start_ns: i64,
        last_ns: i64,
    ) -> usize {
        let i = self.conversations.len();
        self.index(key, i);
        self.conversations.push(Conversation {
            a: side(self.by, &src),
            b: side(self.by, &dst),
            frames_ab: 0,
            bytes_ab: 0,
            frames_ba: 0,
            bytes_ba: 0,
            start_ns,
            last_ns,
        });
        self.first_src.push(src);
        i
    }

    /// The conversation `key` names, if it has one.
    fn find(&self, key: Key) -> Option<usize> {
        if let Key::Stream(n) = key
            && let Some(&i) = self.by_stream.get(n as usize)
            && i != NO_CONVERSATION
        {
            return Some(i as usize);
        }
        self.by_key.get(&key).copied()
    }

    /// Record that conversation `i` is the one `key` names.
    fn index(&mut self, key: Key, i: usize) {
        if let (Key::Stream(n), Ok(value)) = (key, u32::try_from(i)) {
            let n = n as usize;
            if n < self.by_stream.len() || n <= 2 * self.conversations.len() + 1024 {
                if n >= self.by_stream.len() {
                    self.by_stream.resize(n + 1, NO_CONVERSATION);
                }
                if let Some(slot) = self.by_stream.get_mut(n) {
                    *slot = value;
                    return;
                }
            }
        }
        self.by_key.insert(key, i);
    }
}

fn mac(m: &[u8]) -> String {
    let mut s = String::with_capacity(17);
    for (i, b) in m.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// An address as the tables show it: a MAC address (in the first 6 bytes) or an IP address, with
/// the port for TCP and UDP.
fn side(by: By, e: &tcp::Endpoint) -> Side {
    Side {
        address: match (by, e.ip()) {
            (By::Eth, _) => mac(e.addr.get(..6).unwrap_or(&[])),
            // Without the formatting machinery: a table has a row per conversation.
            (_, std::net::IpAddr::V4(v4)) => {
                let mut s = String::with_capacity(15);
                super::text::push_ipv4(&mut s, v4.octets());
                s
            }
            (_, ip) => ip.to_string(),
        },
        port: by.has_ports().then_some(e.port),
    }
}

/// A MAC address as an endpoint (the tables' raw key).
fn mac_endpoint(m: &[u8; 6]) -> tcp::Endpoint {
    let mut addr = [0; 16];
    if let Some(a) = addr.get_mut(..6) {
        a.copy_from_slice(m);
    }
    tcp::Endpoint {
        addr,
        v6: false,
        port: 0,
    }
}

/// tshark 4.0 counts an IPv6 fragment in the IPv6 tables only when it completes a datagram
/// (IPv4 fragments all count): checked on zeek__ipv6-fragmented-dns.
fn left_out_of_ipv6(by: By, view: &PacketView<'_>) -> bool {
    by == By::Ipv6
        && view.state.ip_reassembly.is_none()
        && view.rec.ipv6().is_some_and(|ip| ip.fragment.is_some())
}

/// The frame's (source, destination, stream) for this kind of conversation, if it has one.
fn sides(by: By, view: &PacketView<'_>) -> Option<(tcp::Endpoint, tcp::Endpoint, Option<u32>)> {
    let rec = view.rec;
    match by {
        By::Eth => rec.layers.iter().find_map(|l| match &l.proto {
            crate::decode::Proto::Ethernet(e) => {
                Some((mac_endpoint(&e.src?), mac_endpoint(&e.dst), None))
            }
            _ => None,
        }),
        By::Ip | By::Ipv6 => {
            if left_out_of_ipv6(by, view) {
                return None;
            }
            let (s, d) = tcp::endpoints(rec, 0, 0)?;
            (s.v6 == (by == By::Ipv6)).then_some((s, d, None))
        }
        By::Tcp => {
            // tshark's TCP tap runs after the whole header was read: a cut header is not counted.
            if rec
                .malformed
                .is_some_and(|m| m.layer == crate::decode::LayerKind::Tcp)
            {
                return None;
            }
            let (_, t) = rec.tcp()?;
            let stream = view.state.tcp.as_ref()?.stream;
            let (s, d) = tcp::endpoints(rec, t.src_port, t.dst_port)?;
            Some((s, d, Some(stream)))
        }
        By::Udp => {
            let (_, u) = rec.udp()?;
            let (s, d) = tcp::endpoints(rec, u.src_port, u.dst_port)?;
            Some((s, d, view.state.udp_stream))
        }
    }
}

/// An IP table's counts of one batch, made on the decoding thread that decoded it (see
/// [`crate::engine::Precount`]): what [`ConvSink::packet`] counts of the batch's frames, by
/// address pair in the order the pairs first appear, with the frames' own times.
/// [`ConvSink::add_batch`] adds them in capture order, as if its frames had come one by one.
#[derive(Debug, Default)]
pub struct PairCounts {
    /// By the pair's lower and higher address, as big-endian numbers of their 16 bytes (an
    /// IPv4 address in the first 4), which order as the addresses do: equal for a host talking
    /// to itself.
    pairs: super::FirstSeen<(u128, u128), PairCount>,
}

#[derive(Debug)]
struct PairCount {
    /// Whether the pair's first frame in the batch came from the higher address.
    first_from_higher: bool,
    /// Frames and bytes from the lower address and from the higher one.
    frames: [u64; 2],
    bytes: [u64; 2],
    /// The earliest and latest timestamps, and whether a frame had none (which counts as the
    /// capture's start).
    earliest: Option<i64>,
    latest: Option<i64>,
    untimed: bool,
}

impl PairCounts {
    /// Count one frame of the batch, as decoded: what [`ConvSink::packet`] and `sides` count
    /// of it in a table `by` IP or IPv6 when nothing needs the ordered stage's state (the
    /// batch has no IP fragment, so no frame is reassembled or left out as one).
    pub fn add(&mut self, by: By, rec: &crate::decode::PacketRecord) {
        use crate::decode::Proto;
        let (src, dst) = match rec.outer_ip().map(|l| &l.proto) {
            Some(Proto::Ipv4(ip)) if by == By::Ip => {
                (tcp::ipv4_as_number(ip.src), tcp::ipv4_as_number(ip.dst))
            }
            // (Not an IPv6 frame with a fragment header the decoder found no fragment in.)
            Some(Proto::Ipv6(ip)) if by == By::Ipv6 && ip.fragment.is_none() => {
                (u128::from_be_bytes(ip.src), u128::from_be_bytes(ip.dst))
            }
            _ => return,
        };
        let (lo, hi) = if src <= dst { (src, dst) } else { (dst, src) };
        let pair = self.pairs.get_or_add((lo, hi), || PairCount {
            first_from_higher: src != lo,
            frames: [0; 2],
            bytes: [0; 2],
            earliest: None,
            latest: None,
            untimed: false,
        });
        if let Some(p) = pair {
            let from = usize::from(src != lo);
            if let (Some(f), Some(b)) = (p.frames.get_mut(from), p.bytes.get_mut(from)) {
                *f += 1;
                *b += u64::from(rec.meta.origlen);
            }
            match rec.meta.ts_ns {
                Some(t) => {
                    p.earliest = Some(p.earliest.map_or(t, |e| e.min(t)));
                    p.latest = Some(p.latest.map_or(t, |l| l.max(t)));
                }
                None => p.untimed = true,
            }
        }
    }
}

impl Sink for ConvSink {
    fn cut_short(&self, cut: &mut crate::limits::CutShort) {
        cut.conversation_frames_left_out += self.frames_left_out;
    }

    fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
        let bytes = u64::from(view.rec.meta.origlen);
        // An IP table's slot for the frame's TCP stream, and the conversation it holds for it:
        // found there, the frame needs neither its addresses (making and ordering them was
        // most of what a frame cost here) nor a hash lookup.
        let tcp = (view.state.tcp.as_ref()).filter(|_| !self.by_tcp_stream.is_empty());
        let slot = tcp.map(|t| t.stream as usize % TCP_CACHE);
        if let (Some(t), Some(slot)) = (tcp, slot)
            && let Some(&cached) = self.by_tcp_stream.get(slot)
            && cached.stream == t.stream
            && cached.conversation != NO_CONVERSATION
            && !left_out_of_ipv6(self.by, view)
        {
            let forward = cached.forward.get(usize::from(t.dir)).copied();
            self.count(
                cached.conversation as usize,
                forward.unwrap_or(true),
                view,
                bytes,
            );
            return Ok(());
        }
        let Some((src, dst, stream)) = sides(self.by, view) else {
            return Ok(());
        };
        let key = match stream {
            Some(n) => Key::Stream(n),
            None if src <= dst => Key::Pair(src, dst),
            None => Key::Pair(dst, src),
        };
        let i = match self.find(key) {
            Some(i) => i,
            None if self.conversations.len() >= self.max_rows => {
                self.frames_left_out += 1;
                return Ok(());
            }
            None => {
                let now = view.state.time_relative_ns.unwrap_or(0);
                self.add_conversation(key, src, dst, now, now)
            }
        };
        let a = self.first_src.get(i);
        let forward = a == Some(&src);
        if let (Some(t), Some(slot)) = (tcp, slot)
            && let (Some(entry), Ok(conversation)) =
                (self.by_tcp_stream.get_mut(slot), u32::try_from(i))
        {
            // The stream's other direction goes from `dst`.
            let mut both = [forward, a == Some(&dst)];
            if t.dir != 0 {
                both.reverse();
            }
            *entry = StreamConv {
                stream: t.stream,
                conversation,
                forward: both,
            };
        }
        self.count(i, forward, view, bytes);
        Ok(())
    }
}

impl ConvSink {
    /// Count a frame of `bytes` in conversation `i`, from side A (`forward`) or from side B.
    fn count(&mut self, i: usize, forward: bool, view: &PacketView<'_>, bytes: u64) {
        let now = view.state.time_relative_ns.unwrap_or(0);
        if let Some(c) = self.conversations.get_mut(i) {
            if forward {
                c.frames_ab += 1;
                c.bytes_ab += bytes;
            } else {
                c.frames_ba += 1;
                c.bytes_ba += bytes;
            }
            // Frames out of time order: tshark keeps the earliest and the latest time.
            c.start_ns = c.start_ns.min(now);
            c.last_ns = c.last_ns.max(now);
        }
    }
}

/// How rows are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    Packets,
    Bytes,
    Start,
    Duration,
}

impl SortBy {
    pub fn parse(s: &str) -> Option<SortBy> {
        Some(match s {
            "packets" | "frames" => SortBy::Packets,
            "bytes" => SortBy::Bytes,
            "start" => SortBy::Start,
            "duration" => SortBy::Duration,
            _ => return None,
        })
    }
}

/// Sort conversations (stable: ties keep their order of appearance, as tshark's).
pub fn sort_conversations(c: &mut [Conversation], by: SortBy) {
    match by {
        SortBy::Packets => c.sort_by_key(|x| std::cmp::Reverse(x.frames())),
        SortBy::Bytes => c.sort_by_key(|x| std::cmp::Reverse(x.bytes())),
        SortBy::Start => c.sort_by_key(|x| x.start_ns),
        SortBy::Duration => c.sort_by_key(|x| std::cmp::Reverse(x.duration_ns())),
    }
}

/// An endpoint's totals.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub side: Side,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    pub rx_frames: u64,
    pub rx_bytes: u64,
    pub start_ns: i64,
    pub last_ns: i64,
}

impl Endpoint {
    pub fn frames(&self) -> u64 {
        self.tx_frames + self.rx_frames
    }
    pub fn bytes(&self) -> u64 {
        self.tx_bytes + self.rx_bytes
    }
}

/// Endpoints from conversations (given in order of first appearance), in order of first
/// appearance: A before B.
pub fn endpoints(conversations: &[Conversation]) -> Vec<Endpoint> {
    let mut index: HashMap<&Side, usize> = HashMap::default();
    let mut out: Vec<Endpoint> = Vec::new();
    for c in conversations {
        for (s, tx, rx) in [
            (&c.a, (c.frames_ab, c.bytes_ab), (c.frames_ba, c.bytes_ba)),
            (&c.b, (c.frames_ba, c.bytes_ba), (c.frames_ab, c.bytes_ab)),
        ] {
            let i = *index.entry(s).or_insert_with(|| {
                out.push(Endpoint {
                    side: s.clone(),
                    tx_frames: 0,
                    tx_bytes: 0,
                    rx_frames: 0,
                    rx_bytes: 0,
                    start_ns: c.start_ns,
                    last_ns: c.last_ns,
                });
                out.len() - 1
            });
            if let Some(e) = out.get_mut(i) {
                e.tx_frames += tx.0;
                e.tx_bytes += tx.1;
                e.rx_frames += rx.0;
                e.rx_bytes += rx.1;
                e.start_ns = e.start_ns.min(c.start_ns);
                e.last_ns = e.last_ns.max(c.last_ns);
            }
        }
    }
    out
}

pub fn sort_endpoints(e: &mut [Endpoint], by: SortBy) {
    match by {
        SortBy::Packets => e.sort_by_key(|x| std::cmp::Reverse(x.frames())),
        SortBy::Bytes => e.sort_by_key(|x| std::cmp::Reverse(x.bytes())),
        SortBy::Start => e.sort_by_key(|x| x.start_ns),
        SortBy::Duration => {
            e.sort_by_key(|x| std::cmp::Reverse(x.last_ns.saturating_sub(x.start_ns)))
        }
    }
}

/// Seconds as tshark's `nstime_to_sec`: whole seconds plus nanoseconds, in floating point. Its
/// tables print these doubles, so their last digits carry the same rounding.
fn seconds(ns: i64) -> f64 {
    ns.div_euclid(1_000_000_000) as f64 + ns.rem_euclid(1_000_000_000) as f64 / 1e9
}

/// A relative start with nine decimals, as tshark prints it.
fn secs9(ns: i64) -> String {
    let mut s = String::new();
    push_secs9(&mut s, ns);
    s
}

/// [`secs9`], appended to `s`.
fn push_secs9(s: &mut String, ns: i64) {
    if (0..EXACT_BELOW_NS).contains(&ns) {
        push_rel(s, ns, 9);
    } else {
        let _ = write!(s, "{:.9}", seconds(ns));
    }
}

/// Times from 0 up to this (about 13 days) print from their nanoseconds, without floating
/// point. tshark prints a time's f64 (`seconds`), rounded. Below 2^21 s that f64 lies within
/// 1.2e-10 s of the time, so rounding it to 9 decimals gives the nanoseconds back; and the
/// difference of two such f64s lies within 0.4 ns of the true one, so rounding it to 4 decimals
/// gives the nearest 100 µs, except at a tie, which goes to floating point. A table of
/// thousands of rows spent half its time in float formatting.
const EXACT_BELOW_NS: i64 = 1 << 50;

/// A duration with four decimals: the difference of the two times in floating point, as tshark.
fn duration4(start_ns: i64, last_ns: i64) -> String {
    let mut s = String::new();
    push_duration4(&mut s, start_ns, last_ns);
    s
}

/// [`duration4`], appended to `s`.
fn push_duration4(s: &mut String, start_ns: i64, last_ns: i64) {
    const UNIT: i64 = 100_000; // ns in 0.0001 s
    let exact = |ns: i64| (0..EXACT_BELOW_NS).contains(&ns);
    if exact(start_ns) && exact(last_ns) && start_ns <= last_ns {
        let d = last_ns - start_ns;
        // Not within a nanosecond of a tie (see EXACT_BELOW_NS): rounded to a whole unit,
        // which `push_rel` then shows exactly.
        if (d % UNIT).abs_diff(UNIT / 2) > 1 {
            push_rel(s, (d + UNIT / 2) / UNIT * UNIT, 4);
            return;
        }
    }
    let _ = write!(s, "{:.4}", seconds(last_ns) - seconds(start_ns));
}

pub fn conv_text(by: By, c: &[Conversation]) -> String {
    let w = if by.has_ports() { 28 } else { 22 };
    let a = format!("{} A", by.title());
    let columns = [
        Column::left(&a, w),
        Column::left("B", w),
        Column::right("frames→", 9),
        Column::right("bytes→", 12),
        Column::right("frames←", 9),
        Column::right("bytes←", 12),
        Column::right("frames", 9),
        Column::right("bytes", 12),
        Column::right("start", 14),
        Column::right("duration", 10),
    ];
    let mut s = String::new();
    header_line(&mut s, &columns);
    // Rows pushed cell by cell: a large capture has tens of thousands.
    push_rows(&mut s, c, |s, x| {
        let mut row = Row::new(s, &columns);
        row.cell(|s| x.a.push_to(s));
        row.cell(|s| x.b.push_to(s));
        for n in [
            x.frames_ab,
            x.bytes_ab,
            x.frames_ba,
            x.bytes_ba,
            x.frames(),
            x.bytes(),
        ] {
            row.cell(|s| push_int(s, n));
        }
        row.cell(|s| push_secs9(s, x.start_ns));
        row.cell(|s| push_duration4(s, x.start_ns, x.last_ns));
        row.end();
    });
    let _ = writeln!(
        s,
        "{} {} conversation{}",
        c.len(),
        by.title(),
        if c.len() == 1 { "" } else { "s" }
    );
    s
}

fn side_json(s: &Side) -> Json {
    json!({ "address": s.address, "port": s.port })
}

pub fn conv_json(by: By, c: &[Conversation]) -> Json {
    json!({
        "by": by.title(),
        "conversations": c.iter().map(|x| json!({
            "a": side_json(&x.a),
            "b": side_json(&x.b),
            "frames_a_to_b": x.frames_ab,
            "bytes_a_to_b": x.bytes_ab,
            "frames_b_to_a": x.frames_ba,
            "bytes_b_to_a": x.bytes_ba,
            "frames": x.frames(),
            "bytes": x.bytes(),
            "start": secs9(x.start_ns),
            "duration": duration4(x.start_ns, x.last_ns),
        })).collect::<Vec<_>>(),
    })
}

pub fn endpoints_text(by: By, e: &[Endpoint]) -> String {
    let w = if by.has_ports() { 28 } else { 22 };
    let title = format!("{} endpoint", by.title());
    let columns = [
        Column::left(&title, w),
        Column::right("frames", 9),
        Column::right("bytes", 12),
        Column::right("tx frames", 9),
        Column::right("tx bytes", 12),
        Column::right("rx frames", 9),
        Column::right("rx bytes", 12),
    ];
    let mut s = String::new();
    header_line(&mut s, &columns);
    push_rows(&mut s, e, |s, x| {
        let mut row = Row::new(s, &columns);
        row.cell(|s| x.side.push_to(s));
        for n in [
            x.frames(),
            x.bytes(),
            x.tx_frames,
            x.tx_bytes,
            x.rx_frames,
            x.rx_bytes,
        ] {
            row.cell(|s| push_int(s, n));
        }
        row.end();
    });
    let _ = writeln!(
        s,
        "{} {} endpoint{}",
        e.len(),
        by.title(),
        if e.len() == 1 { "" } else { "s" }
    );
    s
}

pub fn endpoints_json(by: By, e: &[Endpoint]) -> Json {
    json!({
        "by": by.title(),
        "endpoints": e.iter().map(|x| json!({
            "address": x.side.address,
            "port": x.side.port,
            "frames": x.frames(),
            "bytes": x.bytes(),
            "tx_frames": x.tx_frames,
            "tx_bytes": x.tx_bytes,
            "rx_frames": x.rx_frames,
            "rx_bytes": x.rx_bytes,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Times printed from their nanoseconds read as tshark's floating point prints them: at
    /// random, at the edges of the exact range, near 4-decimal ties, and past the range.
    #[test]
    fn times_print_as_their_floating_point_does() {
        let float9 = |ns: i64| format!("{:.9}", seconds(ns));
        let float4 = |a: i64, b: i64| format!("{:.4}", seconds(b) - seconds(a));
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut times: Vec<i64> = vec![0, 1, 999_999_999, 1_000_000_000, EXACT_BELOW_NS - 1];
        times.extend([
            EXACT_BELOW_NS,
            EXACT_BELOW_NS + 1,
            -1,
            -1_500_000_000,
            i64::MAX,
        ]);
        for i in 0..200_000 {
            let r = next();
            // Every scale: small offsets and long captures alike.
            let t = (r >> (r % 40 + 14)) as i64;
            times.push(t);
            // A duration within a few ns of a 4-decimal tie, from a random start.
            let tie = ((r % 1000) * 100_000 + 50_000) as i64 + (i % 9) - 4;
            times.push(t.saturating_add(tie));
        }
        for w in times.chunks(2) {
            let (a, b) = (w[0], *w.get(1).unwrap_or(&w[0]));
            let (a, b) = (a.min(b), a.max(b));
            for t in [a, b] {
                let mut s = String::new();
                push_secs9(&mut s, t);
                assert_eq!(s, float9(t), "{t} ns");
            }
            let mut s = String::new();
            push_duration4(&mut s, a, b);
            assert_eq!(s, float4(a, b), "{a} ns to {b} ns");
        }
    }
}
