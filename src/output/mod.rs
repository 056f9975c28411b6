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
    if printable_ascii(s.as_bytes()) || !s.chars().any(char::is_control) {
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

/// Whether every byte is printable ASCII (0x20 to 0x7e), eight at a time: the text of an HTTP
/// line is checked on every packet-list line that shows one.
fn printable_ascii(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let mut words = bytes.chunks_exact(8);
    let words_printable = words.all(|w| {
        let x = w.try_into().map_or(0, u64::from_le_bytes);
        // A byte below 0x20 borrows from its high bit, which it did not have; one at 0x7f
        // reaches it when 1 is added, and one from 0x80 up has it. (A borrow or carry passed
        // on to the next byte comes only from a byte that is flagged itself.)
        let below = x.wrapping_sub(0x20 * ONES) & !x;
        let above = x.wrapping_add(ONES) | x;
        (below | above) & HIGH == 0
    });
    words_printable && words.remainder().iter().all(|b| (0x20..0x7f).contains(b))
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
    use super::{printable_ascii, safe_text};
    use std::borrow::Cow;

    /// Every byte value, at every place of texts one word long, longer and shorter, among the
    /// printable bytes a borrow or a carry would push out of range, against the byte-by-byte test.
    #[test]
    fn printable_ascii_is_told_of_every_byte_in_every_place() {
        for fill in [b'a', b' ', b'~'] {
            for len in [1, 7, 8, 9, 16, 21] {
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut text = vec![fill; len];
                        text[at] = b;
                        assert_eq!(
                            printable_ascii(&text),
                            (0x20..0x7f).contains(&b),
                            "byte {b:#04x} at {at} of {len} among {fill:#04x}"
                        );
                    }
                }
            }
        }
        assert!(printable_ascii(b""));
        assert!(printable_ascii(b"GET /index.html HTTP/1.1 ~ !"));
    }

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
