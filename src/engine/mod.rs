//! The pipeline: a reader thread streams bounded batches and hands each, whole, to a thread of a
//! rayon pool, which decodes it while the others decode other batches (or, where that buys no
//! overlap, decodes it itself: see `decode_on_reader`); the ordered stage takes the batches back in
//! capture order and walks each frame by frame (frame timing, TCP streams, ICMP echo pairing), the
//! filter decides, and the sink writes. A sink that takes every frame and renders nothing gets each
//! frame straight from the ordered stage; otherwise a writer thread filters, renders (on the pool,
//! or itself when the pool has one thread) and writes batch N while the ordered stage runs over
//! batch N+1. Where the reader decodes (on two cores, when HTTP is parsed or the sink takes every
//! frame), the ordered stage has a core to itself: one thread reads and writes in turn
//! (`ReadWrite`), and the reader sends batches undecoded when the ordered stage would wait. Output
//! is identical for any number of threads because everything stateful happens in the ordered stage,
//! and the writer keeps capture order. Two shortcuts keep work off the ordered stage's thread: a
//! count over packet fields is filtered and counted on the pool (the stage only adds the tallies,
//! with no writer), and a streamed sink may count on the pool what needs no state ([`Precount`]),
//! added in capture order.
//!
//! Owns batching, the thread pool and stage order. No terminal I/O, no argument parsing.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use rayon::prelude::*;

use crate::capture::{self, Reader};
use crate::decode::{self, PacketRecord};
use crate::field::PacketView;
use crate::tcp::{self, SegmentInfo};

/// What the ordered stage learned about one frame.
#[derive(Clone, Debug, Default)]
pub struct FrameState {
    /// `frame.time_relative`: since the first frame.
    pub time_relative_ns: Option<i64>,
    /// `frame.time_delta`: since the previous frame.
    pub time_delta_ns: Option<i64>,
    pub tcp: Option<SegmentInfo>,
    /// `udp.stream`: the UDP conversation's index, in order of first appearance.
    pub udp_stream: Option<u32>,
    /// Echo replies and DNS responses matched to their requests.
    pub pairs: crate::app::PairInfo,
    /// HTTP messages this frame completes (with `Options::http`).
    pub http: Vec<crate::app::http::HttpMessage>,
    /// What later frames say about this one (with `Options::later`, from a first pass).
    pub later: Later,
    /// The IP datagram this frame's fragment completed.
    pub ip_reassembly: Option<IpReassembly>,
    /// Bytes of this TCP segment wait in an application message (HTTP, DNS over TCP) a later
    /// segment completes: tshark's "[TCP segment of a reassembled PDU]".
    pub pdu_continued: bool,
    /// With `pdu_continued`, the first line of the HTTP message that tshark shows before that
    /// mark (see [`crate::app::http::Continued`]).
    pub pdu_first_line: Option<bytestring::ByteString>,
    /// The segment's bytes start no HTTP message on a connection that has carried HTTP:
    /// tshark's "Continuation".
    pub http_continuation: bool,
}

/// A frame's HTTP messages are kept in a vector of at most this capacity from one frame to the
/// next frame that reuses its state; pipelined requests can make one frame's vector much larger.
const KEPT_MESSAGES: usize = 4;

impl FrameState {
    /// Ready for the next frame: what [`Ordered::process`] writes only on some frames is
    /// cleared; what it writes on every frame (or, its stage off, on none: such a field stays
    /// at its default for the whole run) is left for it to write over.
    /// - Cleared: the HTTP messages, their continuation marks. The messages' vector keeps its
    ///   allocation (emptied), unless it grew past [`KEPT_MESSAGES`]: then a frame's messages
    ///   cost no allocation of their own.
    /// - Left: the times, `ip_reassembly` and `tcp` (every frame), `udp_stream`, `pairs` and
    ///   `later` (every frame with their stage on). Cleared here too, they cost about 45
    ///   instructions a frame, and `tcp` two drops of its delivered events and a copy of its
    ///   176 bytes a segment, on the thread that sets the wall time.
    fn reset(&mut self) {
        let FrameState {
            // Written by `Ordered::process` for every frame, or never.
            time_relative_ns: _,
            time_delta_ns: _,
            tcp: _,
            udp_stream: _,
            pairs: _,
            later: _,
            ip_reassembly: _,
            // Written on some frames only.
            http,
            pdu_continued,
            pdu_first_line,
            http_continuation,
        } = self;
        http.clear();
        if http.capacity() > KEPT_MESSAGES {
            *http = Vec::new();
        }
        *pdu_continued = false;
        *pdu_first_line = None;
        *http_continuation = false;
    }
}

/// A reassembled IP datagram, on the frame that completed it: tshark's `ip.fragment` tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpReassembly {
    pub v6: bool,
    /// The fragments in offset order.
    pub pieces: Vec<crate::defrag::Piece>,
    /// The reassembled payload's length.
    pub length: u32,
}

/// Links from a request to the frame that answered it, known only after reading on: tshark's
/// second-pass fields (`http.response_in`, `dns.response_in`, `icmp.resp_in`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Later {
    pub http_response_in: Option<u64>,
    pub dns_response_in: Option<u64>,
    pub echo_reply_in: Option<u64>,
    /// The frame that completed the IP datagram this fragment belongs to.
    pub reassembled_in: Option<u64>,
    /// A first pass ran and kept every link it found up to this frame, so a missing echo reply
    /// means there is none (tshark -2's "(no response found!)").
    pub resolved: bool,
}

/// The answers a first pass found: by HTTP pairing entry, and by request frame. Bounded by
/// [`Limits::later_links`](crate::limits::Limits::later_links): past it, later links are not
/// kept (the first ones are), and the second pass shows those requests as a single pass would.
#[derive(Debug, Default)]
pub struct LaterLinks {
    pub http: foldhash::HashMap<u64, u64>,
    pub dns: foldhash::HashMap<u64, u64>,
    pub echo: foldhash::HashMap<u64, u64>,
    /// Fragment frame → the frame that completed its datagram.
    pub reassembled: foldhash::HashMap<u64, u64>,
    /// Links the four maps may hold together.
    cap: usize,
    /// Links found but not kept because the maps were full.
    left_out: u64,
    /// The first echo request whose reply was found but not kept. From it on, a request
    /// without a link may have been answered, so it is not called unanswered.
    echo_unknown_from: Option<u64>,
}

impl LaterLinks {
    /// Links kept for at most `cap` answers (see [`LaterLinks`]).
    pub fn with_cap(cap: usize) -> LaterLinks {
        LaterLinks {
            cap,
            ..LaterLinks::default()
        }
    }

    /// Answers found but not kept, for [`crate::limits::CutShort`].
    pub fn left_out(&self) -> u64 {
        self.left_out
    }

    fn kept(&self) -> usize {
        self.http.len() + self.dns.len() + self.echo.len() + self.reassembled.len()
    }

    /// Note what a frame of the first pass answers (the first answer wins, as in tshark).
    pub fn record(&mut self, frame: u64, state: &FrameState) {
        for m in state.http.iter().filter(|m| !m.msg.is_request()) {
            self.link(Kind::Http, m.own_entry, frame);
        }
        if let Some(m) = state.pairs.dns_response_to {
            self.link(Kind::Dns, m.request_frame, frame);
        }
        if let Some(m) = state.pairs.echo_reply_to {
            self.link(Kind::Echo, m.request_frame, frame);
        }
        if let Some(r) = &state.ip_reassembly {
            for p in r.pieces.iter().filter(|p| p.frame != frame) {
                self.link(Kind::Reassembled, p.frame, frame);
            }
        }
    }

    /// Keep `from` → `to` unless `from` has a link already; past the cap, count it instead.
    fn link(&mut self, kind: Kind, from: u64, to: u64) {
        let full = self.kept() >= self.cap;
        let map = match kind {
            Kind::Http => &mut self.http,
            Kind::Dns => &mut self.dns,
            Kind::Echo => &mut self.echo,
            Kind::Reassembled => &mut self.reassembled,
        };
        if map.contains_key(&from) {
            return;
        }
        if full {
            self.left_out += 1;
            if kind == Kind::Echo {
                self.echo_unknown_from = Some(self.echo_unknown_from.map_or(from, |f| f.min(from)));
            }
            return;
        }
        map.insert(from, to);
    }

    fn of(&self, frame: u64, http: &[crate::app::http::HttpMessage]) -> Later {
        Later {
            http_response_in: http
                .iter()
                .find(|m| m.msg.is_request())
                .and_then(|m| self.http.get(&m.entry).copied()),
            dns_response_in: self.dns.get(&frame).copied(),
            echo_reply_in: self.echo.get(&frame).copied(),
            reassembled_in: self.reassembled.get(&frame).copied(),
            resolved: self.echo_unknown_from.is_none_or(|f| frame < f),
        }
    }
}

