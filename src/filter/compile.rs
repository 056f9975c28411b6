//! Syntax tree → checked program, and its evaluation over a packet.
//!
//! The check resolves every name in the field registry and types every literal by the field it
//! meets (an IPv4 address, a CIDR block, a MAC, bytes, a number, a string, a time), so evaluation
//! never parses text. Semantics follow Wireshark 4.x: a test on an absent field is false; `==`,
//! `>`, `contains`, `matches`, `in` hold when *any* occurrence does; `!=` when *no* occurrence is
//! equal; `===` when all are; `!==`/`~=` when some is not.

use std::cmp::Ordering;

use super::error::{FilterError, Span};
use super::parse::{CmpOp, Expr, Operand, Quant, Range, SetElem};
use crate::field::{FieldId, FieldType, PacketView, Registry, Stage, Value};

/// A literal, typed by the field it is compared with.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Uint(u64),
    Int(i64),
    Ipv4 { addr: u32, prefix: u8 },
    Ipv6 { addr: [u8; 16], prefix: u8 },
    Bytes(Vec<u8>),
    Time(i64),
    Double(f64),
}

/// Where values come from: a field, maybe sliced, maybe masked.
#[derive(Clone, Debug)]
pub struct Src {
    pub field: FieldId,
    pub slice: Option<Vec<Range>>,
    pub mask: Option<u64>,
}

#[derive(Clone, Debug)]
pub enum Rhs {
    Lit(Lit),
    Field(Src),
}

#[derive(Debug)]
pub enum Node {
    Or(Box<Node>, Box<Node>),
    Xor(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Exists(Src),
    Cmp {
        quant: Quant,
        src: Src,
        op: CmpOp,
        rhs: Rhs,
    },
    In {
        quant: Quant,
        src: Src,
        set: Vec<(Lit, Option<Lit>)>,
    },
    Contains {
        src: Src,
        needle: Vec<u8>,
    },
    Matches {
        src: Src,
        re: regex::bytes::Regex,
    },
}

/// A value as a field-to-field test (`tcp.srcport > tcp.dstport`) compares it with another:
/// the kinds that compare with each other made one (numbers, text and bytes, times). Both sides
/// borrow their bytes from the registry's values.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Val<'v> {
    U(u64),
    I(i64),
    F(f64),
    Ipv4(u32),
    Ipv6([u8; 16]),
    Mac([u8; 6]),
    Bytes(&'v [u8]),
    Time(i64),
}

#[inline]
fn to_val<'v>(v: &'v Value<'_>) -> Val<'v> {
    match v {
        Value::Present => Val::U(1),
        Value::Bool(b) => Val::U(u64::from(*b)),
        Value::Uint(u) => Val::U(*u),
        Value::Int(i) => Val::I(*i),
        Value::Ipv4(a) => Val::Ipv4(u32::from_be_bytes(*a)),
        Value::Ipv6(a) => Val::Ipv6(*a),
        Value::Ether(m) => Val::Mac(*m),
        Value::Str(s) => Val::Bytes(s.as_bytes()),
        Value::Bytes(b) => Val::Bytes(b),
        Value::AbsTime(t) | Value::RelTime(t) => Val::Time(*t),
        Value::Double(d) => Val::F(*d),
    }
}

/// The bytes of a value, for slicing.
fn value_bytes<'v>(v: &'v Value<'_>) -> Option<&'v [u8]> {
    match v {
        Value::Str(s) => Some(s.as_bytes()),
        Value::Bytes(b) => Some(b),
        Value::Ipv4(a) => Some(a),
        Value::Ipv6(a) => Some(a),
        Value::Ether(m) => Some(m),
        _ => None,
    }
}

/// Apply slice ranges to `b`, into `out`; false when a range falls off the end (the test is
/// then false).
fn apply_slice(b: &[u8], ranges: &[Range], out: &mut Vec<u8>) -> bool {
    let Ok(len) = i64::try_from(b.len()) else {
        return false;
    };
    out.clear();
    ranges.iter().all(|r| {
        // A negative start counts from the end. The numbers are the filter's, so every sum is
        // checked: `frame[1:9223372036854775807]` is a range off the end, not an overflow.
        let start = if r.start < 0 {
            len.checked_add(r.start)
        } else {
            Some(r.start)
        };
        let end = start.and_then(|s| match r.len {
            Some(n) if n >= 0 => s.checked_add(n),
            Some(_) => None,
            None => Some(len),
        });
        let piece = start
            .zip(end)
            .filter(|&(s, e)| s >= 0 && e <= len)
            .and_then(|(s, e)| Some((usize::try_from(s).ok()?, usize::try_from(e).ok()?)))
            .and_then(|(from, to)| b.get(from..to));
        piece.is_some_and(|p| {
            out.extend_from_slice(p);
            true
        })
    })
}

/// Hand each value of `src` in the packet to `each`, in occurrence order, as the registry gives
/// it, masked and sliced: a test judges them as they come, without gathering or converting them.
fn each_value(src: &Src, view: &PacketView<'_>, mut each: impl FnMut(&Value<'_>)) {
    let reg = Registry::get();
    match (&src.slice, src.mask) {
        (None, None) => reg.extract(src.field, view, &mut |v| each(&v)),
        (None, Some(m)) => reg.extract(src.field, view, &mut |v| {
            each(&match v {
                Value::Int(i) => Value::Int(i & m as i64),
                v => match unsigned(&v) {
                    Some(u) => Value::Uint(u & m),
                    None => v,
                },
            });
        }),
        // (A mask leaves no bytes to slice: numbers have none.)
        (Some(ranges), _) => {
            let mut sliced = Vec::new();
            reg.extract(src.field, view, &mut |v| {
                if value_bytes(&v).is_some_and(|b| apply_slice(b, ranges, &mut sliced)) {
                    each(&Value::Bytes(&sliced));
                }
            });
        }
    }
}

