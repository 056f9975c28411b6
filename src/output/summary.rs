//! The one-line packet list, laid out as tshark prints it: number (width 5), relative time
//! (width 10, the file's precision), source (right-aligned, width 12), an arrow, destination
//! (left-aligned, width 12), protocol, frame length, Info.

use std::io::{self, Write};

use super::text;
use crate::engine::{Render, Sink};
use crate::field::PacketView;
use crate::recent::Recent;

#[derive(Debug)]
pub struct SummarySink<W: Write> {
    out: W,
    line: String,
}

impl<W: Write> SummarySink<W> {
    pub fn new(out: W) -> Self {
        SummarySink {
            out,
            line: String::with_capacity(256),
        }
    }
}

/// One summary line, without the newline: tshark's columns No., Time, Source, Destination,
/// Protocol, Length and Info, aligned as `{:>5} {:>10} {:>12} → {:<12}` would align them.
pub fn summary_line(view: &PacketView<'_>, line: &mut String) {
    let meta = &view.rec.meta;
    // Each column's width is known before it is written, so its padding goes first: padding
    // after the fact would move the column's bytes to insert it.
    push_right(line, itoa::Buffer::new().format(meta.number), 5);
    line.push(' ');
    match view.state.time_relative_ns {
        Some(ns) => push_rel_aligned(line, ns, meta.ts_digits, 10),
        None => line.push_str(&spaces(10)),
    }
    line.push(' ');
    match text::outer_ipv4(view) {
        Some((src, dst)) => push_ipv4_columns(line, src, dst),
        None => DST.with_borrow_mut(|dst| {
            let src_start = line.len();
            dst.clear();
            text::write_addresses(view, line, dst);
            pad_left(line, src_start, 12);
            line.push_str(" → ");
            let start = line.len();
            line.push_str(dst);
            pad_right(line, start, 12);
        }),
    }
    line.push(' ');
    line.push_str(text::protocol(view));
    line.push(' ');
    text::push_int(line, meta.origlen);
    line.push(' ');
    text::write_info(view, line);
}

thread_local! {
    /// The destination column, written beside the source before both are aligned (one buffer
    /// per rendering thread, so a line costs no allocation).
    static DST: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Sets and ways of [`IPV4_COLUMNS`]: a capture's lines come from a handful of conversations at
/// a time, and four of them may share a set.
const IPV4_COLUMN_SETS: usize = 4;
const IPV4_COLUMN_WAYS: usize = 4;

thread_local! {
    /// The address columns of recent lines (`   10.0.1.22 → 10.0.1.10   `), by their two
    /// addresses. Most lines repeat a recent pair: then the columns are one copy instead of
    /// two addresses written digit by digit (each checked as UTF-8), two pads and an arrow,
    /// which were a seventh of the rendering threads' work in the list. A miss (more of them in
    /// a capture of many pairs at once) writes the columns into the memory and copies them
    /// from there: one copy more than before.
    static IPV4_COLUMNS: std::cell::RefCell<
        Recent<String, IPV4_COLUMN_SETS, IPV4_COLUMN_WAYS>,
    > = std::cell::RefCell::new(Recent::default());
}

/// The source and destination columns of an IPv4 packet's line (see [`IPV4_COLUMNS`]).
fn push_ipv4_columns(line: &mut String, src: [u8; 4], dst: [u8; 4]) {
    let pair = u64::from(u32::from_be_bytes(src)) << 32 | u64::from(u32::from_be_bytes(dst));
    IPV4_COLUMNS.with_borrow_mut(|mem| {
        if let Some(text) = mem.get(pair) {
            line.push_str(text);
            return;
        }
        match mem.put(pair) {
            Some(text) => {
                text.clear();
                write_ipv4_columns(text, src, dst);
                line.push_str(text);
            }
            None => write_ipv4_columns(line, src, dst),
        }
    });
}

/// Source right-aligned and destination left-aligned in 12 characters, with the arrow between.
fn write_ipv4_columns(line: &mut String, src: [u8; 4], dst: [u8; 4]) {
    line.push_str(&spaces(12usize.saturating_sub(text::ipv4_width(src))));
    text::push_ipv4(line, src);
    line.push_str(" → ");
    text::push_ipv4(line, dst);
    line.push_str(&spaces(12usize.saturating_sub(text::ipv4_width(dst))));
}

const SPACES: &str = "                                ";
const ZEROS: &str = "000000000";

/// `s` (ASCII) right-aligned in `width` characters.
fn push_right(line: &mut String, s: &str, width: usize) {
    line.push_str(&spaces(width.saturating_sub(s.len())));
    line.push_str(s);
}

/// Characters written since `start` (addresses and numbers are ASCII: no decoding then).
fn width_since(line: &str, start: usize) -> usize {
    line.get(start..).map_or(0, |s| {
        if s.is_ascii() {
            s.len()
        } else {
            s.chars().count()
        }
    })
}

/// `n` spaces: a slice of [`SPACES`], made only for a pad wider than it.
fn spaces(n: usize) -> std::borrow::Cow<'static, str> {
    match SPACES.get(..n) {
        Some(pad) => pad.into(),
        None => " ".repeat(n).into(),
    }
}