/// Which of [`LaterLinks`]' maps a link goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Http,
    Dns,
    Echo,
    Reassembled,
}

/// A sink for the first of two passes: records the answers later frames give.
#[derive(Debug)]
pub struct LaterSink {
    pub links: LaterLinks,
}

impl LaterSink {
    /// A first pass keeping at most `limits.later_links` links.
    pub fn new(limits: &crate::limits::Limits) -> LaterSink {
        LaterSink {
            links: LaterLinks::with_cap(limits.later_links),
        }
    }
}

impl Sink for LaterSink {
    fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
        self.links.record(view.rec.meta.number, view.state);
        Ok(())
    }
}

/// Receives frames in capture order. Each output format is a sink. A sink is `Send` because,
/// unless it takes every frame as it comes, it runs on a writer thread beside the ordered stage.
pub trait Sink: Send {
    fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()>;
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// A sink whose output for a packet depends on that packet's view alone (the list, the
    /// detail tree, field columns) returns its renderer: the engine then renders each batch on
    /// the thread pool and hands the bytes over, in capture order, to [`Sink::write_rendered`]
    /// instead of calling [`Sink::packet`].
    fn renderer(&self) -> Option<&dyn Render> {
        None
    }
    /// Write what the renderer made of a run of consecutive shown packets, in pieces that
    /// follow one another (see [`crate::output::write_all_parts`]).
    fn write_rendered(&mut self, parts: &[String]) -> std::io::Result<()> {
        let _ = parts;
        Ok(())
    }
    /// A sink to which only the number of shown frames matters (`--count`) returns true: the
    /// engine then calls [`Sink::shown`] once per batch instead of [`Sink::packet`] per frame,
    /// and with [`Options::stateless`] filters whole batches on the pool without keeping them.
    fn counts_only(&self) -> bool {
        false
    }
    /// `n` more frames matched (for a sink that [`Sink::counts_only`]).
    fn shown(&mut self, n: u64) {
        let _ = n;
    }
    /// False for a sink that reads nothing of this run's frames (the `tcp` table without a
    /// filter learns all it shows from the tracker's summaries): then a sink that takes every
    /// frame as it comes is not called per frame, which cost about 45 instructions (the call
    /// and the view built for it) on the thread that sets the wall time.
    fn reads_packets(&self) -> bool {
        true
    }
    /// What the sink's own tables left out to stay within their share of the memory budget,
    /// added to the run's report at the end.
    fn cut_short(&self, cut: &mut crate::limits::CutShort) {
        let _ = cut;
    }
    /// What the sink can count of a batch on the decoding thread that decoded it, if anything
    /// (see [`Precount`]).
    fn precount(&self) -> Option<Arc<dyn Precount>> {
        None
    }
    /// A batch's frames come next, on a run that counts with [`Sink::precount`]: `counted` is
    /// what it counted of them, to be added now (their frames are then not to be counted
    /// again by [`Sink::packet`]), or `None` when the batch was not counted so and its frames
    /// count one by one. `first_ts_ns` is the capture's first frame's time, which the ordered
    /// stage's relative times count from.
    fn batch(&mut self, counted: Option<Box<dyn Counting>>, first_ts_ns: i64) {
        let _ = (counted, first_ts_ns);
    }
}

/// Counts a sink makes of a batch on the decoding thread that decodes it, from its records as
/// decoded, before the ordered stage: work taken off the ordered stage's thread, which sets the
/// wall time of the commands that have one. The sink adds them in capture order
/// ([`Sink::batch`]). Only where every frame reaches the sink as decoded: no filter, no `-c`,
/// and no IP fragment in the batch (reassembly changes a fragment's record); and when the reader
/// decodes, only the batches [`Options::reader_batches`] picks.
pub trait Precount: Send + Sync {
    /// Counts for a new batch.
    fn start(&self) -> Box<dyn Counting>;
}

/// One batch's counts (see [`Precount`]). Each record is added as soon as it is decoded, so
/// that the batch's records are read once, while they are in the cache.
pub trait Counting: Any + Send {
    fn add(&mut self, rec: &PacketRecord);
}

/// Renders one packet's output from its view alone; see [`Sink::renderer`].
pub trait Render: Sync {
    fn render(&self, view: &PacketView<'_>, out: &mut String);
}

/// Decides which frames reach the sink.
pub trait Matcher: Sync {
    fn matches(&self, view: &PacketView<'_>) -> bool;
    /// True when every frame matches (no filter): the engine then skips the filter pass.
    fn matches_all(&self) -> bool {
        false
    }
}

/// Every frame matches.
#[derive(Debug, Default)]
pub struct MatchAll;

impl Matcher for MatchAll {
    fn matches(&self, _: &PacketView<'_>) -> bool {
        true
    }
    fn matches_all(&self) -> bool {
        true
    }
}

/// How to run the pipeline.
#[derive(Clone, Debug)]
pub struct Options {
    /// Decode threads; 0 means one per core, or one fewer with `http`: the ordered stage's
    /// thread then needs a core to itself.
    pub threads: usize,
    /// Stop after reading this many frames (`-c`, as tshark: the filter applies to those).
    pub max_frames: Option<u64>,
    /// Frames per batch.
    pub batch_frames: usize,
    /// Input bytes read per batch at most (the reader reads less when the frames it expects fit).
    pub batch_bytes: usize,
    /// What the decoders need to decode for the outputs and filter in use.
    pub decode: decode::DecodeOptions,
    /// Return every TCP connection's summary in the report (the `tcp` and `flow` commands).
    pub collect_connections: bool,
    /// Put TCP byte streams back in order (`follow`, missed bytes in `tcp`).
    pub reassembly: tcp::Reassembly,
    /// What the stateful tables may hold (`--max-memory`).
    pub limits: crate::limits::Limits,
    /// Parse HTTP/1.x on every TCP connection (reassembles every connection).
    pub http: bool,
    /// With `http`: messages carry no text (URI, headers...), only which frames complete them
    /// and how they are framed; for a reader of nothing else (the hierarchy of `stats`).
    pub http_framing_only: bool,
    /// With `http`: the sink holds messages past their frame (see
    /// [`crate::app::http::HttpTracker::holding_messages`]).
    pub http_held: bool,
    /// Track TCP connections (stream numbers, relative sequence numbers, analysis flags, DNS
    /// over TCP). Off only when nothing shown or filtered on reads them: a count by port.
    pub tcp_state: bool,
    /// With `tcp_state`, the tracker numbers streams and reassembles, and analyses nothing
    /// (see [`tcp::Tracker::without_analysis`]): for readers of `tcp.stream` and of what
    /// reassembly delivers (HTTP, DNS over TCP), and of nothing else the tracker computes.
    /// Ignored when connection summaries are asked for.
    pub tcp_without_analysis: bool,
    /// With the tracker's analysis, find the segment each ACK acknowledges and its round trip
    /// (see [`tcp::Tracker::without_ack_rtt`]). Off for outputs that show neither.
    pub tcp_ack_rtt: bool,
    /// Number UDP conversations (`udp.stream`).
    pub udp_streams: bool,
    /// Answers found by a first pass, for tshark's second-pass fields.
    pub later: Option<std::sync::Arc<LaterLinks>>,
    /// The filter reads nothing the ordered stage computes (streams, pairs, times, later
    /// frames). With a sink that [`Sink::counts_only`] and no `max_frames`, every frame but an
    /// IP fragment (whose reassembly needs capture order) is then decoded and filtered on the
    /// pool and dropped there: the ordered stage never sees it.
    pub stateless: bool,
    /// Pair DNS queries with their responses and echo requests with their replies, for the
    /// outputs that show them (the packet list, `dns`, `ping`, the first pass) and filters on
    /// such fields. Off, each frame's pairs stay empty.
    pub pairing: bool,
    /// When the reader decodes (see `decode_on_reader`), which batches it sends undecoded, and
    /// which of those it decodes a sink's [`Precount`] counts.
    pub reader_batches: ReaderBatches,
}

/// What the reader, when it decodes (see `decode_on_reader`), does with each batch on a run whose
/// sink takes every frame on the ordered stage (see `stream`). However the batches go, the output
/// is the same: a batch sent undecoded is decoded frame by frame on the ordered stage, and one not
/// counted on the reader is counted frame by frame there (as one with an IP fragment always is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReaderBatches {
    /// Decode and count those read while the ordered stage has a batch waiting: it is then the
    /// slower side, and the reader works on time it would spend waiting. With none waiting, the
    /// ordered stage is about to wait for this batch: the reader sends it at once, undecoded unless
    /// the ordered stage parses HTTP (see `decode_on_reader`), and the ordered stage decodes it and
    /// counts it. The two threads' loads move with the command and the machine (the kernel's copy
    /// in `read` slows when memory is contended), and this follows them. Counting: stats on the
    /// 1.10 GiB capture of BENCHMARKS.md, 21-31 alternated runs, level in calm stretches (0.227 s
    /// and 0.229 s, 0.254 s and 0.258 s), faster in slow ones (0.274 s to 0.242 s; 3-5.5% off the
    /// median and 11-15% off the minimum in three more); counting on the reader none of the batches
    /// was slower too (0.362 s against 0.346 s, every batch 0.364 s). Decoding: see
    /// `decode_on_reader`.
    #[default]
    WhileOrderedBusy,
    /// A fixed mix, whatever the timing, for tests: of every three batches, one decoded and
    /// counted, one decoded, one sent undecoded.
    InTurn,
}

/// What the reader does with one batch (see [`ReaderBatches`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnReader {
    Send,
    Decode,
    DecodeAndCount,
}