/// A value that compares as an unsigned number: a number, a boolean (1 or 0), a present field
/// without a value (1).
fn unsigned(v: &Value<'_>) -> Option<u64> {
    match v {
        Value::Uint(u) => Some(*u),
        Value::Bool(b) => Some(u64::from(*b)),
        Value::Present => Some(1),
        _ => None,
    }
}

/// The text or bytes of a value, for `contains` and `matches`.
fn text_bytes<'v>(v: &'v Value<'_>) -> Option<&'v [u8]> {
    match v {
        Value::Str(s) => Some(s.as_bytes()),
        Value::Bytes(b) => Some(b),
        _ => None,
    }
}

fn ipv4_mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

fn ipv6_masked(a: &[u8; 16], prefix: u8) -> [u8; 16] {
    let mut out = *a;
    for (i, b) in out.iter_mut().enumerate() {
        let bits = (usize::from(prefix)).saturating_sub(i * 8).min(8);
        *b &= if bits == 0 { 0 } else { 0xffu8 << (8 - bits) };
    }
    out
}

/// Compare a value, as the registry gives it, with a literal: equality (network membership for
/// CIDR) and ordering. A number against a number (`tcp.port==80`, the commonest test) is
/// judged where the test is; the other kinds in a call.
#[inline]
fn cmp_lit(v: &Value<'_>, lit: &Lit) -> Option<Ordering> {
    match (v, lit) {
        (Value::Uint(a), Lit::Uint(b)) => Some(a.cmp(b)),
        _ => cmp_lit_other(v, lit),
    }
}

