//! `io`: packets and bytes per time interval, for one or several display filters, as tshark's
//! `-z io,stat` counts them (intervals from the first frame's time), drawn as a terminal bar
//! chart, written as CSV, or as an SVG line chart.
//!
//! Memory: one counter pair per interval and series, at most [`MAX_INTERVALS`] intervals; frames
//! past the last one are counted as beyond the chart and reported.

use std::fmt::Write as _;

use super::stats::bar;
use super::tcp::xml_escape;
use crate::engine::Sink;
use crate::field::PacketView;
use crate::filter::Filter;

/// Intervals a chart may have (1.1 days of 0.1 s intervals).
pub const MAX_INTERVALS: usize = 1 << 20;

/// What the chart draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Packets,
    Bytes,
}

/// One line of the chart: a label and, unless it is every frame, its filter.
pub struct Series {
    pub label: String,
    pub filter: Option<Filter>,
    /// (packets, bytes) per interval.
    pub counts: Vec<(u64, u64)>,
}

pub struct IoSink {
    pub interval_ns: i64,
    pub series: Vec<Series>,
    origin: Option<i64>,
    /// Frames later than the last interval the chart can hold.
    pub beyond: u64,
}

/// Parse an interval: a number with an optional unit (`s`, `ms`, `us`, `m`, `h`), seconds by default.
pub fn parse_interval(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().ok()?;
    let scale = match unit.trim() {
        "" | "s" => 1e9,
        "ms" => 1e6,
        "us" | "µs" => 1e3,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => return None,
    };
    let ns = (value * scale).round();
    (1.0..1e18).contains(&ns).then_some(ns as i64)
}

impl IoSink {
    pub fn new(interval_ns: i64, series: Vec<(String, Option<Filter>)>) -> IoSink {
        IoSink {
            interval_ns: interval_ns.max(1),
            series: series
                .into_iter()
                .map(|(label, filter)| Series {
                    label,
                    filter,
                    counts: Vec::new(),
                })
                .collect(),
            origin: None,
            beyond: 0,
        }
    }

    /// Intervals from the first to the last one with a frame.
    pub fn intervals(&self) -> usize {
        self.series
            .iter()
            .map(|s| s.counts.len())
            .max()
            .unwrap_or(0)
    }

    fn value(&self, c: (u64, u64), metric: Metric) -> u64 {
        match metric {
            Metric::Packets => c.0,
            Metric::Bytes => c.1,
        }
    }

    /// The largest value of any series in any interval.
    fn max(&self, metric: Metric) -> u64 {
        self.series
            .iter()
            .flat_map(|s| s.counts.iter())
            .map(|&c| self.value(c, metric))
            .max()
            .unwrap_or(0)
    }

    fn label_of(&self, i: usize) -> String {
        let secs = |k: usize| k as f64 * self.interval_ns as f64 / 1e9;
        format!("{}-{}", trim(secs(i)), trim(secs(i + 1)))
    }
}

/// A number of seconds without trailing zeros: 1.500 → "1.5", 2.000 → "2".
fn trim(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

impl Sink for IoSink {
    fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
        // Frames without a timestamp count at time 0, as tshark's relative time has them.
        let ts = view.rec.meta.ts_ns.unwrap_or(0);
        let origin = *self.origin.get_or_insert(ts);
        let slot = ts.saturating_sub(origin).max(0) / self.interval_ns;
        let Some(slot) = usize::try_from(slot).ok().filter(|&s| s < MAX_INTERVALS) else {
            self.beyond += 1;
            return Ok(());
        };
        let bytes = u64::from(view.rec.meta.origlen);
        for s in &mut self.series {
            if s.filter.as_ref().is_none_or(|f| f.matches(view)) {
                if s.counts.len() <= slot {
                    s.counts.resize(slot + 1, (0, 0));
                }
                if let Some(c) = s.counts.get_mut(slot) {
                    c.0 += 1;
                    c.1 += bytes;
                }
            }
        }
        Ok(())
    }
}