impl ReaderBatches {
    /// What the reader does with the batch numbered `seq`, with `waiting` decoded batches sent
    /// and not yet taken by the ordered stage.
    fn on_reader(self, seq: u64, waiting: usize) -> OnReader {
        match self {
            ReaderBatches::WhileOrderedBusy if waiting == 0 => OnReader::Send,
            ReaderBatches::WhileOrderedBusy => OnReader::DecodeAndCount,
            ReaderBatches::InTurn => match seq % 3 {
                0 => OnReader::DecodeAndCount,
                1 => OnReader::Decode,
                _ => OnReader::Send,
            },
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: 0,
            max_frames: None,
            batch_frames: BATCH_FRAMES,
            batch_bytes: BATCH_BYTES,
            decode: decode::DecodeOptions::default(),
            collect_connections: false,
            reassembly: tcp::Reassembly::Off,
            limits: crate::limits::Limits::default(),
            http: false,
            http_framing_only: false,
            http_held: false,
            tcp_state: true,
            tcp_without_analysis: false,
            tcp_ack_rtt: true,
            udp_streams: false,
            later: None,
            stateless: false,
            pairing: true,
            reader_batches: ReaderBatches::default(),
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    /// The capture's format, from its header.
    pub format: Option<capture::Format>,
    pub frames_read: u64,
    pub frames_shown: u64,
    pub bytes_read: u64,
    /// Frames marked malformed (not counting snaplen truncation).
    pub malformed: u64,
    /// The error that ended the capture early; frames before it were processed.
    pub capture_error: Option<capture::Error>,
    /// The first frame's timestamp (the origin of relative times).
    pub first_ts_ns: Option<i64>,
    /// TCP connections in stream order, when `Options::collect_connections` asked for them.
    pub connections: Vec<tcp::ConnSummary>,
    /// With reassembly: gaps declared, bytes they skipped, and times the global cap was hit.
    pub reassembly_gaps: u64,
    pub reassembly_missed_bytes: u64,
    pub reassembly_cap_hits: u64,
    /// The most bytes held out of order at once.
    pub reassembly_peak_held: usize,
    /// What was given up to stay within `Options::limits`, and those limits.
    pub cut_short: crate::limits::CutShort,
    pub limits: crate::limits::Limits,
}

/// Batches waiting between the ordered stage and the writer, when there is one.
const QUEUE_DEPTH: usize = 1;

/// Batches alive at once besides the one being decoded on each of the pool's threads: read
/// ahead, or past decoding (waiting for the ordered stage, in it, or with the writer). The
/// reader takes one of as many spent batches (see [`Spent`]) before it reads one, so this
/// bounds memory.
/// Two keep both cores busy on 2 cores; four measured within the noise of two, with 7 MB more
/// memory.
const IN_FLIGHT_PAST_DECODE: usize = 2;

/// Batches alive at most, whatever the number of threads: each holds about 2 MB of input, 1 MB
/// of records and, on its way to the writer, 1 MB of frame states, so memory stays within the
/// 64 MB the list is allowed on a machine of many cores too (without the cap, 66 MB with 16
/// threads on 200 MB of the bench capture). The ordered stage takes longer over a batch than
/// decoding it (about twice as long for `tcp`), so six batches decoding at once are plenty.
const MAX_BATCHES_ALIVE: usize = 8;

/// Frames per batch by default: with `BATCH_BYTES`, it keeps the batches alive within a few tens
/// of MB, and makes the cost of handing a batch from one thread to the next noise.
pub const BATCH_FRAMES: usize = 2048;
/// Bytes of input per batch by default (a batch may exceed it by one record).
pub const BATCH_BYTES: usize = 2 << 20;

/// The pool's threads: as many as asked for, or by default one per core, but one fewer (at least
/// one) when the ordered stage parses HTTP or the sink takes every frame on it (`streamed`, see
/// [`streams`]). Then that stage's thread is the pipeline's slowest and needs a core to itself, and
/// decoding needs less than the other: a second decoding thread only shares a core with the ordered
/// stage. An idle rayon worker yields its core some 32 times before it sleeps, each time switching
/// the ordered stage out and in again: stats made 37,801 context switches on the 1.10 GiB capture
/// of BENCHMARKS.md with two threads, 1,707 with one.
fn pool_threads(opts: &Options, streamed: bool) -> usize {
    if opts.threads > 0 {
        return opts.threads;
    }
    if opts.http || streamed {
        cores().saturating_sub(1).max(1)
    } else {
        cores()
    }
}

/// The cores this process may run on (1 if unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Whether the reader decodes each batch itself, right after reading it, instead of handing it to
/// the pool: when the ordered stage parses HTTP or the sink takes every frame on it (its thread is
/// then the pipeline's slowest) and the pool has one thread, which by default means two cores. The
/// ordered stage keeps a core busy, and reading and decoding share the other whichever threads run
/// them: handing a batch over bought no overlap, and cost each batch a wake-up, and the idle
/// worker's spinning (it yields some 32 times before it sleeps: 17,388 `sched_yield` calls in one
/// run of stats). The bytes the kernel has just copied are decoded on the core that copied them.
/// stats on the 1.10 GiB capture of BENCHMARKS.md: 0.250 s to 0.236 s (CPU 0.436 s to 0.417 s,
/// context switches 1,700 to about 350); http 3% faster, the list level. With more cores and
/// `--threads 1`, reading and decoding together still take about as long as the ordered stage or
/// less (in stats, 0.21 s and 0.22 s of CPU). Where the ordered stage is light, reading and
/// decoding do overlap: `list -Y tcp.port==80 --count --threads 1` took 0.169 s handing batches
/// over, 0.230 s decoding on the reader.
///
/// Without HTTP, a streamed sink's ordered stage is the lighter thread (tcp: about 0.17 s of
/// CPU, against 0.15 s reading and 0.13 s decoding), so the reader decodes only while the
/// ordered stage has a batch waiting and sends the others undecoded ([`ReaderBatches`]). On
/// the pool, four threads (reader, two decoding, the ordered stage) shared two cores, and the
/// idle workers' spinning and waking cost CPU. The 1.08 GiB capture of BENCHMARKS.md, cargo's
/// builds, alternated runs (medians of 9): tcp 0.241 s to 0.209 s (CPU 0.410 s to 0.378 s),
/// conv 0.222 s to 0.196 s, dns 0.228 s to 0.206 s, ping 0.231 s to 0.200 s. Where the ordered
/// stage parses HTTP, it is already the slower thread, and undecoded batches only add to it:
/// stats 0.287 s to 0.296 s (15 runs), http 0.403 s to 0.415 s.
fn decode_on_reader(opts: &Options, streamed: bool, pool_threads: usize) -> bool {
    (opts.http || streamed) && pool_threads == 1
}

/// Run the whole pipeline over one capture. `progress` is called with the bytes read so far after
/// each batch. Returns an error only when the sink fails (e.g. a closed pipe).
pub fn run(
    reader: Reader,
    opts: &Options,
    matcher: &dyn Matcher,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64, u64),
) -> std::io::Result<Report> {
    // The sink takes every frame on the ordered stage's thread (see `stream`).
    let streamed = streams(sink, matcher);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(pool_threads(opts, streamed))
        .thread_name(|i| format!("wirelite-decode-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    let mut report = Report {
        format: Some(reader.format()),
        limits: opts.limits,
        ..Report::default()
    };
    let mut tracker = match (opts.collect_connections, opts.tcp_without_analysis) {
        (true, _) => tcp::Tracker::keeping_summaries(),
        (false, true) => tcp::Tracker::new().without_analysis(),
        (false, false) => tcp::Tracker::new(),
    };
    if !opts.tcp_ack_rtt {
        tracker = tracker.without_ack_rtt();
    }
    let mut ordered = Ordered {
        tcp: tracker
            .reassembling(
                if opts.http {
                    tcp::Reassembly::All
                } else {
                    opts.reassembly
                },
                opts.limits.reassembly_bytes,
            )
            .reassembling_dns(opts.decode.app)
            .limited(opts.limits.tcp_conns, opts.limits.table_rows),
        http: opts.http.then(|| {
            let mut http = crate::app::http::HttpTracker::with_cap(opts.limits.http_bytes);
            if opts.http_framing_only {
                http = http.framing_only();
            }
            if opts.http_held {
                http = http.holding_messages();
            }
            // A second pass shows a segment of a message by its TCP summary, as tshark's does.
            if opts.later.is_some() {
                http = http.without_first_lines();
            }
            http
        }),
        defrag: crate::defrag::Defrag::with_cap(opts.limits.defrag_bytes),
        udp: opts.udp_streams.then(Default::default),
        later: opts.later.clone(),
        dns_tcp: opts.decode.app.then(Default::default),
        decode: opts.decode,
        tcp_state: opts.tcp_state || opts.http,
        pairing: opts.pairing,
        ..Ordered::default()
    };
    let (decoded_tx, decoded_rx) = mpsc::channel::<(u64, std::thread::Result<Decoded>)>();
    // Each batch in flight holds the buffers of a spent one, taken before the batch is read and
    // sent back once the batch is written: they bound the batches alive, and are read and
    // decoded into again.
    let (recycle, spent) = mpsc::channel::<Spent>();
    for _ in 0..(pool.current_num_threads() + IN_FLIGHT_PAST_DECODE).min(MAX_BATCHES_ALIVE) {
        let _ = recycle.send(Spent::default());
    }
    let (batch_frames, batch_bytes) = (opts.batch_frames.max(1), opts.batch_bytes.max(1));
    let decode_opts = opts.decode;
    let count_on_pool = opts.stateless
        && sink.counts_only()
        && opts.max_frames.is_none()
        && !ordered.tcp_state
        && opts.later.is_none()
        && ordered.udp.is_none();
    // Every frame reaches a streamed sink as decoded but for `-c`, which stops mid-batch.
    let precount = (!count_on_pool && streamed && opts.max_frames.is_none())
        .then(|| sink.precount())
        .flatten();
    let precount = precount.as_deref();
    let decode_on_reader = decode_on_reader(opts, streamed, pool.current_num_threads());
    // Decoded batches sent and not yet taken by the ordered stage (see `ReaderBatches`):
    // counted however the batches are decoded, and read only when the reader decodes them.
    let waiting = &AtomicUsize::new(0);

    // Where the ordered stage parses HTTP, it is the slower thread: work moved onto it is lost
    // (see `decode_on_reader`).
    let send_undecoded = decode_on_reader && !opts.http;
    let one_io_thread = decode_on_reader && !count_on_pool && !streamed;
    let result = std::thread::scope(|scope| {
        let pool = &pool;
        if one_io_thread {
            // Reading and writing on one thread (see `ReadWrite`), the ordered stage on this one.
            let (staged_tx, staged_rx) = mpsc::sync_channel::<Staged>(QUEUE_DEPTH);
            let (spare_tx, spare_rx) = mpsc::channel::<Spare>();
            let io = ReadWrite {
                reader,
                decoded: Some(decoded_tx),
                spent,
                staged: staged_rx,
                spare: spare_tx,
                recycle: recycle.clone(),
                waiting,
                seq: 0,
                batch_frames,
                batch_bytes,
                decode: decode_opts,
            };
            let sink: &mut dyn Sink = &mut *sink;
            let io = std::thread::Builder::new()
                .name("wirelite-io".into())
                .spawn_scoped(scope, move || io.run(pool, matcher, sink))?;
            let mut batches = Batches {
                in_order: InOrder::new(decoded_rx),
                panic: None,
                waiting,
            };
            let staged = stage(
                &mut Through {
                    batches: &mut batches,
                    recycle: &recycle,
                    opts,
                    ordered: &mut ordered,
                    report: &mut report,
                    progress,
                },
                &staged_tx,
                &spare_rx,
            );
            // The I/O thread writes what is staged and stops.
            drop(staged_tx);
            let panic = batches.panic.take();
            drop(batches);
            let (shown, capture_error) = io
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if let Some(panic) = panic {
                std::panic::resume_unwind(panic);
            }
            // The writer's error (a closed pipe) is what stopped the ordered stage, if either
            // failed.
            let consumed = shown.map(|n| report.frames_shown += n).and(staged);
            return Ok::<_, std::io::Error>((consumed, capture_error));
        }
        // The reader hands each batch whole to one of the pool's threads (or decodes it itself):
        // the threads decode different batches at once, with no fork and join inside a batch.
        // The ordered stage puts them back in capture order.
        let producer = std::thread::Builder::new()
            .name("wirelite-read".into())
            .spawn_scoped(scope, move || {
                let mut reader = reader;
                // Decode one batch and send it, counted as waiting before it goes. A panic is
                // sent in the batch's place: the ordered stage stops there, where it would wait
                // for the batch forever, and the reader for the spent batches the ordered stage
                // holds. The pool's tasks share this thread's sender: the scope below ends only
                // when they have, before the sender is dropped.
                let decoded_tx = &decoded_tx;
                let decode_and_send =
                    |seq: u64, batch: capture::Batch, records, bytes_read, precount, raw| {
                        let decoded = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            let (records, counted, precounted) = if raw {
                                (records, None, None)
                            } else if count_on_pool {
                                let (kept, tally) =
                                    decode_and_count(&batch, decode_opts, matcher, records);
                                (kept, Some(tally), None)
                            } else {
                                let (records, precounted) =
                                    decode_batch(&batch, decode_opts, records, precount);
                                (records, None, precounted)
                            };
                            Decoded {
                                batch,
                                records,
                                counted,
                                precounted,
                                bytes_read,
                                raw,
                            }
                        }));
                        waiting.fetch_add(1, Ordering::Relaxed);
                        // Fails only when the consumer stopped early.
                        let _ = decoded_tx.send((seq, decoded));
                    };
                let decode_and_send = &decode_and_send;
                pool.in_place_scope(|s| {
                    let mut seq = 0u64;
                    // Spent batches come back from the consumer's side only (this thread holds
                    // no sender): none left, the consumer stopped early (-c, closed pipe).
                    while let Ok((records, used)) = spent.recv() {
                        let Some(batch) = reader.next_batch_into(used, batch_frames, batch_bytes)
                        else {
                            break;
                        };
                        let bytes_read = reader.bytes_read();
                        if decode_on_reader {
                            let waiting_now = waiting.load(Ordering::Relaxed);
                            let on = opts.reader_batches.on_reader(seq, waiting_now);
                            let precount = precount.filter(|_| on == OnReader::DecodeAndCount);
                            let raw = on == OnReader::Send && send_undecoded;
                            decode_and_send(seq, batch, records, bytes_read, precount, raw);
                        } else {
                            s.spawn(move |_| {
                                decode_and_send(seq, batch, records, bytes_read, precount, false);
                            });
                        }
                        seq += 1;
                    }
                });
                reader.take_error()
            })?;
        let mut batches = Batches {
            in_order: InOrder::new(decoded_rx),
            panic: None,
            waiting,
        };
        let mut through = Through {
            batches: &mut batches,
            recycle: &recycle,
            opts,
            ordered: &mut ordered,
            report: &mut report,
            progress,
        };
        let consumed = if count_on_pool {
            count(&mut through, matcher, sink)
        } else {
            consume(&mut through, pool, matcher, sink, precount.is_some())
        };
        // The reader may be waiting for a spent batch: with the last sender gone, it stops.
        let panic = batches.panic.take();
        drop(batches);
        drop(recycle);
        let capture_error = producer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // A decoder's panic ended the batches early (the batches before it were written): raise
        // it here, or the output would end early without a word.
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
        Ok::<_, std::io::Error>((consumed, capture_error))
    })?;
    let (consumed, capture_error) = result;
    consumed?;
    report.capture_error = capture_error;
    report.first_ts_ns = ordered.first_ts;
    (
        report.reassembly_gaps,
        report.reassembly_missed_bytes,
        report.reassembly_cap_hits,
    ) = ordered.tcp.reassembly_totals();
    report.reassembly_peak_held = ordered.tcp.peak_held();
    report.cut_short = crate::limits::CutShort {
        tcp_conns_forgotten: ordered.tcp.forgotten,
        reassembly_cap_hits: report.reassembly_cap_hits,
        reassembly_missed_bytes: if report.reassembly_cap_hits > 0 {
            report.reassembly_missed_bytes
        } else {
            0
        },
        datagrams_dropped: ordered.defrag.evicted,
        http_heads_dropped: ordered.http.as_ref().map_or(0, |h| h.heads_dropped),
        table_rows_dropped: ordered.tcp.rows_dropped,
        // The sink's own, added below.
        conversation_frames_left_out: 0,
        pair_rows_left_out: 0,
        later_links_left_out: ordered.later.as_ref().map_or(0, |l| l.left_out()),
    };
    sink.cut_short(&mut report.cut_short);
    if opts.collect_connections {
        report.connections = ordered.tcp.into_summaries();
    }
    sink.finish()?;
    Ok(report)
}