#[inline(never)]
fn cmp_lit_other(v: &Value<'_>, lit: &Lit) -> Option<Ordering> {
    match (v, lit) {
        (Value::Int(a), Lit::Int(b)) => Some(a.cmp(b)),
        (Value::Int(a), Lit::Uint(b)) => Some(i128::from(*a).cmp(&i128::from(*b))),
        (Value::Ipv4(a), Lit::Ipv4 { addr, prefix }) => {
            let m = ipv4_mask(*prefix);
            Some((u32::from_be_bytes(*a) & m).cmp(&(addr & m)))
        }
        (Value::Ipv6(a), Lit::Ipv6 { addr, prefix }) => {
            Some(ipv6_masked(a, *prefix).cmp(&ipv6_masked(addr, *prefix)))
        }
        (Value::Str(a), Lit::Bytes(b)) => Some(a.as_bytes().cmp(b.as_slice())),
        (Value::Bytes(a), Lit::Bytes(b)) => Some((*a).cmp(b.as_slice())),
        (Value::Ether(a), Lit::Bytes(b)) => Some(a.as_slice().cmp(b.as_slice())),
        (Value::AbsTime(a) | Value::RelTime(a), Lit::Time(b)) => Some(a.cmp(b)),
        (Value::Double(a), Lit::Double(b)) => a.partial_cmp(b),
        (_, Lit::Uint(b)) => Some(unsigned(v)?.cmp(b)),
        (_, Lit::Int(b)) => Some(i128::from(unsigned(v)?).cmp(&i128::from(*b))),
        (_, Lit::Double(b)) => (unsigned(v)? as f64).partial_cmp(b),
        _ => None,
    }
}

fn cmp_vals(a: Val<'_>, b: Val<'_>) -> Option<Ordering> {
    match (&a, &b) {
        (Val::U(x), Val::U(y)) => Some(x.cmp(y)),
        (Val::I(x), Val::I(y)) => Some(x.cmp(y)),
        (Val::U(x), Val::I(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Val::I(x), Val::U(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Val::Ipv4(x), Val::Ipv4(y)) => Some(x.cmp(y)),
        (Val::Ipv6(x), Val::Ipv6(y)) => Some(x.cmp(y)),
        (Val::Bytes(x), Val::Bytes(y)) => Some(x.cmp(y)),
        (Val::Mac(x), Val::Mac(y)) => Some(x.cmp(y)),
        (Val::Time(x), Val::Time(y)) => Some(x.cmp(y)),
        (Val::F(x), Val::F(y)) => x.partial_cmp(y),
        _ => None,
    }
}

fn op_holds(op: CmpOp, ord: Option<Ordering>) -> bool {
    let Some(o) = ord else { return false };
    match op {
        CmpOp::Eq | CmpOp::AllEq => o == Ordering::Equal,
        CmpOp::Ne | CmpOp::AnyNe => o != Ordering::Equal,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Ge => o != Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
    }
}

/// Per-value verdicts, as they come, combined into the operator's meaning over all
/// occurrences.
#[derive(Clone, Copy)]
struct Verdicts {
    any: bool,
    all: bool,
    n: usize,
}

impl Default for Verdicts {
    fn default() -> Self {
        Verdicts {
            any: false,
            all: true,
            n: 0,
        }
    }
}

impl Verdicts {
    fn add(&mut self, held: bool) {
        self.n += 1;
        self.any |= held;
        self.all &= held;
    }

    fn combined(self, quant: Quant, op: CmpOp) -> bool {
        if self.n == 0 {
            return false;
        }
        match (op, quant) {
            // `!=` is "no occurrence equal": every per-value "not equal" holds.
            (CmpOp::Ne, _) | (CmpOp::AllEq, _) | (_, Quant::All) => self.all,
            _ => self.any,
        }
    }
}

impl Node {
    pub fn eval(&self, view: &PacketView<'_>) -> bool {
        match self {
            Node::Or(a, b) => a.eval(view) || b.eval(view),
            Node::And(a, b) => a.eval(view) && b.eval(view),
            Node::Xor(a, b) => a.eval(view) != b.eval(view),
            Node::Not(a) => !a.eval(view),
            Node::Exists(src) => {
                let mut any = false;
                each_value(src, view, |v| {
                    // A masked field is there when its masked bits are not all zero.
                    any |= src.mask.is_none() || !matches!(v, Value::Uint(0) | Value::Int(0));
                });
                any
            }
            Node::Cmp {
                quant,
                src,
                op,
                rhs,
            } => {
                let mut verdicts = Verdicts::default();
                match rhs {
                    Rhs::Lit(lit) => each_value(src, view, |v| {
                        verdicts.add(op_holds(*op, cmp_lit(v, lit)));
                    }),
                    Rhs::Field(other) => {
                        // Each value of the left against every value of the right, read
                        // again for each: field-to-field tests are rare, and the right side is
                        // then neither gathered nor copied. No value on the right: false.
                        let mut right_empty = false;
                        each_value(src, view, |v| {
                            let v = to_val(v);
                            let mut against = Verdicts::default();
                            each_value(other, view, |r| {
                                against.add(op_holds(*op, cmp_vals(v, to_val(r))));
                            });
                            right_empty |= against.n == 0;
                            verdicts.add(if matches!(op, CmpOp::Ne | CmpOp::AllEq) {
                                against.all
                            } else {
                                against.any
                            });
                        });
                        if right_empty {
                            return false;
                        }
                    }
                }
                verdicts.combined(*quant, *op)
            }
            Node::In { quant, src, set } => {
                let member = |v: &Value<'_>| {
                    set.iter().any(|(lo, hi)| match hi {
                        None => cmp_lit(v, lo) == Some(Ordering::Equal),
                        Some(hi) => {
                            matches!(cmp_lit(v, lo), Some(Ordering::Greater | Ordering::Equal))
                                && matches!(cmp_lit(v, hi), Some(Ordering::Less | Ordering::Equal))
                        }
                    })
                };
                let mut verdicts = Verdicts::default();
                each_value(src, view, |v| verdicts.add(member(v)));
                verdicts.combined(*quant, CmpOp::Eq)
            }
            Node::Contains { src, needle } => {
                let mut found = false;
                each_value(src, view, |v| {
                    found |=
                        text_bytes(v).is_some_and(|b| memchr::memmem::find(b, needle).is_some());
                });
                found
            }
            Node::Matches { src, re } => {
                let mut found = false;
                each_value(src, view, |v| {
                    found |= text_bytes(v).is_some_and(|b| re.is_match(b));
                });
                found
            }
        }
    }
}

// ---------------------------------------------------------------- checking

pub struct Checker<'r> {
    pub reg: &'r Registry,
    /// Fields the program reads.
    pub fields: Vec<FieldId>,
}

