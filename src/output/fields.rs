//! `-T fields`: one line per packet, the values of the requested fields in tshark's text form.
//! `-E header=y`, `-E separator=C` (`/t` tab, `/s` space), `-E occurrence=f|l|a|N`,
//! `-E aggregator=C` and `-E quote=d|s|n` behave as in tshark.

use std::io::{self, Write};

use crate::engine::{Render, Sink};
use crate::field::{Display, FieldId, PacketView, Registry, Value};

/// Which occurrences of a repeated field to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occurrence {
    All,
    First,
    Last,
    /// The n-th (1-based).
    Nth(usize),
}

#[derive(Clone, Debug)]
pub struct FieldsOptions {
    pub header: bool,
    pub separator: String,
    pub aggregator: String,
    pub occurrence: Occurrence,
    pub quote: Option<char>,
}

impl Default for FieldsOptions {
    fn default() -> Self {
        FieldsOptions {
            header: false,
            separator: "\t".into(),
            aggregator: ",".into(),
            occurrence: Occurrence::All,
            quote: None,
        }
    }
}

#[derive(Debug)]
pub struct FieldsSink<W: Write> {
    out: W,
    render: FieldsRender,
    header_done: bool,
    line: String,
}

impl<W: Write> FieldsSink<W> {
    pub fn new(out: W, fields: Vec<(String, FieldId)>, opts: FieldsOptions) -> Self {
        FieldsSink {
            out,
            render: FieldsRender { fields, opts },
            header_done: false,
            line: String::new(),
        }
    }

    /// The header line (with `-E header=y`), once, before the first text that `some` says
    /// comes, or at the end if none came.
    fn header_before(&mut self, some: bool) -> io::Result<()> {
        if !some || !self.render.opts.header || self.header_done {
            return Ok(());
        }
        self.header_done = true;
        self.header()
    }

    fn header(&mut self) -> io::Result<()> {
        let names: Vec<&str> = self.render.fields.iter().map(|(n, _)| n.as_str()).collect();
        writeln!(self.out, "{}", names.join(&self.render.opts.separator))
    }
}

/// The values of one field in a packet, formatted as tshark does.
pub fn field_strings(view: &PacketView<'_>, id: FieldId) -> Vec<String> {
    let reg = Registry::get();
    let display: Display = reg.def(id).display;
    let mut out = Vec::new();
    reg.extract(id, view, &mut |v: Value<'_>| out.push(v.to_tshark(display)));
    out
}

/// Renders field columns in the engine's parallel stage.
#[derive(Debug)]
pub struct FieldsRender {
    fields: Vec<(String, FieldId)>,
    opts: FieldsOptions,
}

impl Render for FieldsRender {
    fn render(&self, view: &PacketView<'_>, line: &mut String) {
        for (i, (_, id)) in self.fields.iter().enumerate() {
            if i > 0 {
                line.push_str(&self.opts.separator);
            }
            let values = field_strings(view, *id);
            let chosen: Vec<&String> = match self.opts.occurrence {
                Occurrence::All => values.iter().collect(),
                Occurrence::First => values.first().into_iter().collect(),
                Occurrence::Last => values.last().into_iter().collect(),
                Occurrence::Nth(n) => values.get(n.saturating_sub(1)).into_iter().collect(),
            };
            if chosen.is_empty() {
                continue;
            }
            if let Some(q) = self.opts.quote {
                line.push(q);
            }
            for (j, v) in chosen.iter().enumerate() {
                if j > 0 {
                    line.push_str(&self.opts.aggregator);
                }
                // Values carry capture bytes: control characters are escaped for the terminal.
                line.push_str(&super::safe_text(v));
            }
            if let Some(q) = self.opts.quote {
                line.push(q);
            }
        }
        line.push('\n');
    }
}

impl<W: Write + Send> Sink for FieldsSink<W> {
    fn packet(&mut self, view: &PacketView<'_>) -> io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        self.render.render(view, &mut line);
        let written = self
            .header_before(!line.is_empty())
            .and_then(|()| self.out.write_all(line.as_bytes()));
        self.line = line;
        written
    }

    fn renderer(&self) -> Option<&dyn Render> {
        Some(&self.render)
    }

    fn write_rendered(&mut self, parts: &[String]) -> io::Result<()> {
        self.header_before(parts.iter().any(|p| !p.is_empty()))?;
        super::write_all_parts(&mut self.out, parts)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.header_before(true)?;
        self.out.flush()
    }
}
