//! Wireshark display filters: text → checked program → a verdict per packet.
//!
//! `lex`/`parse` build a syntax tree with spans; `compile` resolves names in the field registry,
//! types each literal by its field and rejects what cannot work, with tshark's messages and a
//! caret under the problem; the result evaluates over a [`PacketView`] without parsing anything.
//! It sees no capture, flow or output internals.

mod compile;
mod error;
mod parse;

use std::fmt::Write as _;

pub use error::{FilterError, Span};
pub use parse::MAX_DEPTH;

use crate::engine::Matcher;
use crate::field::{FieldId, PacketView, Registry};
use parse::{Expr, Operand, Quant, SetElem};

/// A compiled display filter.
#[derive(Debug)]
pub struct Filter {
    text: String,
    tree: Expr,
    program: compile::Node,
    fields: Vec<FieldId>,
}

/// Words that appear in capture filters (BPF) but not in display filters.
const CAPTURE_WORDS: [&str; 8] = [
    "port",
    "host",
    "net",
    "src",
    "dst",
    "portrange",
    "ether",
    "proto",
];

impl Filter {
    /// Compile a filter; errors carry tshark's message and a span for the caret.
    pub fn compile(text: &str) -> Result<Filter, FilterError> {
        let tree = parse::parse(text).map_err(|e| capture_filter_hint(text, e))?;
        let reg = Registry::get();
        let mut checker = compile::Checker {
            reg,
            fields: Vec::new(),
        };
        let program = checker
            .check(&tree)
            .map_err(|e| capture_filter_hint(text, e))?;
        Ok(Filter {
            text: text.to_string(),
            tree,
            program,
            fields: checker.fields,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The fields the filter reads.
    pub fn fields(&self) -> &[FieldId] {
        &self.fields
    }

    /// True when the filter reads a field only the ordered stage computes (tcp.stream, ...).
    pub fn needs_flow(&self) -> bool {
        compile::needs_flow(Registry::get(), &self.fields)
    }

    pub fn matches(&self, view: &PacketView<'_>) -> bool {
        self.program.eval(view)
    }

    /// The parsed form, fully parenthesized, as `filter-check` prints it.
    pub fn explain(&self) -> String {
        let mut s = String::new();
        show_expr(&self.tree, &mut s);
        s
    }
}

impl Matcher for Filter {
    fn matches(&self, view: &PacketView<'_>) -> bool {
        self.program.eval(view)
    }
}

fn capture_filter_hint(text: &str, e: FilterError) -> FilterError {
    let looks_like_bpf = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .any(|w| CAPTURE_WORDS.contains(&w));
    if e.message.ends_with("was unexpected in this context.") && looks_like_bpf {
        e.with_note("  Note: That read filter code looks like a valid capture filter;")
            .with_note("        maybe you mixed them up?")
    } else {
        e
    }
}

fn show_operand(o: &Operand, s: &mut String) {
    match o {
        Operand::Word(w, _) => s.push_str(w),
        Operand::Str(t, _) => {
            let _ = write!(s, "{t:?}");
        }
        Operand::Slice(base, ranges, _) => {
            show_operand(base, s);
            s.push('[');
            for (i, r) in ranges.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                match r.len {
                    Some(n) => {
                        let _ = write!(s, "{}:{n}", r.start);
                    }
                    None => {
                        let _ = write!(s, "{}:", r.start);
                    }
                }
            }
            s.push(']');
        }
        Operand::BitAnd(a, b, _) => {
            show_operand(a, s);
            s.push_str(" & ");
            show_operand(b, s);
        }
    }
}

fn show_quant(q: &Option<Quant>, s: &mut String) {
    match q {
        Some(Quant::All) => s.push_str("all "),
        Some(Quant::Any) => s.push_str("any "),
        None => {}
    }
}

fn show_expr(e: &Expr, s: &mut String) {
    let bin = |a: &Expr, op: &str, b: &Expr, s: &mut String| {
        s.push('(');
        show_expr(a, s);
        let _ = write!(s, " {op} ");
        show_expr(b, s);
        s.push(')');
    };
    match e {
        Expr::Or(a, b) => bin(a, "||", b, s),
        Expr::Xor(a, b) => bin(a, "^^", b, s),
        Expr::And(a, b) => bin(a, "&&", b, s),
        Expr::Not(a) => {
            s.push('!');
            show_expr(a, s);
        }
        Expr::Exists(o) => show_operand(o, s),
        Expr::Cmp {
            quant,
            lhs,
            op,
            rhs,
            ..
        } => {
            show_quant(quant, s);
            show_operand(lhs, s);
            let _ = write!(s, " {} ", op.symbol());
            show_operand(rhs, s);
        }
        Expr::In { quant, lhs, set } => {
            show_quant(quant, s);
            show_operand(lhs, s);
            s.push_str(" in {");
            for (i, el) in set.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                match el {
                    SetElem::One(o) => show_operand(o, s),
                    SetElem::Range(a, b) => {
                        show_operand(a, s);
                        s.push_str("..");
                        show_operand(b, s);
                    }
                }
            }
            s.push('}');
        }
        Expr::Contains { lhs, rhs } => {
            show_operand(lhs, s);
            s.push_str(" contains ");
            show_operand(rhs, s);
        }
        Expr::Matches { lhs, rhs } => {
            show_operand(lhs, s);
            s.push_str(" matches ");
            show_operand(rhs, s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_round_trips() {
        for f in [
            "tcp.port==80||udp.port==53&&dns.flags.response==1",
            "!(ip.addr == 10.0.0.0/8) and eth.src[0:3] == 00:1b:21",
            "tcp.port in {80 443 8000..8090}",
            "dns.qry.name matches \"^www\\\\.\"",
            "all tcp.port > 1024 xor tcp.flags & 0x12 == 0x12",
        ] {
            let once = Filter::compile(f).unwrap().explain();
            let twice = Filter::compile(&once).unwrap().explain();
            assert_eq!(once, twice, "{f}");
        }
    }
}