fn suggest(reg: &Registry, name: &str) -> Option<String> {
    let s = reg.suggest(name, 3);
    (!s.is_empty()).then(|| format!("  Did you mean: {}?", s.join(", ")))
}

fn with_hint(e: FilterError, hint: Option<String>) -> FilterError {
    match hint {
        Some(h) => e.with_note(h),
        None => e,
    }
}

impl Checker<'_> {
    pub fn check(&mut self, e: &Expr) -> Result<Node, FilterError> {
        Ok(match e {
            Expr::Or(a, b) => Node::Or(Box::new(self.check(a)?), Box::new(self.check(b)?)),
            Expr::Xor(a, b) => Node::Xor(Box::new(self.check(a)?), Box::new(self.check(b)?)),
            Expr::And(a, b) => Node::And(Box::new(self.check(a)?), Box::new(self.check(b)?)),
            Expr::Not(a) => Node::Not(Box::new(self.check(a)?)),
            Expr::Exists(op) => Node::Exists(self.source(op, None)?),
            Expr::Cmp {
                quant,
                lhs,
                op,
                rhs,
                ..
            } => {
                let src = self.source(lhs, Some(op.symbol()))?;
                let ty = self.src_type(&src);
                if ty == FieldType::None {
                    return Err(self.cannot_participate(&src, lhs.span(), op.symbol()));
                }
                let rhs = match rhs {
                    Operand::Word(w, _) if self.reg.lookup(w).is_some() => {
                        Rhs::Field(self.source(rhs, Some(op.symbol()))?)
                    }
                    Operand::Slice(..) | Operand::BitAnd(..) => {
                        Rhs::Field(self.source(rhs, Some(op.symbol()))?)
                    }
                    _ => Rhs::Lit(self.literal(&src, ty, rhs)?),
                };
                Node::Cmp {
                    quant: quant.unwrap_or(Quant::Any),
                    src,
                    op: *op,
                    rhs,
                }
            }
            Expr::In { quant, lhs, set } => {
                let src = self.source(lhs, Some("in"))?;
                let ty = self.src_type(&src);
                let mut out = Vec::new();
                for el in set {
                    out.push(match el {
                        SetElem::One(x) => (self.literal(&src, ty, x)?, None),
                        SetElem::Range(lo, hi) => (
                            self.literal(&src, ty, lo)?,
                            Some(self.literal(&src, ty, hi)?),
                        ),
                    });
                }
                Node::In {
                    quant: quant.unwrap_or(Quant::Any),
                    src,
                    set: out,
                }
            }
            Expr::Contains { lhs, rhs } => {
                let src = self.source(lhs, Some("contains"))?;
                let ty = self.src_type(&src);
                if !matches!(
                    ty,
                    FieldType::String | FieldType::Bytes | FieldType::Protocol
                ) {
                    return Err(self.cannot_participate(&src, lhs.span(), "contains"));
                }
                let needle = match rhs {
                    Operand::Str(s, _) => s.as_bytes().to_vec(),
                    Operand::Word(w, _) if ty == FieldType::String => w.as_bytes().to_vec(),
                    Operand::Word(w, span) => parse_bytes(w).ok_or_else(|| {
                        FilterError::at(format!("\"{w}\" is not a valid byte string."), *span)
                    })?,
                    other => {
                        return Err(FilterError::at(
                            "A field cannot be used on the right side of \"contains\".",
                            other.span(),
                        ));
                    }
                };
                Node::Contains { src, needle }
            }
            Expr::Matches { lhs, rhs } => {
                let src = self.source(lhs, Some("matches"))?;
                let ty = self.src_type(&src);
                if !matches!(
                    ty,
                    FieldType::String | FieldType::Bytes | FieldType::Protocol
                ) {
                    return Err(self.cannot_participate(&src, lhs.span(), "matches"));
                }
                let Operand::Str(pattern, span) = rhs else {
                    return Err(FilterError::at(
                        "Matches requires a double quoted string on the right side.",
                        rhs.span(),
                    ));
                };
                // PCRE2 as Wireshark uses it: case-insensitive unless the pattern says (?-i).
                let re = regex::bytes::RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| {
                        let why = e.to_string();
                        let last = why.lines().last().unwrap_or("").trim().to_string();
                        FilterError::at(
                            format!("\"{pattern}\" is not a valid regular expression: {last}"),
                            *span,
                        )
                    })?;
                Node::Matches { src, re }
            }
        })
    }

    fn cannot_participate(&self, src: &Src, span: Span, op: &str) -> FilterError {
        let def = self.reg.def(src.field);
        FilterError::at(
            format!(
                "{} (type={}) cannot participate in {op} comparison.",
                def.abbrev,
                self.src_type(src).describe()
            ),
            span,
        )
    }

    /// The type of a source's values: slices are bytes.
    fn src_type(&self, src: &Src) -> FieldType {
        if src.slice.is_some() {
            FieldType::Bytes
        } else {
            self.reg.def(src.field).ty
        }
    }

    /// A field reference (maybe sliced or masked). `op` names the relation for messages.
    fn source(&mut self, o: &Operand, op: Option<&str>) -> Result<Src, FilterError> {
        match o {
            Operand::Word(w, span) => {
                let Some(id) = self.reg.lookup(w) else {
                    let e = match op {
                        None => FilterError::at(
                            format!("{w} is neither a field nor a protocol name."),
                            *span,
                        ),
                        Some(op) => FilterError::at(
                            format!(
                                "Left side of \"{op}\" expression must be a field or function, not {w}."
                            ),
                            *span,
                        ),
                    };
                    return Err(with_hint(e, suggest(self.reg, w)));
                };
                if !self.fields.contains(&id) {
                    self.fields.push(id);
                }
                Ok(Src {
                    field: id,
                    slice: None,
                    mask: None,
                })
            }
            Operand::Str(s, span) => Err(FilterError::at(
                match op {
                    None => format!("\"{s}\" is not a field or a protocol name."),
                    Some(op) => format!(
                        "Left side of \"{op}\" expression must be a field or function, not \"{s}\"."
                    ),
                },
                *span,
            )),
            Operand::Slice(base, ranges, _) => {
                let mut src = self.source(base, op)?;
                let def = self.reg.def(src.field);
                if !matches!(
                    def.ty,
                    FieldType::Bytes
                        | FieldType::Protocol
                        | FieldType::String
                        | FieldType::Ether
                        | FieldType::Ipv4
                        | FieldType::Ipv6
                ) {
                    return Err(FilterError::at(
                        format!(
                            "\"{}\" is a {} and cannot be sliced into a sequence of bytes.",
                            def.abbrev,
                            def.ty.describe()
                        ),
                        base.span(),
                    ));
                }
                src.slice = Some(ranges.clone());
                Ok(src)
            }
            Operand::BitAnd(base, mask, _) => {
                let mut src = self.source(base, op)?;
                let ty = self.reg.def(src.field).ty;
                if !matches!(ty, FieldType::Uint(_) | FieldType::Int(_) | FieldType::Bool) {
                    return Err(self.cannot_participate(&src, base.span(), "bitwise"));
                }
                match self.literal(&src, FieldType::Uint(64), mask)? {
                    Lit::Uint(m) => src.mask = Some(src.mask.map_or(m, |old| old & m)),
                    _ => {
                        return Err(FilterError::at("The mask must be an integer.", mask.span()));
                    }
                }
                Ok(src)
            }
        }
    }

    /// Type a literal by the field it meets.
    fn literal(&self, src: &Src, ty: FieldType, o: &Operand) -> Result<Lit, FilterError> {
        let abbrev = self.reg.def(src.field).abbrev;
        let (text, quoted, span) = match o {
            Operand::Word(w, s) => (w.as_str(), false, *s),
            Operand::Str(w, s) => (w.as_str(), true, *s),
            other => {
                return Err(FilterError::at(
                    "A slice or mask cannot stand on the right side here.",
                    other.span(),
                ));
            }
        };
        let err = |msg: String| FilterError::at(msg, span);
        match ty {
            FieldType::Uint(bits) | FieldType::Int(bits) => {
                let signed = matches!(ty, FieldType::Int(_));
                if let Some(v) = value_label(abbrev, text) {
                    return Ok(Lit::Uint(v));
                }
                if quoted {
                    return Err(err(if has_labels(abbrev) {
                        format!(
                            "\"{text}\" cannot be found among the possible values for {abbrev}."
                        )
                    } else {
                        format!(
                            "{} cannot be converted from a string (\"{text}\").",
                            ty.describe()
                        )
                    }));
                }
                let v = parse_int(text)
                    .ok_or_else(|| err(format!("\"{text}\" is not a valid number.")))?;
                if signed {
                    return Ok(Lit::Int(i64::try_from(v).unwrap_or(i64::MAX)));
                }
                let v = u64::try_from(v)
                    .map_err(|_| err(format!("\"{text}\" too small for this field, minimum 0.")))?;
                let max = if bits >= 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                if v > max {
                    return Err(err(format!(
                        "\"{text}\" too big for this field, maximum {max}."
                    )));
                }
                Ok(Lit::Uint(v))
            }
            FieldType::FrameNum => {
                let v = parse_int(text)
                    .and_then(|v| u64::try_from(v).ok())
                    .ok_or_else(|| err(format!("\"{text}\" is not a valid number.")))?;
                Ok(Lit::Uint(v))
            }
            FieldType::Bool => match text {
                "1" | "True" | "TRUE" => Ok(Lit::Uint(1)),
                "0" | "False" | "FALSE" => Ok(Lit::Uint(0)),
                _ => match parse_int(text) {
                    Some(v) if !quoted => Ok(Lit::Uint(u64::from(v != 0))),
                    _ => Err(err(format!(
                        "\"{text}\" cannot be found among the possible values for {abbrev}."
                    ))),
                },
            },
            FieldType::Ipv4 => parse_ipv4(text).map_err(err),
            FieldType::Ipv6 => parse_ipv6(text).map_err(err),
            FieldType::Ether => {
                if quoted {
                    return Err(err(format!(
                        "Ethernet or other MAC address cannot be converted from a string (\"{text}\")."
                    )));
                }
                match parse_bytes(text) {
                    Some(b) if b.len() == 6 => Ok(Lit::Bytes(b)),
                    Some(b) if b.len() < 6 && b.len() > 1 => Err(err(format!(
                        "\"{text}\" contains too few bytes to be a valid Ethernet address."
                    ))),
                    _ => Err(err(format!("\"{text}\" is not a valid Ethernet address."))),
                }
            }
            FieldType::String => Ok(Lit::Bytes(text.as_bytes().to_vec())),
            FieldType::Bytes | FieldType::Protocol => {
                if quoted {
                    return Ok(Lit::Bytes(text.as_bytes().to_vec()));
                }
                parse_bytes(text)
                    .map(Lit::Bytes)
                    .ok_or_else(|| err(format!("\"{text}\" is not a valid byte string.")))
            }
            FieldType::AbsTime | FieldType::RelTime => parse_seconds(text)
                .map(Lit::Time)
                .ok_or_else(|| err(format!("\"{text}\" is not a valid time."))),
            FieldType::Double => text
                .parse::<f64>()
                .map(Lit::Double)
                .map_err(|_| err(format!("\"{text}\" is not a valid number."))),
            FieldType::None => Err(err(format!("{abbrev} has no value to compare."))),
        }
    }
}

