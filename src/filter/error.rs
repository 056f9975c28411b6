//! Filter errors, rendered as tshark renders them: the message, the filter on an indented line,
//! and a caret (`^~~~`) under the offending text.

use std::fmt;

/// A byte range in the filter text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span(pub usize, pub usize);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    pub message: String,
    pub span: Option<Span>,
    /// Extra lines after the caret (hints).
    pub notes: Vec<String>,
}

impl FilterError {
    pub fn at(message: impl Into<String>, span: Span) -> FilterError {
        FilterError {
            message: message.into(),
            span: Some(span),
            notes: Vec::new(),
        }
    }

    pub fn plain(message: impl Into<String>) -> FilterError {
        FilterError {
            message: message.into(),
            span: None,
            notes: Vec::new(),
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> FilterError {
        self.notes.push(note.into());
        self
    }

    /// The message, the filter and the caret line (and notes), without a trailing newline.
    pub fn render(&self, filter: &str) -> String {
        let mut s = self.message.clone();
        if let Some(Span(a, b)) = self.span {
            let col = filter
                .get(..a.min(filter.len()))
                .map_or(a, |p| p.chars().count());
            let width = filter
                .get(a.min(filter.len())..b.min(filter.len()))
                .map_or(1, |p| p.chars().count())
                .max(1);
            s.push_str(&format!(
                "\n    {filter}\n    {}^{}",
                " ".repeat(col),
                "~".repeat(width - 1)
            ));
        }
        for n in &self.notes {
            s.push('\n');
            s.push_str(n);
        }
        s
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FilterError {}