/// The decoded batches in capture order, up to the last or to one whose decoding panicked
/// (kept in `panic`, for [`run`] to raise once the other threads have stopped).
struct Batches<'w> {
    in_order: InOrder<std::thread::Result<Decoded>>,
    panic: Option<Box<dyn std::any::Any + Send>>,
    /// Decoded batches sent and not yet taken (each counted before it is sent).
    waiting: &'w AtomicUsize,
}

impl Batches<'_> {
    fn recv(&mut self) -> Option<Decoded> {
        if self.panic.is_some() {
            return None;
        }
        let decoded = self.in_order.recv()?;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        match decoded {
            Ok(decoded) => Some(decoded),
            Err(panic) => {
                self.panic = Some(panic);
                None
            }
        }
    }
}

/// A batch and its decoded records, in capture order.
struct Decoded {
    batch: capture::Batch,
    /// Every frame's record; on the counting fast path only the IP fragments'.
    records: Vec<PacketRecord>,
    /// On the counting fast path: what the pool counted of the frames it did not keep.
    counted: Option<Tally>,
    /// What the sink's [`Precount`] counted of the batch, if it did.
    precounted: Option<Box<dyn Counting>>,
    bytes_read: u64,
    /// Not decoded yet (`records` is a spent batch's): the ordered stage decodes each frame
    /// just before it takes it (see [`ReadWrite`]).
    raw: bool,
}

