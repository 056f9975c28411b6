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

/// A transport with ports: what `follow` follows (a TCP connection's byte stream or a UDP
/// conversation's datagrams), and what `stats` names services by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// Write every part, in order, in as few calls as `out` takes them: vectored writes, which a
/// `BufWriter` passes straight to its writer, without copying them into its buffer, once they
/// hold at least its capacity (the packet list's text, 200 MB for a 1 GiB capture, was copied
/// once more that way). Partial writes are resumed where they stopped, as `write_all` does.
pub fn write_all_parts<W: std::io::Write + ?Sized>(
    out: &mut W,
    parts: &[String],
) -> std::io::Result<()> {
    use std::io::{ErrorKind, IoSlice};
    let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p.as_bytes())).collect();
    let mut left = slices.as_mut_slice();
    let mut unwritten: usize = parts.iter().map(String::len).sum();
    // Skip empty parts: a write of nothing must not be taken for a writer that took nothing.
    IoSlice::advance_slices(&mut left, 0);
    while !left.is_empty() {
        match out.write_vectored(left) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            // A writer claiming more than it was given would make `advance_slices` panic.
            Ok(n) if n > unwritten => {
                return Err(std::io::Error::other(
                    "a write took more bytes than it was given",
                ));
            }
            Ok(n) => {
                unwritten -= n;
                IoSlice::advance_slices(&mut left, n);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

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

/// Values by key, in the order their keys were first met: what a batch counts on its decoding
/// thread, added to a table later in that order (see [`crate::engine::Precount`]). The key met
/// last is tried before any hash: a batch's frames come in runs of a few from one connection.
/// Up to 8 keys, all are compared before the hash: a few keys alternate.
#[derive(Debug)]
pub struct FirstSeen<K, V> {
    entries: Vec<(K, V)>,
    index: foldhash::HashMap<K, usize>,
    last: usize,
}

/// Keys [`FirstSeen`] compares one by one before it hashes.
const SCANNED: usize = 8;

impl<K, V> Default for FirstSeen<K, V> {
    fn default() -> Self {
        FirstSeen {
            entries: Vec::new(),
            index: foldhash::HashMap::default(),
            last: 0,
        }
    }
}

impl<K: Copy + Eq + std::hash::Hash, V> FirstSeen<K, V> {
    /// The value of `key`, made by `new` if the key is met for the first time.
    pub fn get_or_add(&mut self, key: K, new: impl FnOnce() -> V) -> Option<&mut V> {
        let i = self.position_or_add(key, new);
        self.get_mut(i)
    }

    /// Where `key` is in the order keys were first met, its value made by `new` if the key is
    /// met for the first time.
    pub fn position_or_add(&mut self, key: K, new: impl FnOnce() -> V) -> usize {
        match self.entries.get(self.last) {
            Some((k, _)) if *k == key => self.last,
            _ if self.entries.len() <= SCANNED
                && let Some(i) = self.entries.iter().position(|(k, _)| *k == key) =>
            {
                self.last = i;
                i
            }
            _ => {
                let next = self.entries.len();
                let i = *self.index.entry(key).or_insert(next);
                if i == next {
                    self.entries.push((key, new()));
                }
                self.last = i;
                i
            }
        }
    }

    /// The value at `position` (see [`FirstSeen::position_or_add`]).
    pub fn get_mut(&mut self, position: usize) -> Option<&mut V> {
        self.entries.get_mut(position).map(|(_, v)| v)
    }

    /// The keys and their values, in the order the keys were first met.
    pub fn iter(&self) -> impl Iterator<Item = &(K, V)> {
        self.entries.iter()
    }
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
    use super::{printable_ascii, safe_text, write_all_parts};
    use std::borrow::Cow;
    use std::io::{self, IoSlice, Write};

    /// A writer that takes at most `most` bytes a call, from the first slice only, and is
    /// interrupted every third call, as a pipe or a signal can make any writer do.
    struct Stingy {
        got: Vec<u8>,
        most: usize,
        calls: usize,
    }

    impl Write for Stingy {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(3) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &b[..]);
            let n = first.len().min(self.most);
            self.got.extend_from_slice(&first[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Parts (empty ones among them, first and last too) reach the writer whole and in order,
    /// however little it takes a call, and through a buffer smaller or larger than they are.
    #[test]
    fn every_part_is_written_whole_and_in_order() {
        let parts: Vec<String> = ["", "frame 1\n", "", "frame 2 is longer\n", "3\n", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let want = parts.concat();
        for most in [1, 2, 5, 64] {
            let mut w = Stingy {
                got: Vec::new(),
                most,
                calls: 0,
            };
            write_all_parts(&mut w, &parts).unwrap();
            assert_eq!(
                String::from_utf8(w.got).unwrap(),
                want,
                "{most} bytes a call"
            );
        }
        for capacity in [4, 16, 1024] {
            let mut out = io::BufWriter::with_capacity(capacity, Vec::new());
            write_all_parts(&mut out, &parts).unwrap();
            write_all_parts(&mut out, &parts).unwrap();
            assert_eq!(out.into_inner().unwrap(), [want.as_bytes(); 2].concat());
        }
        // Nothing to write is no call at all, so a writer that takes nothing is no error.
        let mut none = Stingy {
            got: Vec::new(),
            most: 0,
            calls: 0,
        };
        write_all_parts(&mut none, &[String::new(), String::new()]).unwrap();
        assert_eq!(none.calls, 0);
        // A writer that takes nothing of some text is an error, not a loop.
        let err = write_all_parts(&mut none, &parts).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        // One that claims more than it was given is an error, not a panic.
        struct Boastful;
        impl Write for Boastful {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                Ok(buf.len() + 1)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        assert!(write_all_parts(&mut Boastful, &parts).is_err());
    }

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