/// Integers as Wireshark reads them: decimal, 0x hex, 0b binary, leading-0 octal, optional sign.
pub fn parse_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        i128::from_str_radix(b, 2).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i128::from_str_radix(body, 8).ok()?
    } else {
        body.parse::<i128>().ok()?
    };
    if body.is_empty() || body.starts_with('+') {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn parse_ipv4(text: &str) -> Result<Lit, String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => {
            let bits: u32 = p
                .parse()
                .map_err(|_| format!("\"{text}\" is not a valid hostname or IPv4 address."))?;
            if bits > 32 {
                return Err(format!(
                    "Netmask bits in a CIDR IPv4 address should be <= 32, not {bits}"
                ));
            }
            (a, bits as u8)
        }
        None => (text, 32),
    };
    // Dotted quad only: Wireshark rejects "192.168.001.010" and "0xc0a8010a".
    let parts: Vec<&str> = addr.split('.').collect();
    let ok = parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && !(p.len() > 1 && p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|v| v <= 255)
        });
    if !ok {
        return Err(format!(
            "\"{text}\" is not a valid hostname or IPv4 address."
        ));
    }
    let a: std::net::Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("\"{text}\" is not a valid hostname or IPv4 address."))?;
    Ok(Lit::Ipv4 {
        addr: u32::from(a),
        prefix,
    })
}

