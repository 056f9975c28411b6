//! Output formats. Each is a [`Sink`](crate::engine::Sink) over an `io::Write`; all read fields
//! through the registry and never decide which frames match or re-run a decoder.

pub mod detail;
pub mod fields;
pub mod json;
pub mod summary;
pub mod text;

pub use detail::DetailSink;
pub use fields::{FieldsOptions, FieldsSink, Occurrence};
pub use json::{JsonSink, JsonStyle};
pub use summary::SummarySink;

/// Text taken from capture bytes, made safe for a terminal: control characters (escape sequences
/// included) are shown as `\xNN` instead of being written raw.
pub fn safe_text(s: &str) -> std::borrow::Cow<'_, str> {
    // Printable ASCII, the common case, is told apart without decoding characters; other
    // text may still hold none of the control characters (C1 ones are above ASCII).
    let printable_ascii = |b: &u8| (0x20..0x7f).contains(b);
    if s.as_bytes().iter().all(printable_ascii) || !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}
pub mod conv;
pub mod follow;
pub mod http;
pub mod io;
pub mod pairs;
pub mod stats;
pub mod tcp;

#[cfg(test)]
mod tests {
    use super::safe_text;
    use std::borrow::Cow;

    #[test]
    fn safe_text_escapes_control_characters_only() {
        for kept in ["GET /index.html HTTP/1.1", "", "caf\u{e9} \u{fffd}", "~ !"] {
            assert!(
                matches!(safe_text(kept), Cow::Borrowed(s) if s == kept),
                "{kept:?}"
            );
        }
        assert_eq!(safe_text("a\tb\x1b[2J"), "a\\x09b\\x1b[2J");
        assert_eq!(safe_text("del\x7f"), "del\\x7f");
        // A C1 control character is above ASCII, and still escaped.
        assert_eq!(safe_text("next\u{85}line"), "next\\x85line");
    }
}
