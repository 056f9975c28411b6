//! Display-filter text → syntax tree. The scanner leaves words (field names, numbers, addresses,
//! byte strings) uninterpreted, as Wireshark's does; the checker types them by the field they are
//! compared with. Precedence, low to high: `or`, `xor`, `and`, `not`, relations, `&`, slices.
//! Nesting depth is capped, so no input can exhaust the stack.

use super::error::{FilterError, Span};

/// How deep parentheses and `not`s may nest.
pub const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A run of name/number/address characters.
    Word(String),
    /// A quoted string, escapes resolved.
    Str(String),
    Op(&'static str),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-')
}

/// Two- and three-character operators first, so `===` is not read as `==` `=`.
const OPS: [&str; 22] = [
    "===", "!==", "==", "!=", "~=", ">=", "<=", "&&", "||", "^^", ">", "<", "!", "&", "~", "(",
    ")", "{", "}", "[", "]", ",",
];

pub fn lex(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    // Each round consumes at least one character.
    while let Some(&(start, c)) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let raw = c == 'r' && matches!(chars.get(i + 1), Some((_, '"')));
        if c == '"' || raw {
            let (s, next) = lex_string(text, &chars, if raw { i + 1 } else { i }, raw)?;
            let end = chars.get(next).map_or(text.len(), |&(b, _)| b);
            out.push(Token {
                tok: Tok::Str(s),
                span: Span(start, end),
            });
            i = next;
            continue;
        }
        if is_word_char(c) {
            let mut j = i;
            while chars.get(j).is_some_and(|&(_, c)| is_word_char(c)) {
                j += 1;
            }
            let end = chars.get(j).map_or(text.len(), |&(b, _)| b);
            out.push(Token {
                tok: Tok::Word(text[start..end].to_string()),
                span: Span(start, end),
            });
            i = j;
            continue;
        }
        let rest = &text[start..];
        match OPS.iter().find(|op| rest.starts_with(**op)) {
            Some(op) => {
                out.push(Token {
                    tok: Tok::Op(op),
                    span: Span(start, start + op.len()),
                });
                i += op.chars().count();
            }
            None => {
                return Err(FilterError::at(
                    format!("\"{c}\" was unexpected in this context."),
                    Span(start, start + c.len_utf8()),
                ));
            }
        }
    }
    Ok(out)
}

/// A quoted string starting at `chars[i]` (the quote). Returns the value and the index after it.
fn lex_string(
    text: &str,
    chars: &[(usize, char)],
    i: usize,
    raw: bool,
) -> Result<(String, usize), FilterError> {
    let mut s = String::new();
    let mut j = i + 1;
    loop {
        let Some(&(pos, c)) = chars.get(j) else {
            return Err(FilterError::at(
                "The final quote was missing from a quoted string.",
                Span(text.len(), text.len() + 1),
            ));
        };
        match c {
            '"' => return Ok((s, j + 1)),
            '\\' if raw => {
                // In a raw string a backslash is literal, but it still protects a quote.
                s.push('\\');
                if let Some(&(_, n)) = chars.get(j + 1) {
                    s.push(n);
                    j += 2;
                } else {
                    j += 1;
                }
            }
            '\\' => {
                let (ch, used) = unescape(chars, j).ok_or_else(|| {
                    let end = chars.get(j + 2).map_or(text.len(), |&(b, _)| b);
                    let esc = text.get(pos..end).unwrap_or("\\");
                    FilterError::at(
                        format!("{esc} is not a valid character escape sequence"),
                        Span(pos, end),
                    )
                })?;
                s.push(ch);
                j += used;
            }
            c => {
                s.push(c);
                j += 1;
            }
        }
    }
}

/// One escape sequence at `chars[j]` (the backslash): the character and how many chars it used.
fn unescape(chars: &[(usize, char)], j: usize) -> Option<(char, usize)> {
    let c = chars.get(j + 1)?.1;
    let simple = match c {
        '"' => Some('"'),
        '\\' => Some('\\'),
        '\'' => Some('\''),
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        _ => None,
    };
    if let Some(ch) = simple {
        return Some((ch, 2));
    }
    let digits = |from: usize, n: usize, radix: u32| -> Option<u32> {
        let s: String = (0..n)
            .map(|k| chars.get(from + k).map(|p| p.1))
            .collect::<Option<_>>()?;
        u32::from_str_radix(&s, radix).ok()
    };
    match c {
        'x' => Some((char::from_u32(digits(j + 2, 2, 16)?)?, 4)),
        'u' => Some((char::from_u32(digits(j + 2, 4, 16)?)?, 6)),
        'U' => Some((char::from_u32(digits(j + 2, 8, 16)?)?, 10)),
        '0'..='7' => Some((char::from_u32(digits(j + 1, 3, 8)?)?, 4)),
        _ => None,
    }
}