/// Frames decoded, matched and marked malformed (not counting truncation).
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    frames: u64,
    shown: u64,
    malformed: u64,
}

impl Tally {
    fn add(self, o: Tally) -> Tally {
        Tally {
            frames: self.frames + o.frames,
            shown: self.shown + o.shown,
            malformed: self.malformed + o.malformed,
        }
    }
}

/// Decode a batch into `records`, a used batch's vector: its records are overwritten in place,
/// which costs no allocation and no copy of a record. With a sink's [`Precount`], each record
/// is counted as it is decoded, unless the batch has an IP fragment.
fn decode_batch(
    batch: &capture::Batch,
    opts: decode::DecodeOptions,
    mut records: Vec<PacketRecord>,
    precount: Option<&dyn Precount>,
) -> (Vec<PacketRecord>, Option<Box<dyn Counting>>) {
    let arena = &batch.arena;
    records_for(&mut records, batch);
    let mut counting = precount.map(Precount::start);
    for (rec, (meta, range)) in records.iter_mut().zip(&batch.frames) {
        let data = arena.get(range.clone()).unwrap_or(&[]);
        decode::decode_frame_into(rec, meta.clone(), data, range.clone(), opts);
        if rec.ip_fragment {
            counting = None;
        }
        if let Some(c) = &mut counting {
            c.add(rec);
        }
    }
    (records, counting)
}

/// The counting fast path (see [`Options::stateless`]): decode and filter each frame with an
/// empty ordered-stage state, which is all the filter reads. IP fragments are kept in `kept`
/// (a used batch's vector), in order, for the ordered stage; every other frame is only counted.
fn decode_and_count(
    batch: &capture::Batch,
    opts: decode::DecodeOptions,
    matcher: &dyn Matcher,
    mut kept: Vec<PacketRecord>,
) -> (Vec<PacketRecord>, Tally) {
    let arena = &batch.arena;
    let state = FrameState::default();
    kept.clear();
    let mut tally = Tally::default();
    // One record, decoded into frame after frame: a record made per frame was built, moved
    // out and dropped each time (a copy of its few hundred bytes, about 75 instructions).
    let mut rec = PacketRecord::default();
    for (meta, range) in &batch.frames {
        let data = arena.get(range.clone()).unwrap_or(&[]);
        decode::decode_frame_into(&mut rec, meta.clone(), data, range.clone(), opts);
        if rec.ip_fragment {
            kept.push(std::mem::take(&mut rec));
            continue;
        }
        let view = PacketView {
            rec: &rec,
            data,
            state: &state,
        };
        tally = tally.add(Tally {
            frames: 1,
            shown: u64::from(matcher.matches(&view)),
            malformed: u64::from(rec.malformed.is_some_and(|m| !m.is_truncation())),
        });
    }
    (kept, tally)
}

/// A written batch's records vector and buffers, for the reader to read and decode into again.
type Spent = (Vec<PacketRecord>, capture::Batch);

/// Make `records` (a spent batch's) one per frame of `batch`, for an undecoded batch's frames to
/// be decoded into one by one (see [`Decoded::raw`]).
fn records_for(records: &mut Vec<PacketRecord>, batch: &capture::Batch) {
    let n = batch.frames.len();
    records.truncate(n);
    records.resize_with(n, PacketRecord::default);
}

/// Decode the frame numbered `i` in `batch` into `rec`, as [`decode_batch`] does.
fn decode_frame_of(
    rec: &mut PacketRecord,
    batch: &capture::Batch,
    i: usize,
    opts: decode::DecodeOptions,
) {
    if let Some((meta, range)) = batch.frames.get(i) {
        let data = batch.arena.get(range.clone()).unwrap_or(&[]);
        decode::decode_frame_into(rec, meta.clone(), data, range.clone(), opts);
    }
}

/// Batches in capture order, from threads that finish them in any order: each comes with its
/// number in the capture, counted from 0.
struct InOrder<T> {
    rx: mpsc::Receiver<(u64, T)>,
    next: u64,
    /// Batches that came ahead of `next` (at most one per thread of the pool).
    early: Vec<(u64, T)>,
}

impl<T> InOrder<T> {
    fn new(rx: mpsc::Receiver<(u64, T)>) -> InOrder<T> {
        InOrder {
            rx,
            next: 0,
            early: Vec::new(),
        }
    }

    /// The next batch in capture order; `None` once the senders are gone and it has not come.
    fn recv(&mut self) -> Option<T> {
        loop {
            if let Some(i) = self.early.iter().position(|(seq, _)| *seq == self.next) {
                self.next += 1;
                return Some(self.early.swap_remove(i).1);
            }
            let (seq, batch) = self.rx.recv().ok()?;
            if seq == self.next {
                self.next += 1;
                return Some(batch);
            }
            self.early.push((seq, batch));
        }
    }
}

/// Frames per task of the writer's filtering and rendering (see [`each_chunk`]): large enough
/// that a task's overhead is noise, small enough that every core gets work from a batch of
/// [`BATCH_FRAMES`].
const RENDER_CHUNK: usize = 256;

/// What every way through the ordered stage ([`count`], [`stream`], [`stage`]) works with: the
/// decoded batches in capture order, where a batch's buffers go back once it is done, the
/// stage's state and the run's report.
struct Through<'a, 'w> {
    batches: &'a mut Batches<'w>,
    recycle: &'a mpsc::Sender<Spent>,
    opts: &'a Options,
    ordered: &'a mut Ordered,
    report: &'a mut Report,
    progress: &'a mut dyn FnMut(u64, u64),
}