fn parse_ipv6(text: &str) -> Result<Lit, String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => {
            let bits: u32 = p
                .parse()
                .map_err(|_| format!("\"{text}\" is not a valid IPv6 address."))?;
            if bits > 128 {
                return Err(format!(
                    "Prefix in a IPv6 address should be <= 128, not {bits}"
                ));
            }
            (a, bits as u8)
        }
        None => (text, 128),
    };
    let a: std::net::Ipv6Addr = addr
        .parse()
        .map_err(|_| format!("\"{text}\" is not a valid IPv6 address."))?;
    Ok(Lit::Ipv6 {
        addr: a.octets(),
        prefix,
    })
}

/// Byte strings: `aa:bb:cc`, `aa-bb-cc`, `aabb.ccdd`, `aabbcc`, or one byte `06` / `0x06`.
pub fn parse_bytes(text: &str) -> Option<Vec<u8>> {
    let hex = |s: &str| u8::from_str_radix(s, 16).ok();
    if let Some(h) = text.strip_prefix("0x") {
        return (h.len() <= 2).then(|| hex(h)).flatten().map(|b| vec![b]);
    }
    if text.contains([':', '-']) {
        let sep = if text.contains(':') { ':' } else { '-' };
        return text
            .split(sep)
            .map(|p| if p.len() == 2 { hex(p) } else { None })
            .collect();
    }
    let digits: String = if text.contains('.') {
        // Cisco style groups of 4 hex digits.
        if !text.split('.').all(|g| g.len() == 4) {
            return None;
        }
        text.split('.').collect()
    } else {
        text.to_string()
    };
    if digits.is_empty() {
        return None;
    }
    if digits.len() == 1 {
        return hex(&digits).map(|b| vec![b]);
    }
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| digits.get(i..i + 2).and_then(hex))
        .collect()
}