/// The terminal chart: one row per interval and series, bars scaled to the largest value.
pub fn bars(io: &IoSink, metric: Metric, file: &str) -> String {
    const WIDTH: usize = 40;
    let mut o = String::new();
    let what = match metric {
        Metric::Packets => "packets",
        Metric::Bytes => "bytes",
    };
    let _ = writeln!(
        o,
        "{file}: {what} per {} s interval",
        trim(io.interval_ns as f64 / 1e9)
    );
    let n = io.intervals();
    let max = io.max(metric);
    let label_w = io
        .series
        .iter()
        .map(|s| s.label.chars().count())
        .max()
        .unwrap_or(0);
    let time_w = (0..n)
        .map(|i| io.label_of(i).len())
        .max()
        .unwrap_or(0)
        .max(8);
    let _ = writeln!(o, "{:>time_w$}  {:<label_w$}", "time (s)", "series");
    for i in 0..n {
        for (k, s) in io.series.iter().enumerate() {
            let c = s.counts.get(i).copied().unwrap_or((0, 0));
            let v = io.value(c, metric);
            let time = if k == 0 {
                io.label_of(i)
            } else {
                String::new()
            };
            let label = if io.series.len() > 1 {
                s.label.as_str()
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "{time:>time_w$}  {label:<label_w$} {:<WIDTH$} {v}",
                bar(v, max, WIDTH)
            );
        }
    }
    for s in &io.series {
        let (p, b) = s.counts.iter().fold((0, 0), |(p, b), c| (p + c.0, b + c.1));
        let _ = writeln!(o, "total {}: {p} packets, {b} bytes", s.label);
    }
    if io.beyond > 0 {
        let _ = writeln!(
            o,
            "{} frames lie past the chart's last interval ({MAX_INTERVALS} at most): use a longer --interval",
            io.beyond
        );
    }
    o
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV: the interval's start and end in seconds, then packets and bytes of each series.
pub fn csv(io: &IoSink) -> String {
    let mut o = String::from("start_s,end_s");
    for s in &io.series {
        let _ = write!(
            o,
            ",{},{}",
            csv_field(&format!("{} packets", s.label)),
            csv_field(&format!("{} bytes", s.label))
        );
    }
    o.push('\n');
    let secs = |k: usize| trim(k as f64 * io.interval_ns as f64 / 1e9);
    for i in 0..io.intervals() {
        let _ = write!(o, "{},{}", secs(i), secs(i + 1));
        for s in &io.series {
            let c = s.counts.get(i).copied().unwrap_or((0, 0));
            let _ = write!(o, ",{},{}", c.0, c.1);
        }
        o.push('\n');
    }
    o
}

/// An SVG line chart: one polyline per series over the intervals, with axes and a legend.
pub fn svg(io: &IoSink, metric: Metric, file: &str) -> String {
    const COLORS: [&str; 6] = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    ];
    let (w, h, left, right, top, bottom) = (800.0, 360.0, 70.0, 20.0, 50.0, 50.0);
    let n = io.intervals().max(1);
    let max = io.max(metric).max(1);
    let x = |i: usize| left + (w - left - right) * (i as f64 + 0.5) / n as f64;
    let y = |v: u64| top + (h - top - bottom) * (1.0 - v as f64 / max as f64);
    let what = match metric {
        Metric::Packets => "packets",
        Metric::Bytes => "bytes",
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(o, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        o,
        "<text x=\"{left}\" y=\"20\" font-size=\"14\">{} per {} s</text>",
        xml_escape(&format!("{file}: {what}")),
        trim(io.interval_ns as f64 / 1e9)
    );
    // Axes, with the largest value and the time span marked.
    let (x0, y0, x1) = (left, h - bottom, w - right);
    let _ = writeln!(
        o,
        "<path d=\"M{x0} {top} L{x0} {y0} L{x1} {y0}\" stroke=\"#444\" fill=\"none\"/>"
    );
    let _ = writeln!(
        o,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text>",
        x0 - 6.0,
        top + 4.0
    );
    let _ = writeln!(
        o,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        x0 - 6.0,
        y0 + 4.0
    );
    let _ = writeln!(
        o,
        "<text x=\"{x1}\" y=\"{}\" text-anchor=\"end\">{} s</text>",
        y0 + 20.0,
        trim(n as f64 * io.interval_ns as f64 / 1e9)
    );
    for (k, s) in io.series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let points: Vec<String> = (0..n)
            .map(|i| {
                let v = io.value(s.counts.get(i).copied().unwrap_or((0, 0)), metric);
                format!("{:.1},{:.1}", x(i), y(v))
            })
            .collect();
        let _ = writeln!(
            o,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
        let ly = top + 16.0 * k as f64;
        let _ = writeln!(
            o,
            "<text x=\"{}\" y=\"{ly}\" fill=\"{color}\">{}</text>",
            left + 10.0,
            xml_escape(&s.label)
        );
    }
    o.push_str("</svg>\n");
    o
}