/// Right-align what was written since `start` in `width` characters.
pub(crate) fn pad_left(line: &mut String, start: usize, width: usize) {
    let written = width_since(line, start);
    if let Some(n) = width.checked_sub(written) {
        line.insert_str(start, &spaces(n));
    }
}

/// Left-align what was written since `start` in `width` characters.
pub(crate) fn pad_right(line: &mut String, start: usize, width: usize) {
    let written = width_since(line, start);
    if let Some(n) = width.checked_sub(written) {
        line.push_str(&spaces(n));
    }
}

/// Seconds with `digits` decimals (truncated, as Wireshark does), keeping the sign.
pub fn format_rel(ns: i64, digits: u8) -> String {
    let mut s = String::new();
    push_rel(&mut s, ns, digits);
    s
}

/// [`format_rel`], appended to `out`.
pub fn push_rel(out: &mut String, ns: i64, digits: u8) {
    push_rel_aligned(out, ns, digits, 0);
}

/// [`push_rel`], right-aligned in `width` characters.
fn push_rel_aligned(out: &mut String, ns: i64, digits: u8, width: usize) {
    let digits = usize::from(digits.min(9));
    let abs = ns.unsigned_abs();
    let mut secs = itoa::Buffer::new();
    let secs = secs.format(abs / 1_000_000_000);
    let written = usize::from(ns < 0) + secs.len() + if digits > 0 { 1 + digits } else { 0 };
    out.push_str(&spaces(width.saturating_sub(written)));
    if ns < 0 {
        out.push('-');
    }
    out.push_str(secs);
    if digits > 0 {
        // `digits` is at most 9, so the exponent is too.
        let frac = (abs % 1_000_000_000) / 10u64.pow(9 - digits as u32);
        let mut buf = itoa::Buffer::new();
        let frac = buf.format(frac);
        out.push('.');
        let zeros = digits.saturating_sub(frac.len());
        out.push_str(ZEROS.get(..zeros).unwrap_or(ZEROS));
        out.push_str(frac);
    }
}

/// Renders summary lines in the engine's parallel stage.
#[derive(Debug)]
pub struct SummaryRender;

impl Render for SummaryRender {
    fn render(&self, view: &PacketView<'_>, out: &mut String) {
        summary_line(view, out);
        out.push('\n');
    }
}

impl<W: Write + Send> Sink for SummarySink<W> {
    fn packet(&mut self, view: &PacketView<'_>) -> io::Result<()> {
        self.line.clear();
        SummaryRender.render(view, &mut self.line);
        self.out.write_all(self.line.as_bytes())
    }

    fn renderer(&self) -> Option<&dyn Render> {
        Some(&SummaryRender)
    }

    fn write_rendered(&mut self, parts: &[String]) -> io::Result<()> {
        super::write_all_parts(&mut self.out, parts)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::{
        IPV4_COLUMN_SETS, IPV4_COLUMN_WAYS, format_rel, push_ipv4_columns, push_rel_aligned,
    };

    /// Pairs of addresses far more than the memory holds, in an order that sends many pairs to
    /// each set in turn: every line's columns are the pair's own, as `{:>12} → {:<12}` lays
    /// them out.
    #[test]
    fn remembered_address_columns_are_each_pairs_own() {
        let pairs: Vec<([u8; 4], [u8; 4])> = (0u8..40)
            .map(|i| ([10, 0, i % 3, i], [192, 168, 100 + i % 7, 255 - i]))
            .collect();
        assert!(pairs.len() > 2 * IPV4_COLUMN_SETS * IPV4_COLUMN_WAYS);
        for round in 0..3 {
            for (i, &(src, dst)) in pairs.iter().enumerate() {
                // Each round in another order, the last backwards.
                let (src, dst) = if round == 2 { (dst, src) } else { (src, dst) };
                let mut line = String::from("x ");
                push_ipv4_columns(&mut line, src, dst);
                let show = |a: [u8; 4]| std::net::Ipv4Addr::from(a).to_string();
                let want = format!("x {:>12} → {:<12}", show(src), show(dst));
                assert_eq!(line, want, "pair {i}, round {round}");
            }
        }
    }

    #[test]
    fn relative_time_keeps_precision_and_sign() {
        assert_eq!(format_rel(30_000, 6), "0.000030");
        assert_eq!(format_rel(1_543_706_702_123, 6), "1543.706702");
        assert_eq!(format_rel(-1_000, 9), "-0.000001000");
        assert_eq!(format_rel(2_999_999_999, 0), "2");
    }

    /// The padding is counted before the time is written: it must come out as wide as padding
    /// what was written would have made it, sign and all.
    #[test]
    fn aligned_time_is_as_wide_as_the_column() {
        for (ns, digits) in [(30_000, 6), (-1_000, 9), (-1_500_000_000, 3), (7, 0)] {
            let mut s = String::new();
            push_rel_aligned(&mut s, ns, digits, 10);
            let time = format_rel(ns, digits);
            assert_eq!(s, format!("{time:>10}"), "{ns} ns, {digits} digits");
        }
        let mut s = String::new();
        push_rel_aligned(&mut s, 1_543_706_702_123, 9, 10);
        assert_eq!(
            s, "1543.706702123",
            "wider than the column: no padding, nothing cut"
        );
    }
}
