//! The one-line packet list, laid out as tshark prints it: number (width 5), relative time
//! (width 10, the file's precision), source (right-aligned, width 12), an arrow, destination
//! (left-aligned, width 12), protocol, frame length, Info.

use std::io::{self, Write};

use super::text;
use crate::engine::{Render, Sink};
use crate::field::PacketView;

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
    let start = line.len();
    text::push_int(line, meta.number);
    pad_left(line, start, 5);
    line.push(' ');
    let start = line.len();
    if let Some(ns) = view.state.time_relative_ns {
        push_rel(line, ns, meta.ts_digits);
    }
    pad_left(line, start, 10);
    line.push(' ');
    let src_start = line.len();
    DST.with_borrow_mut(|dst| {
        dst.clear();
        text::write_addresses(view, line, dst);
        pad_left(line, src_start, 12);
        line.push_str(" → ");
        let start = line.len();
        line.push_str(dst);
        pad_right(line, start, 12);
    });
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

const SPACES: &str = "                                ";

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

/// Right-align what was written since `start` in `width` characters.
pub(crate) fn pad_left(line: &mut String, start: usize, width: usize) {
    let written = width_since(line, start);
    if let Some(pad) = width.checked_sub(written).and_then(|n| SPACES.get(..n)) {
        line.insert_str(start, pad);
    }
}

/// Left-align what was written since `start` in `width` characters.
pub(crate) fn pad_right(line: &mut String, start: usize, width: usize) {
    let written = width_since(line, start);
    if let Some(pad) = width.checked_sub(written).and_then(|n| SPACES.get(..n)) {
        line.push_str(pad);
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
    let digits = u32::from(digits.min(9));
    if ns < 0 {
        out.push('-');
    }
    let abs = ns.unsigned_abs();
    text::push_int(out, abs / 1_000_000_000);
    if digits > 0 {
        let frac = (abs % 1_000_000_000) / 10u64.pow(9 - digits);
        let mut buf = itoa::Buffer::new();
        let frac = buf.format(frac);
        out.push('.');
        for _ in frac.len()..digits as usize {
            out.push('0');
        }
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

    fn write_rendered(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::format_rel;

    #[test]
    fn relative_time_keeps_precision_and_sign() {
        assert_eq!(format_rel(30_000, 6), "0.000030");
        assert_eq!(format_rel(1_543_706_702_123, 6), "1543.706702");
        assert_eq!(format_rel(-1_000, 9), "-0.000001000");
    }
}