/// Seconds with an optional fraction, as nanoseconds.
fn parse_seconds(text: &str) -> Option<i64> {
    let (neg, t) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut ns_digits: String = frac.chars().take(9).collect();
    while ns_digits.len() < 9 {
        ns_digits.push('0');
    }
    let ns = secs
        .checked_mul(1_000_000_000)?
        .checked_add(ns_digits.parse::<i64>().ok()?)?;
    Some(if neg { -ns } else { ns })
}

/// Value-string labels accepted for integer fields, as Wireshark's value_strings.
fn value_label(abbrev: &str, text: &str) -> Option<u64> {
    let table: &[(&str, u64)] = match abbrev {
        "ip.proto" | "ipv6.nxt" => &[
            ("ICMP", 1),
            ("IGMP", 2),
            ("TCP", 6),
            ("UDP", 17),
            ("IPv6", 41),
            ("GRE", 47),
            ("ESP", 50),
            ("AH", 51),
            ("ICMPv6", 58),
            ("OSPF", 89),
            ("SCTP", 132),
        ],
        "arp.opcode" => &[("request", 1), ("reply", 2)],
        _ => &[],
    };
    table.iter().find(|(l, _)| *l == text).map(|(_, v)| *v)
}

fn has_labels(abbrev: &str) -> bool {
    matches!(abbrev, "ip.proto" | "ipv6.nxt" | "arp.opcode")
}

