//! Reading capture files: classic pcap (both byte orders, µs and ns), pcapng (any number of
//! sections and interfaces, per-interface link type and timestamp resolution), gzip-compressed
//! captures, and standard input. The reader streams: it holds one bounded buffer and hands out
//! batches of frames copied into an arena, and never loads the whole file.
//!
//! It owns file I/O, block parsing and timestamp conversion (to `ts_ns`, here and nowhere else).
//! It decodes no protocol and never drops a frame silently: damage ends the read with an
//! [`Error`] that names the byte offset and the frame number, after every frame before it.

mod reader;

pub use reader::{Batch, Format, Reader};

use std::fmt;

/// Why a capture could not be read (to the end).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // The I/O error is part of the message, not a `source`, so that it is printed once.
    #[error("{path}: cannot open: {cause}")]
    Open { path: String, cause: std::io::Error },
    #[error("{path}: read error at byte offset {offset}: {cause}")]
    Io {
        path: String,
        offset: u64,
        cause: std::io::Error,
    },
    #[error("{path}: the file is empty (not a pcap or pcapng capture)")]
    Empty { path: String },
    #[error("{path}: not a pcap or pcapng capture (unrecognised file header {magic})")]
    NotACapture { path: String, magic: Magic },
    #[error("{path}: {what}")]
    Unsupported { path: String, what: String },
    #[error("{path}: {what} at byte offset {offset} (frame {frame}); {read} frames read before it")]
    Damaged {
        path: String,
        what: String,
        offset: u64,
        /// The frame number the damaged record would have had.
        frame: u64,
        read: u64,
    },
}

/// The first bytes of a file, shown when it is not a capture.
#[derive(Debug)]
pub struct Magic(pub Vec<u8>);

impl fmt::Display for Magic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Error {
    /// True when frames before the error were read and should still be shown.
    pub fn is_partial(&self) -> bool {
        matches!(self, Error::Damaged { .. } | Error::Io { .. })
    }
}