impl Through<'_, '_> {
    /// Each frame of a batch through the ordered stage, then to `each` with its view. One state
    /// is reset for every frame: it stays in cache, where a batch of states would be read again
    /// later. Stops after the last frame asked for (`-c`), returning true, or at the first error
    /// of `each`.
    fn frames(
        &mut self,
        batch: &capture::Batch,
        records: &mut Vec<PacketRecord>,
        raw: bool,
        mut each: impl FnMut(&PacketView<'_>) -> std::io::Result<()>,
    ) -> std::io::Result<bool> {
        let arena = &batch.arena;
        if raw {
            records_for(records, batch);
        }
        let mut state = FrameState::default();
        for (i, rec) in records.iter_mut().enumerate() {
            if raw {
                decode_frame_of(rec, batch, i, self.opts.decode);
            }
            state.reset();
            let frame = arena.get(rec.data.clone()).unwrap_or(&[]);
            let (last, joined) =
                (self.ordered).frame(rec, frame, &mut state, self.opts, self.report);
            each(&PacketView {
                rec,
                data: joined.as_deref().unwrap_or(frame),
                state: &state,
            })?;
            if last {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The input up to `bytes_read` went through the ordered stage.
    fn read_up_to(&mut self, bytes_read: u64) {
        self.report.bytes_read = bytes_read;
        (self.progress)(bytes_read, self.report.frames_read);
    }

    /// A batch is done: its buffers go back to the reader (which may have stopped already: they
    /// are then just dropped), and its input is reported read.
    fn done(&mut self, spent: Spent, bytes_read: u64) {
        let _ = self.recycle.send(spent);
        self.read_up_to(bytes_read);
    }
}

/// The reader's and the writer's work on one thread, where the reader decodes (see
/// [`decode_on_reader`]: the ordered stage parses HTTP, and the pool has one thread, as on two
/// cores) and a writer renders: reading and decoding a batch, and filtering, rendering and
/// writing one the ordered stage is done with, in turn, so that each of the two busy threads
/// has a core. Three threads (reader, ordered stage, writer) made the kernel share two cores
/// among them: the ordered stage, the pipeline's slowest, waited behind the others for a core.
///
/// The two threads balance themselves: when the ordered stage has no batch waiting, the next
/// one is read and sent undecoded, and the ordered stage decodes each frame just before it
/// takes it ([`Decoded::raw`]); otherwise this thread decodes it.
struct ReadWrite<'w> {
    reader: Reader,
    /// To the ordered stage; dropped at the end of the input.
    decoded: Option<mpsc::Sender<(u64, std::thread::Result<Decoded>)>>,
    /// Buffers to read into: as many as batches may be alive, given back by [`write_one`] on
    /// this thread.
    spent: mpsc::Receiver<Spent>,
    staged: mpsc::Receiver<Staged>,
    spare: mpsc::Sender<Spare>,
    recycle: mpsc::Sender<Spent>,
    /// Decoded batches sent and not yet taken by the ordered stage.
    waiting: &'w AtomicUsize,
    /// The next batch's number in the capture.
    seq: u64,
    batch_frames: usize,
    batch_bytes: usize,
    decode: decode::DecodeOptions,
}

impl ReadWrite<'_> {
    /// Until the ordered stage is done and its last batch written, or the sink fails: returns
    /// the frames shown, and the capture's error if reading stopped at one.
    fn run(
        mut self,
        pool: &rayon::ThreadPool,
        matcher: &dyn Matcher,
        sink: &mut dyn Sink,
    ) -> (std::io::Result<u64>, Option<capture::Error>) {
        let mut shown = 0u64;
        let result = loop {
            // The ordered stage is out of work: a batch for it first, undecoded.
            if self.waiting.load(Ordering::Relaxed) == 0
                && let Some(buffers) = self.buffers()
            {
                self.read(buffers, false);
                continue;
            }
            // Else a staged batch, if there is one, then a batch to decode.
            let staged = match self.staged.try_recv() {
                Ok(staged) => Some(staged),
                Err(mpsc::TryRecvError::Disconnected) => break Ok(shown),
                Err(mpsc::TryRecvError::Empty) => None,
            };
            let staged = match staged {
                Some(staged) => staged,
                None => {
                    if let Some(buffers) = self.buffers() {
                        self.read(buffers, true);
                        continue;
                    }
                    // Every batch is with the ordered stage or on its way here.
                    match self.staged.recv() {
                        Ok(staged) => staged,
                        Err(mpsc::RecvError) => break Ok(shown),
                    }
                }
            };
            match write_one(staged, &self.spare, &self.recycle, pool, matcher, sink) {
                Ok(n) => shown += n,
                Err(e) => break Err(e),
            }
        };
        // The ordered stage may be waiting for a batch: with the sender gone, it stops.
        self.decoded = None;
        (result, self.reader.take_error())
    }

    /// A written batch's buffers to read the next one into, while there is input left.
    fn buffers(&self) -> Option<Spent> {
        self.decoded.as_ref()?;
        self.spent.try_recv().ok()
    }

    /// Read the next batch into `buffers`, decode it (or not: see [`Decoded::raw`]) and send it
    /// to the ordered stage; at the end of the input, drop the sender instead.
    fn read(&mut self, (records, used): Spent, decode: bool) {
        let Some(batch) = self
            .reader
            .next_batch_into(used, self.batch_frames, self.batch_bytes)
        else {
            self.decoded = None;
            return;
        };
        let bytes_read = self.reader.bytes_read();
        let opts = self.decode;
        // A panic is sent in the batch's place, as from the reader thread (see `run`).
        let decoded = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let (records, raw) = if decode {
                (decode_batch(&batch, opts, records, None).0, false)
            } else {
                (records, true)
            };
            Decoded {
                batch,
                records,
                counted: None,
                precounted: None,
                bytes_read,
                raw,
            }
        }));
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if let Some(tx) = &self.decoded {
            // Fails only when the ordered stage stopped early (`-c`, a closed pipe).
            let _ = tx.send((self.seq, decoded));
        }
        self.seq += 1;
    }
}

fn consume(
    through: &mut Through<'_, '_>,
    pool: &rayon::ThreadPool,
    matcher: &dyn Matcher,
    sink: &mut dyn Sink,
    precounts: bool,
) -> std::io::Result<()> {
    if streams(sink, matcher) {
        return stream(through, sink, precounts);
    }
    // Otherwise the filter, the renderer and the sink take a batch on another thread while this
    // one runs the ordered stage over the next.
    let (done_tx, done_rx) = mpsc::sync_channel::<Staged>(QUEUE_DEPTH);
    let (spare_tx, spare_rx) = mpsc::channel::<Spare>();
    let recycle = through.recycle.clone();
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("wirelite-write".into())
            .spawn_scoped(scope, move || {
                write_staged(&done_rx, &spare_tx, &recycle, pool, matcher, sink)
            })?;
        let staged = stage(through, &done_tx, &spare_rx);
        drop(done_tx);
        let shown = writer
            .join()
            .map_err(|_| std::io::Error::other("the writer thread panicked"))?;
        // The writer's error (a closed pipe) is what stopped the ordered stage, if either failed.
        through.report.frames_shown += shown?;
        staged
    })
}

/// The ordered stage on the counting fast path (see [`decode_and_count`]): the pool counted
/// every frame but the IP fragments it kept, which are reassembled and filtered here, in
/// capture order. Nothing is rendered, so there is no writer thread: handing it every batch
/// cost two more thread switches a batch, a tenth of the count's time.
fn count(
    through: &mut Through<'_, '_>,
    matcher: &dyn Matcher,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    while let Some(Decoded {
        batch,
        mut records,
        counted,
        precounted: _, // only on streamed runs
        bytes_read,
        raw,
    }) = through.batches.recv()
    {
        let mut shown = 0;
        if let Some(t) = counted {
            // Frames the pool counted carry no state to the ordered stage but the origin of time.
            if let Some((meta, _)) = batch.frames.first() {
                (through.ordered.first_ts).get_or_insert(meta.ts_ns.unwrap_or(0));
            }
            through.report.frames_read += t.frames;
            through.report.malformed += t.malformed;
            shown = t.shown;
        }
        // (No `-c` on this path: no frame is the last one asked for.)
        through.frames(&batch, &mut records, raw, |view| {
            shown += u64::from(matcher.matches(view));
            Ok(())
        })?;
        if shown > 0 {
            sink.shown(shown);
            through.report.frames_shown += shown;
        }
        through.done((records, batch), bytes_read);
    }
    Ok(())
}

/// Whether `sink` takes each frame as soon as the ordered stage has it, on the stage's thread:
/// a sink that takes every frame and renders nothing (tcp, conv, stats, http without a filter).
fn streams(sink: &dyn Sink, matcher: &dyn Matcher) -> bool {
    sink.renderer().is_none() && matcher.matches_all() && !sink.counts_only()
}