/// A slice range: `[start:len]`, `[start-end]`, `[start]`, `[:len]`, `[start:]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: i64,
    /// Length; None = to the end.
    pub len: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// A word: a field or protocol name, or a literal the checker will type.
    Word(String, Span),
    Str(String, Span),
    Slice(Box<Operand>, Vec<Range>, Span),
    BitAnd(Box<Operand>, Box<Operand>, Span),
}

impl Operand {
    pub fn span(&self) -> Span {
        match self {
            Operand::Word(_, s) | Operand::Str(_, s) => *s,
            Operand::Slice(_, _, s) | Operand::BitAnd(_, _, s) => *s,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`: any value equal.
    Eq,
    /// `!=`: no value equal (Wireshark 3.6+).
    Ne,
    /// `===`: every value equal.
    AllEq,
    /// `!==`, `~=`: some value not equal.
    AnyNe,
    Gt,
    Lt,
    Ge,
    Le,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::AllEq => "===",
            CmpOp::AnyNe => "!==",
            CmpOp::Gt => ">",
            CmpOp::Lt => "<",
            CmpOp::Ge => ">=",
            CmpOp::Le => "<=",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quant {
    Any,
    All,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SetElem {
    One(Operand),
    Range(Operand, Operand),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    Xor(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Exists(Operand),
    Cmp {
        quant: Option<Quant>,
        lhs: Operand,
        op: CmpOp,
        op_span: Span,
        rhs: Operand,
    },
    In {
        quant: Option<Quant>,
        lhs: Operand,
        set: Vec<SetElem>,
    },
    Contains {
        lhs: Operand,
        rhs: Operand,
    },
    Matches {
        lhs: Operand,
        rhs: Operand,
    },
}

struct Parser<'t> {
    toks: &'t [Token],
    pos: usize,
    depth: usize,
    text_len: usize,
}

fn word_is(t: Option<&Token>, w: &str) -> bool {
    matches!(t, Some(Token { tok: Tok::Word(x), .. }) if x == w)
}

fn op_is(t: Option<&Token>, o: &str) -> bool {
    matches!(t, Some(Token { tok: Tok::Op(x), .. }) if *x == o)
}

pub fn parse(text: &str) -> Result<Expr, FilterError> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        depth: 0,
        text_len: text.len(),
    };
    let e = p.or()?;
    if let Some(t) = p.peek() {
        return Err(p.unexpected(t));
    }
    Ok(e)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Result<&Token, FilterError> {
        let t = self
            .toks
            .get(self.pos)
            .ok_or_else(|| FilterError::plain("Unexpected end of filter expression."))?;
        self.pos += 1;
        Ok(t)
    }

    fn unexpected(&self, t: &Token) -> FilterError {
        let text = match &t.tok {
            Tok::Word(w) => w.clone(),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::Op(o) => (*o).to_string(),
        };
        FilterError::at(
            format!("\"{text}\" was unexpected in this context."),
            t.span,
        )
    }

    fn deeper(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let at = self
                .peek()
                .map_or(Span(self.text_len, self.text_len + 1), |t| t.span);
            return Err(FilterError::at(
                format!("Filter nested more than {MAX_DEPTH} levels deep."),
                at,
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.xor()?;
        while op_is(self.peek(), "||") || word_is(self.peek(), "or") {
            self.pos += 1;
            let r = self.xor()?;
            e = Expr::Or(Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn xor(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        while op_is(self.peek(), "^^") || word_is(self.peek(), "xor") {
            self.pos += 1;
            let r = self.and()?;
            e = Expr::Xor(Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.not()?;
        while op_is(self.peek(), "&&") || word_is(self.peek(), "and") {
            self.pos += 1;
            let r = self.not()?;
            e = Expr::And(Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if op_is(self.peek(), "!") || word_is(self.peek(), "not") {
            self.pos += 1;
            self.deeper()?;
            let e = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if op_is(self.peek(), "(") {
            self.pos += 1;
            self.deeper()?;
            let e = self.or()?;
            self.depth -= 1;
            let t = self.next()?;
            if !matches!(t.tok, Tok::Op(")")) {
                let t = t.clone();
                return Err(self.unexpected(&t));
            }
            return Ok(e);
        }
        self.relation()
    }

    fn relation(&mut self) -> Result<Expr, FilterError> {
        let quant = if word_is(self.peek(), "any") {
            self.pos += 1;
            Some(Quant::Any)
        } else if word_is(self.peek(), "all") {
            self.pos += 1;
            Some(Quant::All)
        } else {
            None
        };
        let lhs = self.value()?;
        let Some(t) = self.peek().cloned() else {
            return Ok(Expr::Exists(lhs));
        };
        let op = match &t.tok {
            Tok::Op("==") => Some(CmpOp::Eq),
            Tok::Op("!=") => Some(CmpOp::Ne),
            Tok::Op("===") => Some(CmpOp::AllEq),
            Tok::Op("!==") | Tok::Op("~=") => Some(CmpOp::AnyNe),
            Tok::Op(">") => Some(CmpOp::Gt),
            Tok::Op("<") => Some(CmpOp::Lt),
            Tok::Op(">=") => Some(CmpOp::Ge),
            Tok::Op("<=") => Some(CmpOp::Le),
            Tok::Word(w) => match w.as_str() {
                "eq" | "any_eq" => Some(CmpOp::Eq),
                "ne" | "all_ne" => Some(CmpOp::Ne),
                "all_eq" => Some(CmpOp::AllEq),
                "any_ne" => Some(CmpOp::AnyNe),
                "gt" => Some(CmpOp::Gt),
                "lt" => Some(CmpOp::Lt),
                "ge" => Some(CmpOp::Ge),
                "le" => Some(CmpOp::Le),
                _ => None,
            },
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let rhs = self.value()?;
            return Ok(Expr::Cmp {
                quant,
                lhs,
                op,
                op_span: t.span,
                rhs,
            });
        }
        if word_is(Some(&t), "contains") {
            self.pos += 1;
            let rhs = self.value()?;
            return Ok(Expr::Contains { lhs, rhs });
        }
        if word_is(Some(&t), "matches") || op_is(Some(&t), "~") {
            self.pos += 1;
            let rhs = self.value()?;
            return Ok(Expr::Matches { lhs, rhs });
        }
        if word_is(Some(&t), "in") {
            self.pos += 1;
            let set = self.set()?;
            return Ok(Expr::In { quant, lhs, set });
        }
        Ok(Expr::Exists(lhs))
    }

    /// `{ elem [,] elem ... }`: commas (Wireshark 3.6+) or the older whitespace separation.
    fn set(&mut self) -> Result<Vec<SetElem>, FilterError> {
        let t = self.next()?.clone();
        if !matches!(t.tok, Tok::Op("{")) {
            return Err(self.unexpected(&t));
        }
        let mut elems = Vec::new();
        loop {
            if op_is(self.peek(), "}") {
                if elems.is_empty() {
                    let t = self.next()?.clone();
                    return Err(self.unexpected(&t));
                }
                self.pos += 1;
                return Ok(elems);
            }
            if !elems.is_empty() && op_is(self.peek(), ",") {
                self.pos += 1;
            }
            let t = self.next()?.clone();
            let elem = match &t.tok {
                // `8000..8090` arrives as one word.
                Tok::Word(w) if w.contains("..") => {
                    let (lo, hi) = w.split_once("..").unwrap_or((w, ""));
                    let lo_end = t.span.0 + lo.len();
                    if hi.is_empty() {
                        // `80..` then `}`: the upper bound is missing.
                        let n = self.next()?.clone();
                        if let Tok::Word(hi) = &n.tok {
                            SetElem::Range(
                                Operand::Word(lo.to_string(), Span(t.span.0, lo_end)),
                                Operand::Word(hi.clone(), n.span),
                            )
                        } else {
                            return Err(self.unexpected(&n));
                        }
                    } else {
                        SetElem::Range(
                            Operand::Word(lo.to_string(), Span(t.span.0, lo_end)),
                            Operand::Word(hi.to_string(), Span(lo_end + 2, t.span.1)),
                        )
                    }
                }
                Tok::Word(w) => {
                    let lo = Operand::Word(w.clone(), t.span);
                    if word_is(self.peek(), "..") {
                        self.pos += 1;
                        let n = self.next()?.clone();
                        match &n.tok {
                            Tok::Word(hi) => SetElem::Range(lo, Operand::Word(hi.clone(), n.span)),
                            _ => return Err(self.unexpected(&n)),
                        }
                    } else {
                        SetElem::One(lo)
                    }
                }
                Tok::Str(s) => SetElem::One(Operand::Str(s.clone(), t.span)),
                _ => return Err(self.unexpected(&t)),
            };
            elems.push(elem);
        }
    }

    /// entity { "&" entity }, left-associative. The checker accepts one mask.
    fn value(&mut self) -> Result<Operand, FilterError> {
        let mut lhs = self.entity()?;
        while op_is(self.peek(), "&") || word_is(self.peek(), "bitwise_and") {
            self.pos += 1;
            let rhs = self.entity()?;
            let span = Span(lhs.span().0, rhs.span().1);
            lhs = Operand::BitAnd(Box::new(lhs), Box::new(rhs), span);
        }
        Ok(lhs)
    }

    /// A word or string, with an optional slice.
    fn entity(&mut self) -> Result<Operand, FilterError> {
        let t = self.next()?.clone();
        let base = match &t.tok {
            Tok::Word(w) if is_keyword(w) => return Err(self.unexpected(&t)),
            Tok::Word(w) => Operand::Word(w.clone(), t.span),
            Tok::Str(s) => Operand::Str(s.clone(), t.span),
            Tok::Op(_) => return Err(self.unexpected(&t)),
        };
        if !op_is(self.peek(), "[") {
            return Ok(base);
        }
        self.pos += 1;
        let mut ranges = Vec::new();
        loop {
            let t = self.next()?.clone();
            let Tok::Word(w) = &t.tok else {
                return Err(self.unexpected(&t));
            };
            ranges.push(parse_range(w).ok_or_else(|| {
                FilterError::at(format!("\"{w}\" is not a valid range."), t.span)
            })?);
            let t = self.next()?.clone();
            match t.tok {
                Tok::Op(",") => continue,
                Tok::Op("]") => {
                    let span = Span(base.span().0, t.span.1);
                    return Ok(Operand::Slice(Box::new(base), ranges, span));
                }
                _ => return Err(self.unexpected(&t)),
            }
        }
    }
}

fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "and"
            | "or"
            | "xor"
            | "not"
            | "eq"
            | "ne"
            | "gt"
            | "lt"
            | "ge"
            | "le"
            | "contains"
            | "matches"
            | "in"
            | "any_eq"
            | "all_ne"
            | "all_eq"
            | "any_ne"
            | "bitwise_and"
    )
}

fn parse_range(w: &str) -> Option<Range> {
    let num = |s: &str| s.parse::<i64>().ok();
    if let Some((a, b)) = w.split_once(':') {
        let start = if a.is_empty() { 0 } else { num(a)? };
        let len = if b.is_empty() { None } else { Some(num(b)?) };
        return Some(Range { start, len });
    }
    // `i-j` (inclusive end); a leading '-' is a negative start.
    if let Some(idx) = w.get(1..).and_then(|r| r.find('-')).map(|i| i + 1) {
        let (a, b) = (w.get(..idx)?, w.get(idx + 1..)?);
        let (start, end) = (num(a)?, num(b)?);
        return Some(Range {
            start,
            // Checked: the numbers are the user's (`[-9223372036854775807-9223372036854775807]`).
            len: Some(end.checked_sub(start)?.checked_add(1)?),
        });
    }
    Some(Range {
        start: num(w)?,
        len: Some(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_as_wireshark() {
        let e = parse("tcp.port==80||udp.port==53&&dns.flags.response==1").unwrap();
        assert!(matches!(e, Expr::Or(_, ref r) if matches!(**r, Expr::And(..))));
        let e = parse("!tcp.port==80").unwrap();
        assert!(matches!(e, Expr::Not(ref x) if matches!(**x, Expr::Cmp { .. })));
        let e = parse("tcp.flags & 0x12 == 0x12").unwrap();
        assert!(matches!(
            e,
            Expr::Cmp {
                lhs: Operand::BitAnd(..),
                ..
            }
        ));
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range("0:3"),
            Some(Range {
                start: 0,
                len: Some(3)
            })
        );
        assert_eq!(
            parse_range("1-3"),
            Some(Range {
                start: 1,
                len: Some(3)
            })
        );
        assert_eq!(
            parse_range("-4:"),
            Some(Range {
                start: -4,
                len: None
            })
        );
        assert_eq!(
            parse_range(":2"),
            Some(Range {
                start: 0,
                len: Some(2)
            })
        );
        assert_eq!(
            parse_range("9"),
            Some(Range {
                start: 9,
                len: Some(1)
            })
        );
        // A range whose length does not fit is no range (not an overflow).
        assert_eq!(
            parse_range("-9223372036854775807-9223372036854775807"),
            None
        );
    }

    #[test]
    fn nesting_is_capped() {
        let deep = format!("{}tcp{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).is_err());
        let nots = format!("{}tcp", "!".repeat(10_000));
        assert!(parse(&nots).is_err());
    }
}
