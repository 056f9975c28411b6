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
    if !s.chars().any(char::is_control) {
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
