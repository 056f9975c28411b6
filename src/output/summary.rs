//! The one-line packet list, laid out as tshark prints it: number (width 5), relative time
//! (width 10, the file's precision), source (right-aligned, width 12), an arrow, destination
//! (left-aligned, width 12), protocol, frame length, Info.

use std::io::{self, Write};

use super::text;
use crate::engine::Sink;
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

/// One summary line, without the newline.
pub fn summary_line(view: &PacketView<'_>, line: &mut String) {
    use std::fmt::Write as _;
    let meta = &view.rec.meta;
    let time = match view.state.time_relative_ns {
        Some(ns) => format_rel(ns, meta.ts_digits),
        None => String::new(),
    };
    let (src, dst) = text::addresses(view);
    let _ = write!(
        line,
        "{:>5} {:>10} {:>12} → {:<12} {} {} {}",
        meta.number,
        time,
        src,
        dst,
        text::protocol(view),
        meta.origlen,
        text::info(view)
    );
}

/// Seconds with `digits` decimals (truncated, as Wireshark does), keeping the sign.
pub fn format_rel(ns: i64, digits: u8) -> String {
    let digits = u32::from(digits.min(9));
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    let secs = abs / 1_000_000_000;
    let frac = (abs % 1_000_000_000) / 10u64.pow(9 - digits);
    if digits == 0 {
        format!("{sign}{secs}")
    } else {
        format!("{sign}{secs}.{frac:0width$}", width = digits as usize)
    }
}

impl<W: Write> Sink for SummarySink<W> {
    fn packet(&mut self, view: &PacketView<'_>) -> io::Result<()> {
        self.line.clear();
        summary_line(view, &mut self.line);
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
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