/// The ordered stage for sinks that take each frame as it comes (see [`streams`]); with
/// `precounts`, the run counts with the sink's [`Precount`], and each batch tells the sink
/// whether it came counted ([`Sink::batch`]).
fn stream(
    through: &mut Through<'_, '_>,
    sink: &mut dyn Sink,
    precounts: bool,
) -> std::io::Result<()> {
    let reads_packets = sink.reads_packets();
    while let Some(Decoded {
        batch,
        mut records,
        counted: _, // only on the counting path, which never streams
        precounted,
        bytes_read,
        raw,
    }) = through.batches.recv()
    {
        if precounts {
            // The first frame's time, as the ordered stage takes it from the first frame.
            let first_ts = &mut through.ordered.first_ts;
            if let Some((meta, _)) = batch.frames.first() {
                first_ts.get_or_insert(meta.ts_ns.unwrap_or(0));
            }
            sink.batch(precounted, first_ts.unwrap_or(0));
        }
        let mut shown = 0;
        let last = through.frames(&batch, &mut records, raw, |view| {
            if reads_packets {
                sink.packet(view)?;
            }
            shown += 1;
            Ok(())
        })?;
        through.report.frames_shown += shown;
        if last {
            through.read_up_to(bytes_read);
            return Ok(());
        }
        through.done((records, batch), bytes_read);
    }
    Ok(())
}

/// A batch through the ordered stage, on its way to the filter and the sink.
struct Staged {
    batch: capture::Batch,
    records: Vec<PacketRecord>,
    states: Vec<FrameState>,
    /// Per frame: its bytes with what reassembly appended, when it appended any.
    joined: Vec<Option<Vec<u8>>>,
}

/// A written batch's vectors, emptied, for the ordered stage to fill again.
type Spare = (Vec<FrameState>, Vec<Option<Vec<u8>>>);

/// The ordered stage, batch by batch, handing each to [`write_staged`] (which sends the batch's
/// buffers back to the reader).
fn stage(
    through: &mut Through<'_, '_>,
    tx: &mpsc::SyncSender<Staged>,
    spare: &mpsc::Receiver<Spare>,
) -> std::io::Result<()> {
    while let Some(Decoded {
        batch,
        mut records,
        counted: _,    // only on the counting path, which has no writer (see `count`)
        precounted: _, // only on streamed runs
        bytes_read,
        raw,
    }) = through.batches.recv()
    {
        let (mut states, mut joined) = spare.try_recv().unwrap_or_default();
        let arena = &batch.arena;
        if raw {
            records_for(&mut records, &batch);
        }
        let mut last = false;
        // A written batch's states and joined bytes are dropped here (see `write_staged`).
        joined.clear();
        // Made in place, all at once: a FrameState is a few hundred bytes, and pushed one by
        // one, each was built on the stack and copied into the vector.
        states.truncate(records.len());
        states.iter_mut().for_each(FrameState::reset);
        states.resize_with(records.len(), FrameState::default);
        let mut staged_frames = 0;
        for (i, (rec, state)) in records.iter_mut().zip(states.iter_mut()).enumerate() {
            staged_frames += 1;
            if raw {
                decode_frame_of(rec, &batch, i, through.opts.decode);
            }
            let frame = arena.get(rec.data.clone()).unwrap_or(&[]);
            let (end, extra) =
                (through.ordered).frame(rec, frame, state, through.opts, through.report);
            joined.push(extra);
            if end {
                last = true;
                break;
            }
        }
        // Frames past the last one (`-c`) are not shown.
        states.truncate(staged_frames);
        records.truncate(staged_frames);
        through.read_up_to(bytes_read);
        let staged = Staged {
            batch,
            records,
            states,
            joined,
        };
        if tx.send(staged).is_err() || last {
            break; // the writer stopped (a closed pipe), or `-c` was reached
        }
    }
    Ok(())
}

/// Filter, render and write staged batches in order, then send their vectors back (`spare`)
/// and their records and buffers to the reader (`recycle`); returns the number of frames shown.
fn write_staged(
    rx: &mpsc::Receiver<Staged>,
    spare: &mpsc::Sender<Spare>,
    recycle: &mpsc::Sender<Spent>,
    pool: &rayon::ThreadPool,
    matcher: &dyn Matcher,
    sink: &mut dyn Sink,
) -> std::io::Result<u64> {
    let mut total = 0u64;
    while let Ok(staged) = rx.recv() {
        total += write_one(staged, spare, recycle, pool, matcher, sink)?;
    }
    Ok(total)
}

/// Filter, render and write one staged batch (see [`write_staged`]).
fn write_one(
    staged: Staged,
    spare: &mpsc::Sender<Spare>,
    recycle: &mpsc::Sender<Spent>,
    pool: &rayon::ThreadPool,
    matcher: &dyn Matcher,
    sink: &mut dyn Sink,
) -> std::io::Result<u64> {
    let Staged {
        batch,
        records,
        states,
        joined,
    } = staged;
    let mut total = 0u64;
    let arena = &batch.arena;
    let view = |i: usize| {
        let rec = &records[i];
        PacketView {
            rec,
            data: joined[i]
                .as_deref()
                .unwrap_or_else(|| arena.get(rec.data.clone()).unwrap_or(&[])),
            state: &states[i],
        }
    };
    let n = records.len();
    let chunk = |c: usize| c * RENDER_CHUNK..((c + 1) * RENDER_CHUNK).min(n);
    let chunks = n.div_ceil(RENDER_CHUNK);
    if let Some(renderer) = sink.renderer() {
        // Filter and render each chunk into a buffer; the buffers are written in order.
        let parts = each_chunk(pool, chunks, |c| {
            let idx = chunk(c);
            // Packet-list lines are about 150 bytes: room for all without growing (and
            // copying) the buffer halfway.
            let mut out = String::with_capacity(idx.len() * 192);
            let mut shown = 0u64;
            for i in idx {
                let v = view(i);
                if matcher.matches(&v) {
                    renderer.render(&v, &mut out);
                    shown += 1;
                }
            }
            (out, shown)
        });
        let texts: Vec<String> = parts
            .into_iter()
            .map(|(text, shown)| {
                total += shown;
                text
            })
            .collect();
        sink.write_rendered(&texts)?;
    } else if matcher.matches_all() {
        // Only a count: a sink that takes every frame is streamed instead (see `consume`).
        sink.shown(n as u64);
        total += n as u64;
    } else if sink.counts_only() {
        let counts = each_chunk(pool, chunks, |c| {
            chunk(c).filter(|&i| matcher.matches(&view(i))).count()
        });
        let shown = counts.into_iter().sum::<usize>() as u64;
        sink.shown(shown);
        total += shown;
    } else {
        let shown = each_chunk(pool, chunks, |c| {
            chunk(c)
                .filter(|&i| matcher.matches(&view(i)))
                .collect::<Vec<_>>()
        });
        for i in shown.into_iter().flatten() {
            sink.packet(&view(i))?;
            total += 1;
        }
    }
    // Sent back full: the ordered stage drops the states when it reuses the vectors, on the
    // thread that allocated what they hold (HTTP messages, reassembled bytes). Freed here,
    // each free contended with that thread's allocations for glibc's arena lock.
    // The ordered stage may have stopped already; the vectors are then just dropped.
    let _ = spare.send((states, joined));
    let _ = recycle.send((records, batch));
    Ok(total)
}

/// `f` of each chunk number in `0..chunks`, in order: on the pool, or on this thread when the
/// pool has one thread. Handing the work to the pool's only thread bought no overlap (this one
/// waits for it), and cost every batch two wake-ups and the idle worker's spinning: the list of
/// the 1.10 GiB capture of BENCHMARKS.md made 17,301 `sched_yield` calls and 8,037 `futex`
/// calls that way, none and 3,220 this way; its CPU time went from 0.684 s to 0.666 s (medians
/// of 31 alternated runs), its wall time stayed within the noise.
fn each_chunk<T: Send>(
    pool: &rayon::ThreadPool,
    chunks: usize,
    f: impl Fn(usize) -> T + Sync + Send,
) -> Vec<T> {
    if pool.current_num_threads() > 1 {
        pool.install(|| (0..chunks).into_par_iter().map(f).collect())
    } else {
        (0..chunks).map(f).collect()
    }
}

/// The ordered stage's state: everything that depends on earlier frames.
#[derive(Debug, Default)]
struct Ordered {
    first_ts: Option<i64>,
    prev_ts: Option<i64>,
    tcp: tcp::Tracker,
    pairs: crate::app::Pairing,
    http: Option<crate::app::http::HttpTracker>,
    later: Option<std::sync::Arc<LaterLinks>>,
    udp: Option<UdpStreams>,
    defrag: crate::defrag::Defrag,
    /// DNS over TCP framing (when the decoders parse DNS at all).
    dns_tcp: Option<crate::app::dns_tcp::DnsTcp>,
    decode: decode::DecodeOptions,
    /// Run the TCP tracker (see [`Options::tcp_state`]).
    tcp_state: bool,
    /// Run [`crate::app::Pairing`] (see [`Options::pairing`]).
    pairing: bool,
}

