//! The command line: arguments, validation, exit codes, progress. The only place that prints to
//! the terminal or uses `anyhow`.

pub mod args;
mod progress;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::capture::Reader;
use crate::engine::{self, MatchAll, Matcher, Options, Sink};
use crate::field::{FieldId, Registry};
use crate::filter::Filter;
use crate::output::http::Exchange;
use crate::output::{
    DetailSink, FieldsOptions, FieldsSink, JsonSink, JsonStyle, Occurrence, SummarySink,
};
use args::{Cli, Command, ListArgs};

/// A usage error: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Run a parsed command line, writing to standard output, and say how the process should exit.
pub fn run(cli: Cli) -> ExitCode {
    run_with(cli, &mut io::stdout())
}

/// Run a parsed command line writing what it shows to `out` (errors go to standard error).
pub fn run_with(cli: Cli, out: &mut (dyn Write + Send)) -> ExitCode {
    let result = match cli.command {
        Command::List(a) => list(a, out),
        Command::Fields => print_fields(out).map(|()| ExitCode::SUCCESS),
        Command::FilterCheck { filter } => filter_check(&filter, out),
        Command::Tcp(a) => tcp_table(a, out),
        Command::Flow(a) => flow(a, out),
        Command::Follow(a) => follow(a, out),
        Command::Ping(a) => ping(a, out),
        Command::Dns(a) => dns(a, out),
        Command::Http(a) => http(a, out),
        Command::Conv(a) => conv(a, false, out),
        Command::Stats(a) => stats(a, out),
        Command::Io(a) => io_chart(a, out),
        Command::Endpoints(a) => conv(a, true, out),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wirelite: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn resolve_fields(names: &[String]) -> Result<Vec<(String, FieldId)>> {
    let reg = Registry::get();
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for n in names {
        match reg.lookup(n) {
            Some(id) => out.push((n.clone(), id)),
            None => unknown.push(n.as_str()),
        }
    }
    if !unknown.is_empty() {
        let hints: Vec<String> = unknown
            .iter()
            .filter_map(|u| {
                let s = reg.suggest(u, 3);
                (!s.is_empty()).then(|| format!("{u}: did you mean {}?", s.join(", ")))
            })
            .collect();
        let mut msg = format!("some fields aren't valid: {}", unknown.join(", "));
        for h in hints {
            msg.push_str("\n  ");
            msg.push_str(&h);
        }
        return Err(usage(msg));
    }
    Ok(out)
}

fn fields_options(opts: &[String]) -> Result<FieldsOptions> {
    let mut fo = FieldsOptions::default();
    let sep = |v: &str| match v {
        "/t" => "\t".to_string(),
        "/s" => " ".to_string(),
        other => other.to_string(),
    };
    for o in opts {
        let Some((k, v)) = o.split_once('=') else {
            bail!(usage(format!("-E {o}: expected OPTION=VALUE")));
        };
        match k {
            "header" => fo.header = matches!(v, "y" | "Y"),
            "separator" => fo.separator = sep(v),
            "aggregator" => fo.aggregator = sep(v),
            "occurrence" => {
                fo.occurrence = match v {
                    "a" => Occurrence::All,
                    "f" => Occurrence::First,
                    "l" => Occurrence::Last,
                    n => match n.parse::<usize>() {
                        Ok(n) if n > 0 => Occurrence::Nth(n),
                        _ => bail!(usage(format!(
                            "-E occurrence={v}: expected f, l, a or a number"
                        ))),
                    },
                }
            }
            "quote" => {
                fo.quote = match v {
                    "d" => Some('"'),
                    "s" => Some('\''),
                    "n" => None,
                    _ => bail!(usage(format!("-E quote={v}: expected d, s or n"))),
                }
            }
            "bom" => {}
            _ => bail!(usage(format!(
                "-E {k}: unknown option (header, separator, occurrence, aggregator, quote)"
            ))),
        }
    }
    Ok(fo)
}

/// Compile a display filter; a bad one is a usage error whose message shows the caret.
fn compile_filter(text: &str) -> Result<Filter> {
    Filter::compile(text).map_err(|e| usage(e.render(text)))
}

fn filter_check(text: &str, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    let f = compile_filter(text)?;
    let reg = Registry::get();
    let names: Vec<&str> = f.fields().iter().map(|&id| reg.def(id).abbrev).collect();
    writeln!(out, "{}", f.explain())?;
    writeln!(out, "fields: {}", names.join(" "))?;
    Ok(ExitCode::SUCCESS)
}

/// Counts matching packets and prints the number at the end (`--count`).
struct CountSink<W: Write> {
    out: W,
    n: u64,
}

impl<W: Write + Send> Sink for CountSink<W> {
    fn packet(&mut self, _: &crate::field::PacketView<'_>) -> io::Result<()> {
        self.n += 1;
        Ok(())
    }
    fn counts_only(&self) -> bool {
        true
    }
    fn shown(&mut self, n: u64) {
        self.n += n;
    }
    fn finish(&mut self) -> io::Result<()> {
        writeln!(self.out, "{}", self.n)?;
        self.out.flush()
    }
}

/// Fields whose values depend on application-layer decoding.
fn needs_app(id: FieldId) -> bool {
    let def = Registry::get().def(id);
    def.proto == crate::field::ProtoTag::Dns
        || matches!(
            def.abbrev,
            "frame.protocols" | "_ws.malformed" | "_ws.malformed.reason" | "data"
        )
}

/// Fields whose values come from HTTP parsing (which reassembles every TCP connection), and
/// `frame.protocols`, which lists HTTP and its bodies' dissectors.
fn needs_http(id: FieldId) -> bool {
    let def = Registry::get().def(id);
    def.proto == crate::field::ProtoTag::Http || def.abbrev == "frame.protocols"
}

/// Fields whose values come from the TCP tracker, or from what TCP reassembly delivers (DNS over
/// TCP, and what it adds to `frame.protocols`). Header fields of TCP read the packet alone.
fn needs_tcp_state(id: FieldId) -> bool {
    let def = Registry::get().def(id);
    let a = def.abbrev;
    match def.proto {
        crate::field::ProtoTag::Tcp => {
            !(matches!(
                a,
                "tcp"
                    | "tcp.port"
                    | "tcp.srcport"
                    | "tcp.dstport"
                    | "tcp.seq_raw"
                    | "tcp.ack_raw"
                    | "tcp.hdr_len"
                    | "tcp.len"
                    | "tcp.window_size_value"
                    | "tcp.checksum"
                    | "tcp.urgent_pointer"
            ) || a.starts_with("tcp.flags")
                || a.starts_with("tcp.option"))
        }
        crate::field::ProtoTag::Dns
        | crate::field::ProtoTag::Http
        | crate::field::ProtoTag::Data => true,
        _ => matches!(
            a,
            "frame.protocols" | "_ws.malformed" | "_ws.malformed.reason"
        ),
    }
}

/// Fields whose values the ordered stage computes (TCP and UDP streams, pairs, times, HTTP,
/// later frames); every other field reads the decoded packet alone, so a filter over such fields
/// can run before the ordered stage (see `engine::Options::stateless`; tests/stateless.rs checks
/// the claim on every frame of every capture).
pub fn needs_ordered(id: FieldId) -> bool {
    Registry::get().def(id).stage != crate::field::Stage::Packet
        || needs_tcp_state(id)
        || needs_udp_stream(id)
        || needs_http(id)
}

/// Fields whose values come from later frames: they need a first pass over the file.
fn needs_later(id: FieldId) -> bool {
    Registry::get().def(id).stage == crate::field::Stage::Later
}

/// Does the output or the filter read a field `pred` picks?
fn reads(fields: &[(String, FieldId)], filter: Option<&Filter>, pred: fn(FieldId) -> bool) -> bool {
    fields.iter().any(|(_, id)| pred(*id))
        || filter.is_some_and(|f| f.fields().iter().any(|id| pred(*id)))
}

/// tshark -2: a first pass over the file records which later frames answer which requests, so
/// the second can show `http.response_in`, `dns.response_in` and `icmp.resp_in`.
fn first_pass(path: &str, opts: &Options) -> Result<std::sync::Arc<engine::LaterLinks>> {
    if path == "-" {
        bail!(usage(
            "fields that point to later frames (such as http.response_in) need two passes, \
             so the capture must be a file, not standard input"
        ));
    }
    let opts = Options {
        later: None,
        // The links to answers are the pairs'.
        pairing: true,
        ..opts.clone()
    };
    let mut sink = engine::LaterSink::new(&opts.limits);
    run_pipeline(path, &opts, None, &mut sink)?;
    Ok(std::sync::Arc::new(sink.links))
}

/// Fields the ordered stage's pairing computes: the DNS and ICMP ones it does not read from
/// the packet alone (`dns.response_to`, `dns.time`, `icmp.resp_to`...).
fn needs_pairs(id: FieldId) -> bool {
    let def = Registry::get().def(id);
    def.stage != crate::field::Stage::Packet
        && matches!(
            def.proto,
            crate::field::ProtoTag::Dns
                | crate::field::ProtoTag::Icmp
                | crate::field::ProtoTag::Icmpv6
        )
}

/// The fields that read which segment an ACK acknowledges (see
/// [`crate::tcp::Tracker::without_ack_rtt`]).
fn needs_ack_rtt(id: FieldId) -> bool {
    matches!(
        Registry::get().def(id).abbrev,
        "tcp.analysis.acks_frame" | "tcp.analysis.ack_rtt" | "tcp.analysis.initial_rtt"
    )
}

/// `udp.stream`, which costs a table lookup per UDP packet when it is computed.
fn needs_udp_stream(id: FieldId) -> bool {
    Registry::get().def(id).abbrev == "udp.stream"
}

/// Turn on the ordered-stage work the fields and filter read beyond the command's own needs:
/// the whole TCP tracker for what it computes (a command may ask for less: none, or one without
/// analysis), HTTP parsing for `http.*`, UDP conversation numbers, and a first pass (also with
/// `two_pass`) for fields that point to later frames.
fn serve_reads(
    path: &str,
    opts: &mut Options,
    fields: &[(String, FieldId)],
    filter: Option<&Filter>,
    two_pass: bool,
) -> Result<()> {
    if reads(fields, filter, needs_tcp_state) {
        opts.tcp_state = true;
        opts.tcp_without_analysis = false;
    }
    opts.tcp_ack_rtt |= reads(fields, filter, needs_ack_rtt);
    opts.http |= reads(fields, filter, needs_http);
    opts.udp_streams |= reads(fields, filter, needs_udp_stream);
    opts.pairing |= reads(fields, filter, needs_pairs);
    if two_pass || reads(fields, filter, needs_later) {
        opts.later = Some(first_pass(path, opts)?);
    }
    Ok(())
}

/// What to decode: the application layer only when the output shows whole packets or a field
/// or the filter reads it (so `-Y tcp.port==80 --count` never parses DNS).
pub fn decode_options(
    whole_packets: bool,
    fields: &[(String, FieldId)],
    filter: Option<&Filter>,
) -> crate::decode::DecodeOptions {
    crate::decode::DecodeOptions {
        app: whole_packets || reads(fields, filter, needs_app),
    }
}

fn list(a: ListArgs, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    let path = capture_path(&a.capture)?;
    let fields = resolve_fields(&a.fields)?;
    // A bad filter is reported before any packet is read.
    let filter = a.filter.as_deref().map(compile_filter).transpose()?;
    // Rendered batches (about 250 KB of list lines each) are larger than the buffer and go
    // straight to `out` (see `output::write_all_parts`); what sinks write a packet at a time
    // is gathered into writes of this size.
    let buffered = io::BufWriter::with_capacity(64 * 1024, &mut *out);
    // Only the summary, the detail tree and full JSON show every layer of a packet.
    let whole_packets = match a.format.as_str() {
        _ if a.count_only => false,
        "fields" => false,
        "json" | "ndjson" | "ek" => fields.is_empty(),
        _ => true,
    };
    let decode = decode_options(whole_packets, &fields, filter.as_ref());
    // Every view of whole packets shows HTTP (the list in its Protocol and Info columns);
    // the detail tree and JSON also show udp.stream.
    let show_flow_fields = whole_packets && (a.verbose || a.format != "text");
    let mut sink: Box<dyn Sink> = match (a.format.as_str(), a.verbose) {
        _ if a.count_only => Box::new(CountSink {
            out: buffered,
            n: 0,
        }),
        ("fields", _) => {
            if fields.is_empty() {
                bail!(usage("-T fields needs at least one -e FIELD"));
            }
            Box::new(FieldsSink::new(
                buffered,
                fields.clone(),
                fields_options(&a.field_opts)?,
            ))
        }
        ("json", _) => Box::new(JsonSink::new(buffered, JsonStyle::Array, fields.clone())),
        ("ndjson" | "ek", _) => Box::new(JsonSink::new(buffered, JsonStyle::Lines, fields.clone())),
        ("text", true) => Box::new(DetailSink::new(buffered)),
        ("text", false) => Box::new(SummarySink::new(buffered)),
        (other, _) => bail!(usage(format!(
            "-T {other}: unknown format (text, fields, json, ndjson)"
        ))),
    };
    let mut opts = Options {
        max_frames: a.count,
        decode,
        http: whole_packets,
        udp_streams: show_flow_fields,
        tcp_state: whole_packets,
        // The summary line shows no acknowledged segment; the detail tree and JSON do.
        tcp_ack_rtt: show_flow_fields,
        stateless: a.count_only && !reads(&fields, filter.as_ref(), needs_ordered),
        ..a.capture.options()
    };
    serve_reads(&path, &mut opts, &fields, filter.as_ref(), a.two_pass)?;
    let report = run_pipeline(&path, &opts, filter.as_ref(), sink.as_mut())?;
    drop(sink); // flushed by the engine's finish()
    Ok(exit_for(&report, out))
}

/// Read a capture through the pipeline into `sink`, with progress on a terminal.
fn run_pipeline(
    path: &str,
    opts: &Options,
    filter: Option<&Filter>,
    sink: &mut dyn Sink,
) -> Result<engine::Report> {
    // The tables written after the run render on rayon's global pool
    // (`output::text::push_rows`): as many threads as decode. Its default is one per core (the
    // engine's is one fewer with HTTP or a sink that takes every frame, for the ordered stage's
    // sake, which is over when the tables are made); once built (by an earlier run in this
    // process), it stays.
    if opts.threads > 0 {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .build_global();
    }
    let reader = Reader::open(path)?;
    let total = if path == "-" {
        None
    } else {
        std::fs::metadata(path).ok().map(|m| m.len())
    };
    let mut bar = progress::Progress::new(total, io::stderr().is_terminal() && !reader.is_gzip());
    let matcher: &dyn Matcher = match filter {
        Some(f) => f,
        None => &MatchAll,
    };
    let report = engine::run(reader, opts, matcher, sink, &mut |bytes, frames| {
        bar.update(bytes, frames)
    })?;
    bar.finish();
    Ok(report)
}

/// Exit 1 when the capture could not be read to the end, after saying why; 0 otherwise.
fn exit_for(report: &engine::Report, out: &mut (dyn Write + Send)) -> ExitCode {
    for line in report.cut_short.lines(&report.limits) {
        eprintln!("wirelite: {line}");
    }
    match &report.capture_error {
        Some(err) => {
            // Everything read before the damage has been written; say what stopped the read.
            let _ = out.flush();
            eprintln!("wirelite: {err}");
            ExitCode::from(1)
        }
        None => ExitCode::SUCCESS,
    }
}

fn capture_path(c: &args::CaptureArgs) -> Result<String> {
    match (c.file.as_deref(), c.read_file.as_deref()) {
        (Some(_), Some(_)) => bail!(usage(
            "give the capture either as FILE or with -r, not both"
        )),
        (Some(p), None) | (None, Some(p)) => Ok(p.to_string()),
        (None, None) => bail!(usage("no capture file given (use - for standard input)")),
    }
}

/// Collects the streams of matching packets (`tcp -Y`) or the rows of one stream (`flow`).
struct StreamSink {
    /// With a filter (`tcp -Y`), a bit per stream number: did a shown packet belong to it (a
    /// set lookup per packet cost as much as a tenth of `tcp`). Without one, every stream is
    /// shown and nothing is recorded.
    matched: Option<Vec<u64>>,
    flow_of: Option<u32>,
    rows: Vec<crate::output::tcp::FlowRow>,
}

impl StreamSink {
    /// Did a shown packet belong to the stream (always, without a filter)?
    fn matched(&self, stream: u32) -> bool {
        self.matched.as_ref().is_none_or(|m| {
            m.get((stream / 64) as usize)
                .is_some_and(|w| w & (1 << (stream % 64)) != 0)
        })
    }
}

impl Sink for StreamSink {
    fn reads_packets(&self) -> bool {
        self.matched.is_some() || self.flow_of.is_some()
    }

    fn packet(&mut self, view: &crate::field::PacketView<'_>) -> io::Result<()> {
        if let Some(t) = &view.state.tcp {
            if let Some(matched) = &mut self.matched {
                let (word, bit) = ((t.stream / 64) as usize, t.stream % 64);
                if word >= matched.len() {
                    matched.resize(word + 1, 0);
                }
                if let Some(w) = matched.get_mut(word) {
                    *w |= 1 << bit;
                }
            }
            if self.flow_of == Some(t.stream) {
                self.rows.extend(crate::output::tcp::flow_row(view));
            }
        }
        Ok(())
    }
}

/// The table commands' filter (compiled before any packet is read) and whether to write JSON.
fn table_options(t: &args::TableArgs) -> Result<(Option<Filter>, bool)> {
    filter_and_format(t.filter.as_deref(), &t.format)
}

fn filter_and_format(filter: Option<&str>, format: &str) -> Result<(Option<Filter>, bool)> {
    let filter = filter.map(compile_filter).transpose()?;
    match format {
        "text" => Ok((filter, false)),
        "json" => Ok((filter, true)),
        other => bail!(usage(format!("-T {other}: unknown format (text, json)"))),
    }
}

/// Write a chart or diagram to `-o FILE`, or to standard output.
fn write_output(file: Option<&str>, text: &str, out: &mut (dyn Write + Send)) -> Result<()> {
    match file {
        Some(file) => std::fs::write(file, text).with_context(|| format!("writing {file}"))?,
        None => {
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

/// Write a table as pretty JSON or as its text form, whichever was asked for.
fn write_table(
    out: &mut (dyn Write + Send),
    json: bool,
    doc: impl FnOnce() -> serde_json::Value,
    text: impl FnOnce() -> String,
) -> Result<()> {
    let mut out = io::BufWriter::new(out);
    if json {
        serde_json::to_writer_pretty(&mut out, &doc())?;
        out.write_all(b"\n")?;
    } else {
        out.write_all(text().as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

fn tcp_table(a: args::TcpArgs, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    let path = capture_path(&a.capture)?;
    let (filter, json) = table_options(&a.table)?;
    let (report, sink) = connection_pass(&path, &a.capture, filter.as_ref(), None)?;
    let conns: Vec<&crate::tcp::ConnSummary> = report
        .connections
        .iter()
        .filter(|c| sink.matched(c.stream))
        .collect();
    let first = report.first_ts_ns.unwrap_or(0);
    use crate::output::tcp::{Totals, conn_json, table, totals_json};
    write_table(
        out,
        json,
        || {
            serde_json::json!({
                "connections": conns.iter().map(|c| conn_json(c, first)).collect::<Vec<_>>(),
                "summary": totals_json(&Totals::of(&conns)),
            })
        },
        || table(&conns, first, a.handshakes, a.explain),
    )?;
    Ok(exit_for(&report, out))
}

fn follow(a: args::FollowArgs, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    use crate::output::Transport;
    use crate::output::follow::{FollowSink, Format};
    let path = capture_path(&a.capture)?;
    let Some(format) = Format::parse(&a.format) else {
        bail!(usage(format!(
            "--format {}: unknown format (ascii, hex, raw)",
            a.format
        )));
    };
    let bad_stream = || {
        usage(format!(
            "--stream {}: give a number, tcp:N or udp:N",
            a.stream
        ))
    };
    let (transport, number) = match a.stream.split_once(':') {
        Some(("udp", n)) => (Transport::Udp, n),
        Some(("tcp", n)) => (Transport::Tcp, n),
        None => (Transport::Tcp, a.stream.as_str()),
        Some(_) => return Err(bad_stream()),
    };
    let stream: u32 = number.parse().map_err(|_| bad_stream())?;
    let opts = Options {
        decode: decode_options(false, &[], None),
        reassembly: match transport {
            Transport::Tcp => crate::tcp::Reassembly::Stream(stream),
            Transport::Udp => crate::tcp::Reassembly::Off,
        },
        // A TCP stream is found by its number and shown as reassembly delivers it: no
        // analysis. A UDP stream needs no tracker.
        tcp_state: transport == Transport::Tcp,
        tcp_without_analysis: true,
        udp_streams: transport == Transport::Udp,
        pairing: false,
        ..a.capture.options()
    };
    let mut sink = FollowSink::new(transport, stream, format, out);
    let report = run_pipeline(&path, &opts, None, &mut sink)?;
    if sink.nodes[0].is_none() {
        bail!(usage(format!(
            "{path} has no {} stream {stream}",
            transport.name().to_uppercase()
        )));
    }
    drop(sink); // written and flushed by its finish
    Ok(exit_for(&report, out))
}

/// Run a pairing sink over the whole capture. It sees every packet: the filter, handed to it
/// by `make`, only marks the rows to show (see [`crate::output::pairs::Keep`]).
fn pairs_run<S: Sink>(
    path: &str,
    capture: &args::CaptureArgs,
    filter: Option<Filter>,
    make: impl FnOnce(crate::output::pairs::Keep) -> S,
) -> Result<(engine::Report, S)> {
    let mut opts = Options {
        decode: crate::decode::DecodeOptions { app: true },
        // The tables read no TCP analysis; DNS over TCP needs the streams reassembled.
        tcp_without_analysis: true,
        ..capture.options()
    };
    let limits = opts.limits;
    // The stages the filter's fields need run whoever evaluates it.
    serve_reads(path, &mut opts, &[], filter.as_ref(), false)?;
    let mut sink = make(crate::output::pairs::Keep::new(filter, limits.table_rows));
    let report = run_pipeline(path, &opts, None, &mut sink)?;
    Ok((report, sink))
}

/// `ping`: each echo request with its reply, and per host pair statistics.
fn ping(a: args::PairArgs, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    use crate::output::pairs::{PingSink, ping_json, ping_text};
    let path = capture_path(&a.capture)?;
    let (filter, json) = table_options(&a.table)?;
    let (report, sink) = pairs_run(&path, &a.capture, filter, PingSink::new)?;
    let echoes: Vec<_> = sink.echoes.into_iter().filter(|e| e.picked).collect();
    write_table(out, json, || ping_json(&echoes), || ping_text(&echoes))?;
    Ok(exit_for(&report, out))
}

/// `dns`: each query with its response.
fn dns(a: args::PairArgs, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    use crate::output::pairs::{DnsSink, dns_json, dns_text};
    let path = capture_path(&a.capture)?;
    let (filter, json) = table_options(&a.table)?;
    let (report, sink) = pairs_run(&path, &a.capture, filter, DnsSink::new)?;
    let queries: Vec<_> = sink.queries.into_iter().filter(|q| q.picked).collect();
    let unsolicited = sink.unsolicited;
    write_table(
        out,
        json,
        || dns_json(&queries, &unsolicited),
        || dns_text(&queries, &unsolicited),
    )?;
    Ok(exit_for(&report, out))
}

/// `http`: each request with its response.
fn http(a: args::PairArgs, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    let path = capture_path(&a.capture)?;
    let (filter, json) = table_options(&a.table)?;
    let mut opts = Options {
        decode: crate::decode::DecodeOptions { app: true },
        http: true,
        // The table holds messages until their exchange is written, counted by rows.
        http_held: true,
        // The table reads the stream and HTTP, nothing else of the TCP tracker's.
        tcp_without_analysis: true,
        pairing: false,
        ..a.capture.options()
    };
    let limits = opts.limits;
    serve_reads(&path, &mut opts, &[], filter.as_ref(), false)?;
    // The rows are written on a thread of their own: the ordered stage's thread is what sets
    // this command's time, and writing the rows was a fifth of its work.
    let (rows_tx, rows_rx) = std::sync::mpsc::sync_channel::<Vec<Exchange>>(ROW_BATCHES);
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<Exchange>>();
    let table = crate::output::http::TableWriter::new(io::BufWriter::new(out), json);
    let (report, forced, out) = std::thread::scope(|scope| -> Result<_> {
        let writer = std::thread::Builder::new()
            .name("wirelite-rows".into())
            .spawn_scoped(scope, move || write_rows(table, &rows_rx, &spare_tx))?;
        let mut sink = HttpRows {
            inner: Default::default(),
            filter,
            picked: Default::default(),
            max_pending: limits.table_rows,
            forced: 0,
            taken: Vec::new(),
            batch: Vec::new(),
            rows: rows_tx,
            spare: spare_rx,
            packets: 0,
        };
        let report = run_pipeline(&path, &opts, None, &mut sink);
        let forced = sink.forced;
        drop(sink); // closes the rows' channel: the writer ends the table
        let written = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the http table's writer panicked"))?;
        // The writer's error (a closed pipe) is what stopped the run, if either failed; the
        // table ends only after a run that read the capture.
        let table = written?;
        let report = report?;
        let out = table.finish()?.into_inner().map_err(|e| e.into_error())?;
        Ok((report, forced, out))
    })?;
    if forced > 0 {
        eprintln!(
            "wirelite: memory cap (--max-memory {}): {} HTTP requests were shown without a \
             response: more than {} exchanges waited behind them",
            limits.max_memory >> 20,
            forced,
            limits.table_rows
        );
    }
    Ok(exit_for(&report, out))
}

/// Exchanges go to the `http` table's writer this many at a time...
const ROWS_PER_BATCH: usize = 256;
/// ...with at most this many batches on their way.
const ROW_BATCHES: usize = 4;

/// The `http` table's writer thread: every batch's rows (the caller ends the table). Each
/// batch goes back full, to be emptied by the thread that allocated its messages (freeing them
/// here contends with that thread for glibc's arena lock).
fn write_rows<W: Write>(
    mut table: crate::output::http::TableWriter<W>,
    rows: &std::sync::mpsc::Receiver<Vec<Exchange>>,
    spare: &std::sync::mpsc::Sender<Vec<Exchange>>,
) -> io::Result<crate::output::http::TableWriter<W>> {
    for batch in rows {
        for x in &batch {
            table.write(x)?;
        }
        // The ordered stage may have finished already; the batch is then just dropped.
        let _ = spare.send(batch);
    }
    Ok(table)
}

/// The `http` table, written as the capture is read: each exchange goes out as soon as nothing
/// can change it (in the order the table has always had), so memory follows the exchanges in
/// flight, not the capture. Past `max_pending` exchanges waiting behind an unanswered request,
/// that request is written without its response (and counted in `forced`).
struct HttpRows {
    inner: crate::output::http::HttpSink,
    filter: Option<Filter>,
    /// Frames with HTTP messages that the filter picked, while an exchange may still use them.
    picked: std::collections::HashSet<u64>,
    max_pending: usize,
    forced: u64,
    taken: Vec<Exchange>,
    /// The exchanges to show, gathered for the writer ([`write_rows`]).
    batch: Vec<Exchange>,
    rows: std::sync::mpsc::SyncSender<Vec<Exchange>>,
    /// Batches the writer is done with, to be emptied and filled again.
    spare: std::sync::mpsc::Receiver<Vec<Exchange>>,
    packets: u64,
}

impl HttpRows {
    /// The settled exchanges the filter picks, gathered into batches for the writer.
    fn send_taken(&mut self, last: bool) -> io::Result<()> {
        if self.filter.is_none() {
            self.batch.append(&mut self.taken);
        } else {
            let picked = &self.picked;
            let kept = self.taken.drain(..);
            self.batch
                .extend(kept.filter(|x| x.frames().any(|f| picked.contains(&f))));
        }
        if self.batch.len() >= ROWS_PER_BATCH || (last && !self.batch.is_empty()) {
            let next = match self.spare.try_recv() {
                Ok(mut used) => {
                    used.clear();
                    used
                }
                Err(_) => Vec::with_capacity(ROWS_PER_BATCH),
            };
            let full = std::mem::replace(&mut self.batch, next);
            self.rows
                .send(full)
                .map_err(|_| io::Error::other("the http table's writer stopped"))?;
        }
        Ok(())
    }

    /// Forget picked frames older than every exchange still pending and than `now`.
    fn prune_picked(&mut self, now: u64) {
        let low = self
            .inner
            .pending_frames()
            .min()
            .map_or(now, |f| f.min(now));
        self.picked.retain(|&f| f >= low);
    }
}

impl Sink for HttpRows {
    fn packet(&mut self, view: &crate::field::PacketView<'_>) -> io::Result<()> {
        let frame = view.rec.meta.number;
        if !view.state.http.is_empty() && self.filter.as_ref().is_some_and(|f| f.matches(view)) {
            self.picked.insert(frame);
        }
        self.inner.packet(view)?;
        self.inner.take_settled(false, &mut self.taken);
        while self.inner.pending() > self.max_pending {
            self.inner.take_oldest(&mut self.taken);
            self.forced += 1;
        }
        self.send_taken(false)?;
        self.packets += 1;
        if self.packets.is_multiple_of(4096) && !self.picked.is_empty() {
            self.prune_picked(frame);
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.take_settled(true, &mut self.taken);
        self.send_taken(true)
    }
}

/// `conv` and `endpoints`: the conversation table, or the endpoints it adds up to.
fn conv(a: args::ConvArgs, endpoints: bool, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    use crate::output::conv::{self as c, By, ConvSink, SortBy};
    let path = capture_path(&a.capture)?;
    let (filter, json) = filter_and_format(a.filter.as_deref(), &a.format)?;
    let by = By::parse(&a.by)
        .ok_or_else(|| usage(format!("--by {}: one of eth, ip, ipv6, tcp, udp", a.by)))?;
    let sort = SortBy::parse(&a.sort).ok_or_else(|| {
        usage(format!(
            "--sort {}: one of packets, bytes, start, duration",
            a.sort
        ))
    })?;
    // The table reads `tcp.stream` (by tcp) and nothing else of the TCP tracker's: it only
    // numbers the streams, or does not run, unless the filter reads more (`serve_reads`).
    let mut opts = Options {
        decode: decode_options(false, &[], filter.as_ref()),
        tcp_state: by == By::Tcp,
        tcp_without_analysis: true,
        udp_streams: by == By::Udp,
        pairing: false,
        ..a.capture.options()
    };
    serve_reads(&path, &mut opts, &[], filter.as_ref(), false)?;
    let mut sink = ConvSink::new(by).with_max_rows(opts.limits.table_rows);
    let report = run_pipeline(&path, &opts, filter.as_ref(), &mut sink)?;
    let mut convs = sink.conversations;
    if endpoints {
        let mut eps = c::endpoints(&convs);
        c::sort_endpoints(&mut eps, sort);
        write_table(
            out,
            json,
            || c::endpoints_json(by, &eps),
            || c::endpoints_text(by, &eps),
        )?;
    } else {
        c::sort_conversations(&mut convs, sort);
        write_table(
            out,
            json,
            || c::conv_json(by, &convs),
            || c::conv_text(by, &convs),
        )?;
    }
    Ok(exit_for(&report, out))
}

fn stats(a: args::StatsArgs, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    use crate::output::stats::{StatsSink, stats_json, stats_text};
    let path = capture_path(&a.capture)?;
    let (filter, json) = filter_and_format(a.filter.as_deref(), &a.format)?;
    // The hierarchy shows HTTP, which needs the HTTP parser.
    let mut opts = Options {
        decode: decode_options(false, &[], filter.as_ref()),
        http: true,
        // The hierarchy reads what reassembly delivers (HTTP, DNS over TCP), and the tables
        // nothing of the TCP tracker's.
        tcp_without_analysis: true,
        pairing: false,
        ..a.capture.options()
    };
    opts.decode.app = true;
    // The hierarchy asks only which frames carry HTTP; a filter on http.* needs the text.
    opts.http_framing_only = !reads(&[], filter.as_ref(), needs_http);
    serve_reads(&path, &mut opts, &[], filter.as_ref(), false)?;
    let mut sink = StatsSink::with_max_rows(opts.limits.table_rows);
    let report = run_pipeline(&path, &opts, filter.as_ref(), &mut sink)?;
    let format = report.format.map_or("unknown", |f| f.name());
    write_table(
        out,
        json,
        || stats_json(&sink, &path, format),
        || stats_text(&sink, &path, format),
    )?;
    Ok(exit_for(&report, out))
}

fn io_chart(a: args::IoArgs, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    use crate::output::io::{self as chart, IoSink, Metric};
    let path = capture_path(&a.capture)?;
    let interval = chart::parse_interval(&a.interval).ok_or_else(|| {
        usage(format!(
            "--interval {}: a positive time such as 1s, 500ms or 2m",
            a.interval
        ))
    })?;
    let metric = match a.metric.as_str() {
        "packets" => Metric::Packets,
        "bytes" => Metric::Bytes,
        other => bail!(usage(format!("--metric {other}: packets or bytes"))),
    };
    if !matches!(a.format.as_str(), "bars" | "csv" | "svg") {
        bail!(usage(format!(
            "--format {}: unknown format (bars, csv, svg)",
            a.format
        )));
    }
    let filters: Vec<Filter> = a
        .filters
        .iter()
        .map(|f| compile_filter(f))
        .collect::<Result<_>>()?;
    let mut opts = Options {
        // The chart counts frames: the tracker runs only for a filter that reads what it
        // computes (`serve_reads`).
        tcp_state: false,
        pairing: false,
        ..a.capture.options()
    };
    opts.decode.app = filters
        .iter()
        .any(|f| decode_options(false, &[], Some(f)).app);
    for f in &filters {
        serve_reads(&path, &mut opts, &[], Some(f), false)?;
    }
    let series = if filters.is_empty() {
        vec![("all frames".to_string(), None)]
    } else {
        a.filters
            .iter()
            .cloned()
            .zip(filters.into_iter().map(Some))
            .collect()
    };
    let mut sink = IoSink::new(interval, series);
    let report = run_pipeline(&path, &opts, None, &mut sink)?;
    let text = match a.format.as_str() {
        "csv" => chart::csv(&sink),
        "svg" => chart::svg(&sink, metric, &path),
        _ => chart::bars(&sink, metric, &path),
    };
    write_output(a.output.as_deref(), &text, out)?;
    Ok(exit_for(&report, out))
}

/// Read a capture for its TCP connections: the streams of packets matching `filter`, and the
/// diagram rows of stream `flow_of`.
fn connection_pass(
    path: &str,
    capture: &args::CaptureArgs,
    filter: Option<&Filter>,
    flow_of: Option<u32>,
) -> Result<(engine::Report, StreamSink)> {
    let mut opts = Options {
        decode: decode_options(false, &[], filter),
        collect_connections: true,
        pairing: false,
        // The table and the flow diagram show no acknowledged segment.
        tcp_ack_rtt: false,
        ..capture.options()
    };
    serve_reads(path, &mut opts, &[], filter, false)?;
    let mut sink = StreamSink {
        matched: filter.map(|_| Vec::new()),
        flow_of,
        rows: Vec::new(),
    };
    let report = run_pipeline(path, &opts, filter, &mut sink)?;
    Ok((report, sink))
}

fn flow(a: args::FlowArgs, out: &mut (dyn Write + Send)) -> Result<ExitCode> {
    let path = capture_path(&a.capture)?;
    if !matches!(a.format.as_str(), "text" | "svg") {
        bail!(usage(format!(
            "--format {}: unknown format (text, svg)",
            a.format
        )));
    }
    let (report, sink) = connection_pass(&path, &a.capture, None, Some(a.stream))?;
    let Some(conn) = report.connections.iter().find(|c| c.stream == a.stream) else {
        bail!(usage(format!(
            "{path} has no TCP stream {} (it has {} streams, numbered from 0)",
            a.stream,
            report.connections.len()
        )));
    };
    let text = if a.format == "svg" {
        crate::output::tcp::flow_svg(conn, &sink.rows)
    } else {
        crate::output::tcp::flow_text(conn, &sink.rows, a.explain)
    };
    write_output(a.output.as_deref(), &text, out)?;
    Ok(exit_for(&report, out))
}

fn print_fields(out: &mut (dyn Write + Send)) -> Result<()> {
    let mut out = io::BufWriter::new(out);
    for (_, def) in Registry::get().iter() {
        writeln!(out, "{}\t{}\t{}", def.abbrev, def.ty.describe(), def.label)
            .context("writing the field list")?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> (String, FieldId) {
        (name.to_string(), Registry::get().lookup(name).unwrap())
    }

    #[test]
    fn dns_is_decoded_only_when_something_reads_it() {
        let port80 = Filter::compile("tcp.port==80").unwrap();
        assert!(!decode_options(false, &[], Some(&port80)).app);
        assert!(!decode_options(false, &[field("ip.src")], None).app);
        let dns = Filter::compile("dns.qry.name contains \"lab\"").unwrap();
        assert!(decode_options(false, &[], Some(&dns)).app);
        assert!(decode_options(false, &[field("dns.a")], None).app);
        assert!(decode_options(true, &[], None).app);
    }
}
