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

/// Run a parsed command line and say how the process should exit.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::List(a) => list(a),
        Command::Fields => print_fields().map(|()| ExitCode::SUCCESS),
        Command::FilterCheck { filter } => filter_check(&filter),
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

fn filter_check(text: &str) -> Result<ExitCode> {
    let f = compile_filter(text)?;
    let reg = Registry::get();
    let names: Vec<&str> = f.fields().iter().map(|&id| reg.def(id).abbrev).collect();
    let mut out = io::stdout().lock();
    writeln!(out, "{}", f.explain())?;
    writeln!(out, "fields: {}", names.join(" "))?;
    Ok(ExitCode::SUCCESS)
}

/// Counts matching packets and prints the number at the end (`--count`).
struct CountSink<W: Write> {
    out: W,
    n: u64,
}

impl<W: Write> Sink for CountSink<W> {
    fn packet(&mut self, _: &crate::field::PacketView<'_>) -> io::Result<()> {
        self.n += 1;
        Ok(())
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

/// What to decode: the application layer only when the output shows whole packets or a field
/// or the filter reads it (so `-Y tcp.port==80 --count` never parses DNS).
pub fn decode_options(
    whole_packets: bool,
    fields: &[(String, FieldId)],
    filter: Option<&Filter>,
) -> crate::decode::DecodeOptions {
    let filter_fields = filter.map(Filter::fields).unwrap_or(&[]);
    crate::decode::DecodeOptions {
        app: whole_packets
            || fields.iter().any(|(_, id)| needs_app(*id))
            || filter_fields.iter().any(|id| needs_app(*id)),
    }
}

fn list(a: ListArgs) -> Result<ExitCode> {
    let path = match (a.file.as_deref(), a.read_file.as_deref()) {
        (Some(_), Some(_)) => bail!(usage(
            "give the capture either as FILE or with -r, not both"
        )),
        (Some(p), None) | (None, Some(p)) => p.to_string(),
        (None, None) => bail!(usage("no capture file given (use - for standard input)")),
    };
    let fields = resolve_fields(&a.fields)?;
    // A bad filter is reported before any packet is read.
    let filter = a.filter.as_deref().map(compile_filter).transpose()?;
    let stdout = io::stdout().lock();
    let out = io::BufWriter::with_capacity(256 * 1024, stdout);
    // Only the summary, the detail tree and full JSON show every layer of a packet.
    let whole_packets = match a.format.as_str() {
        _ if a.count_only => false,
        "fields" => false,
        "json" | "ndjson" | "ek" => fields.is_empty(),
        _ => true,
    };
    let decode = decode_options(whole_packets, &fields, filter.as_ref());
    let mut sink: Box<dyn Sink> = match (a.format.as_str(), a.verbose) {
        _ if a.count_only => Box::new(CountSink { out, n: 0 }),
        ("fields", _) => {
            if fields.is_empty() {
                bail!(usage("-T fields needs at least one -e FIELD"));
            }
            Box::new(FieldsSink::new(out, fields, fields_options(&a.field_opts)?))
        }
        ("json", _) => Box::new(JsonSink::new(out, JsonStyle::Array, fields)),
        ("ndjson" | "ek", _) => Box::new(JsonSink::new(out, JsonStyle::Lines, fields)),
        ("text", true) => Box::new(DetailSink::new(out)),
        ("text", false) => Box::new(SummarySink::new(out)),
        (other, _) => bail!(usage(format!(
            "-T {other}: unknown format (text, fields, json, ndjson)"
        ))),
    };
    let reader = Reader::open(&path)?;
    let total = if path == "-" {
        None
    } else {
        std::fs::metadata(&path).ok().map(|m| m.len())
    };
    let opts = Options {
        threads: a.threads,
        max_frames: a.count,
        batch_frames: a.batch_frames,
        decode,
        ..Options::default()
    };
    let mut bar = progress::Progress::new(total, io::stderr().is_terminal() && !reader.is_gzip());
    let matcher: &dyn Matcher = match &filter {
        Some(f) => f,
        None => &MatchAll,
    };
    let report = engine::run(
        reader,
        &opts,
        matcher,
        sink.as_mut(),
        &mut |bytes, frames| bar.update(bytes, frames),
    )?;
    bar.finish();
    if let Some(err) = report.capture_error {
        // Everything read before the damage has been written; say what stopped the read.
        let _ = io::stdout().flush();
        eprintln!("wirelite: {err}");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_fields() -> Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
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