/// UDP conversations (address and port pairs, either direction), numbered as Wireshark numbers
/// `udp.stream`. Bounded: past [`UdpStreams::MAX`] conversations the table starts over, so a
/// conversation seen again after that gets a new number.
#[derive(Debug, Default)]
struct UdpStreams {
    ids: foldhash::HashMap<(tcp::Endpoint, tcp::Endpoint), u32>,
    next: u32,
}

impl UdpStreams {
    const MAX: usize = 1 << 20;

    /// The conversation of the frame's UDP header; an ICMP error quoting a UDP header belongs to
    /// that conversation, as in Wireshark.
    fn stream_of(&mut self, rec: &PacketRecord) -> Option<u32> {
        let (src, dst) = match rec.udp() {
            Some((_, u)) => tcp::endpoints(rec, u.src_port, u.dst_port),
            None => rec.layers.iter().find_map(|l| match &l.proto {
                crate::decode::Proto::Udp(u) if l.quoted => {
                    tcp::quoted_endpoints(rec, u.src_port, u.dst_port)
                }
                _ => None,
            }),
        }?;
        Some(self.of(src, dst))
    }

    fn of(&mut self, a: tcp::Endpoint, b: tcp::Endpoint) -> u32 {
        let key = if (a.addr, a.port) <= (b.addr, b.port) {
            (a, b)
        } else {
            (b, a)
        };
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        if self.ids.len() >= Self::MAX {
            self.ids.clear();
        }
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.ids.insert(key, id);
        id
    }
}

impl Ordered {
    /// The ordered stage for one frame: reassembly, then [`Ordered::process`] into `state`.
    /// Returns whether this is the last frame to read (`-c`), and the frame's bytes with what
    /// reassembly appended (an IP datagram, DNS messages), when it appended any.
    fn frame(
        &mut self,
        rec: &mut PacketRecord,
        frame: &[u8],
        state: &mut FrameState,
        opts: &Options,
        report: &mut Report,
    ) -> (bool, Option<Vec<u8>>) {
        report.frames_read += 1;
        let mut joined = None;
        let reassembly = self.defrag(rec, frame, &mut joined);
        self.process(rec, frame, &mut joined, reassembly, state);
        if rec.malformed.is_some_and(|m| !m.is_truncation()) {
            report.malformed += 1;
        }
        let last = opts.max_frames.is_some_and(|max| report.frames_read >= max);
        (last, joined)
    }

    /// Feed an IP fragment to reassembly. When it completes a datagram, the record's layers
    /// continue into the datagram's payload, appended to a copy of the frame's bytes in
    /// `joined`, which is the frame's data from here on.
    fn defrag(
        &mut self,
        rec: &mut PacketRecord,
        frame: &[u8],
        joined: &mut Option<Vec<u8>>,
    ) -> Option<IpReassembly> {
        if !rec.ip_fragment {
            return None; // found while decoding (the same test as below)
        }
        let fragment = decode::fragment_of(rec, frame)?;
        let v6 = fragment.key.v6;
        let datagram = self.defrag.add(&fragment)?;
        let proto = decode::fragment_protocol(rec)?;
        let mut buf = Vec::with_capacity(frame.len() + datagram.bytes.len());
        buf.extend_from_slice(frame);
        buf.extend_from_slice(&datagram.bytes);
        decode::decode_reassembled(rec, &buf, frame.len(), proto, self.decode);
        *joined = Some(buf);
        let length = u32::try_from(datagram.bytes.len()).unwrap_or(u32::MAX);
        Some(IpReassembly {
            v6,
            pieces: datagram.pieces,
            length,
        })
    }

    /// Add the DNS messages a TCP segment completed to its record (see [`Ordered::defrag`] for
    /// `joined`).
    fn add_dns_messages(
        &self,
        rec: &mut PacketRecord,
        frame: &[u8],
        joined: &mut Option<Vec<u8>>,
        messages: Vec<Vec<u8>>,
    ) {
        let buf = joined.get_or_insert_with(|| frame.to_vec());
        let ranges: Vec<std::ops::Range<usize>> = messages
            .iter()
            .map(|m| {
                let start = buf.len();
                buf.extend_from_slice(m);
                start..buf.len()
            })
            .collect();
        decode::decode_dns_messages(rec, buf, &ranges, self.decode);
    }

    fn process(
        &mut self,
        rec: &mut PacketRecord,
        frame: &[u8],
        joined: &mut Option<Vec<u8>>,
        ip_reassembly: Option<IpReassembly>,
        state: &mut FrameState,
    ) {
        let data = joined.as_deref().unwrap_or(frame);
        let ts = rec.meta.ts_ns;
        // tshark measures from the first frame's time, and counts a frame without a timestamp
        // (a pcapng simple packet block) as time 0, also for the next frame's delta.
        let first = *self.first_ts.get_or_insert(ts.unwrap_or(0));
        let prev = self.prev_ts.unwrap_or(first);
        let time_relative_ns = ts.map(|t| t.saturating_sub(first));
        let time_delta_ns = ts.map(|t| t.saturating_sub(prev));
        self.prev_ts = Some(ts.unwrap_or(0));
        state.time_relative_ns = time_relative_ns;
        state.time_delta_ns = time_delta_ns;
        state.ip_reassembly = ip_reassembly;
        let mut dns_messages = Vec::new();
        if self.tcp_state
            && let Some((layer, t)) = rec.tcp()
            && let Some((src, dst)) = tcp::endpoints(rec, t.src_port, t.dst_port)
        {
            let payload = tcp::payload(layer, t, data);
            // Written in place, over the previous frame's (see `Tracker::segment_into`, which
            // writes every field, and `FrameState::reset`).
            let info = state.tcp.get_or_insert_with(tcp::SegmentInfo::default);
            self.tcp.segment_into(
                &tcp::Segment {
                    data,
                    payload,
                    src,
                    dst,
                    tcp: t,
                    frame: rec.meta.number,
                    ts_ns: ts.unwrap_or(0),
                },
                info,
            );
            if let Some(http) = &mut self.http {
                let got = http.segment(
                    &crate::app::http::SegmentInput {
                        stream: info.stream,
                        dir: info.dir,
                        delivered: &info.delivered,
                        payload,
                        fin: t.has(crate::decode::tcp_flags::FIN),
                        rst: t.has(crate::decode::tcp_flags::RST),
                        frame: rec.meta.number,
                        ts_ns: ts.unwrap_or(0),
                    },
                    &mut state.http,
                );
                state.http_continuation = got.continuation;
                match got.continued {
                    Some(crate::app::http::Continued::FirstLine(line)) => {
                        state.pdu_continued = true;
                        state.pdu_first_line = Some(line);
                    }
                    Some(crate::app::http::Continued::Segment) => state.pdu_continued = true,
                    None => {}
                }
            }
            if let Some(dns) = &mut self.dns_tcp
                && crate::app::dns_tcp::carries_dns(src.port, dst.port)
            {
                let end =
                    t.has(crate::decode::tcp_flags::FIN) || t.has(crate::decode::tcp_flags::RST);
                let framed = dns.segment(info.stream, info.dir, &info.delivered, payload, end);
                state.pdu_continued |= framed.continued;
                dns_messages = framed.messages;
            }
        } else {
            state.tcp = None;
        }
        if !dns_messages.is_empty() {
            self.add_dns_messages(rec, frame, joined, dns_messages);
        }
        let rec = &*rec;
        if let Some(udp) = &mut self.udp {
            state.udp_stream = udp.stream_of(rec);
        }
        if self.pairing {
            state.pairs = self.pairs.process(rec, ts.unwrap_or(0));
        }
        if let Some(links) = &self.later {
            state.later = links.of(rec.meta.number, &state.http);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_order(arrivals: &[u64]) -> Vec<u64> {
        let (tx, rx) = mpsc::channel();
        for &seq in arrivals {
            tx.send((seq, seq * 10)).unwrap();
        }
        drop(tx);
        let mut batches = InOrder::new(rx);
        std::iter::from_fn(|| batches.recv()).collect()
    }

    #[test]
    fn batches_come_out_in_capture_order_whatever_order_they_finish_in() {
        assert_eq!(in_order(&[0, 1, 2]), [0, 10, 20]);
        assert_eq!(in_order(&[1, 0, 3, 2]), [0, 10, 20, 30]);
        assert_eq!(in_order(&[3, 2, 1, 0, 4]), [0, 10, 20, 30, 40]);
    }

    #[test]
    fn batches_after_a_missing_one_are_not_passed_off_as_next() {
        // Batch 1 never came (its decoder stopped): 2 and 3 must not stand in for it.
        assert_eq!(in_order(&[2, 0, 3]), [0]);
        assert_eq!(in_order(&[]), Vec::<u64>::new());
    }
}