/// Does the program read any field that only the ordered stage can compute?
pub fn needs_flow(reg: &Registry, fields: &[FieldId]) -> bool {
    fields.iter().any(|&f| reg.def(f).stage != Stage::Packet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(parse_int("0x12"), Some(18));
        assert_eq!(parse_int("0100"), Some(64));
        assert_eq!(parse_int("0b101"), Some(5));
        assert_eq!(parse_int("1.5"), None);
        assert_eq!(parse_bytes("00:1b:21"), Some(vec![0, 0x1b, 0x21]));
        assert_eq!(
            parse_bytes("001a.6b6c.0ccc"),
            Some(vec![0, 0x1a, 0x6b, 0x6c, 0x0c, 0xcc])
        );
        assert_eq!(parse_bytes("11"), Some(vec![0x11]));
        assert_eq!(parse_bytes("0x06"), Some(vec![6]));
        assert_eq!(parse_bytes("xyz"), None);
        assert_eq!(parse_seconds("0.001"), Some(1_000_000));
        assert_eq!(parse_seconds("100ms"), None);
        assert!(parse_ipv4("192.168.001.010").is_err());
        assert_eq!(
            parse_ipv4("10.0.0.0/8"),
            Ok(Lit::Ipv4 {
                addr: 0x0a00_0000,
                prefix: 8
            })
        );
    }

    #[test]
    fn slices_off_the_end_are_absent() {
        let r = |start, len| Range { start, len };
        // One buffer for all, as a filter reuses it: each slice starts it afresh.
        let mut out = vec![9, 9, 9];
        let mut slice =
            |ranges: &[Range]| apply_slice(&[1, 2, 3, 4], ranges, &mut out).then(|| out.clone());
        assert_eq!(slice(&[r(-2, None)]), Some(vec![3, 4]));
        assert_eq!(slice(&[r(2, Some(5))]), None);
        assert_eq!(slice(&[r(0, Some(1)), r(3, Some(1))]), Some(vec![1, 4]));
        assert_eq!(slice(&[r(-5, Some(1))]), None);
        assert_eq!(slice(&[r(5, None)]), None);
        assert_eq!(slice(&[r(4, None)]), Some(vec![]));
        // The filter's numbers, at their extremes: off the end, never an overflow.
        assert_eq!(slice(&[r(1, Some(i64::MAX))]), None);
        assert_eq!(slice(&[r(i64::MIN, None)]), None);
        assert_eq!(slice(&[r(i64::MAX, Some(i64::MAX))]), None);
        assert_eq!(slice(&[r(0, Some(-1))]), None);
    }
}
