//! The read loop over pcap-parser's streaming reader, following the five outcomes of `next()`:
//! a block (copied out before `consume`), `Eof`, `Incomplete` (refill), `BufferTooSmall` (grow up
//! to a cap) and `UnexpectedEof` (a truncated last record).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

use super::{Error, Magic};
use crate::decode::{FrameKind, FrameMeta};

/// The buffer pcap-parser reads into; grown on demand for large blocks.
const INITIAL_BUFFER: usize = 1 << 20;
/// tshark's limit for a classic pcap record (WTAP_MAX_PACKET_SIZE_STANDARD).
pub const MAX_PCAP_RECORD: u32 = 262_144;
/// Wireshark's limit for a pcapng block (MAX_BLOCK_SIZE in wiretap/pcapng.c).
pub const MAX_PCAPNG_BLOCK: u32 = 16 * 1024 * 1024;
/// Large enough for the largest block allowed plus what is already buffered.
const MAX_BUFFER: usize = 2 * MAX_PCAPNG_BLOCK as usize + INITIAL_BUFFER;
/// Refills that bring no new byte before the read is declared stuck.
const MAX_IDLE_REFILLS: u32 = 3;

/// The capture format, as detected from the file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap { nanosecond: bool, big_endian: bool },
    PcapNg,
}

impl Format {
    pub fn name(&self) -> &'static str {
        match self {
            Format::Pcap {
                nanosecond: true, ..
            } => "pcap (nanosecond)",
            Format::Pcap { .. } => "pcap",
            Format::PcapNg => "pcapng",
        }
    }
}

/// Frames read from the capture: their bytes in one arena, and their metadata.
#[derive(Debug, Default)]
pub struct Batch {
    pub arena: Vec<u8>,
    pub frames: Vec<(FrameMeta, std::ops::Range<usize>)>,
}

#[derive(Clone, Debug)]
struct Interface {
    linktype: u16,
    /// Timestamp units per second as a power: 10^n (or 2^n when `binary`).
    resol_exp: u8,
    binary: bool,
    offset_s: i64,
}

impl Interface {
    fn digits(&self) -> u8 {
        if self.binary {
            // 2^-n seconds needs about n·log10(2) decimals.
            ((u32::from(self.resol_exp) * 302).div_ceil(1000)).min(9) as u8
        } else {
            self.resol_exp.min(9)
        }
    }

    fn ts_ns(&self, high: u32, low: u32) -> Option<i64> {
        let units = (u128::from(high) << 32) | u128::from(low);
        let ns = if self.binary {
            units.checked_mul(1_000_000_000)? >> self.resol_exp
        } else if self.resol_exp <= 9 {
            units.checked_mul(10u128.pow(u32::from(9 - self.resol_exp)))?
        } else {
            units / 10u128.checked_pow(u32::from(self.resol_exp - 9))?
        };
        let ns = i64::try_from(ns).ok()?;
        ns.checked_add(self.offset_s.checked_mul(1_000_000_000)?)
    }
}

/// A `Read` whose `read` fills the whole buffer unless the input ends: pcap-parser probes the
/// format with a single `read`, which a pipe may answer with a few bytes only.
struct FullRead<R>(R);

impl<R: Read> Read for FullRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.0.read(buf.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if filled > 0 => {
                    // Report the bytes we have; the error comes back on the next call.
                    let _ = e;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}

/// A streaming capture reader. Call [`Reader::next_batch`] until it returns `None`, then
/// [`Reader::take_error`] to learn whether the capture ended cleanly.
pub struct Reader {
    path: String,
    inner: Box<dyn PcapReaderIterator + Send>,
    format: Format,
    /// Byte offset of the next unread block in the (decompressed) input.
    offset: u64,
    /// Frames handed out so far.
    frames: u64,
    interfaces: Vec<Interface>,
    /// Classic pcap's single interface.
    legacy: Option<Interface>,
    capacity: usize,
    done: bool,
    error: Option<Error>,
    gzip: bool,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// Open a capture file, or standard input when `path` is `-`. Gzip is detected by content.
    pub fn open(path: &str) -> Result<Reader, Error> {
        if path == "-" {
            return Reader::from_read("<stdin>", Box::new(io::stdin()));
        }
        let file = File::open(path).map_err(|cause| Error::Open {
            path: path.to_string(),
            cause,
        })?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(Error::Open {
                path: path.to_string(),
                cause: io::Error::other("is a directory"),
            });
        }
        Reader::from_read(path, Box::new(file))
    }

    /// Read a capture from any byte stream; `name` is used in messages.
    pub fn from_read(name: &str, input: Box<dyn Read + Send>) -> Result<Reader, Error> {
        let path = name.to_string();
        let io_err = |cause| Error::Io {
            path: name.to_string(),
            offset: 0,
            cause,
        };
        let mut raw = BufReader::with_capacity(64 * 1024, input);
        let gzip = raw.fill_buf().map_err(io_err)?.starts_with(&[0x1f, 0x8b]);
        let stream: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        let mut stream = BufReader::with_capacity(64 * 1024, FullRead(stream));
        let head = stream.fill_buf().map_err(io_err)?;
        if head.is_empty() {
            return Err(Error::Empty { path });
        }
        let magic = Magic(head.iter().take(8).copied().collect());
        let inner = match pcap_parser::create_reader(INITIAL_BUFFER, FullRead(stream)) {
            Ok(r) => r,
            Err(PcapError::Eof) => return Err(Error::Empty { path }),
            Err(PcapError::Incomplete(_)) => {
                return Err(Error::Unsupported {
                    path,
                    what: format!(
                        "the file is too short for a capture file header (starts {magic})"
                    ),
                });
            }
            Err(PcapError::ReadError) => {
                return Err(io_err(io::Error::other(
                    "read failed while probing the format",
                )));
            }
            Err(_) => return Err(Error::NotACapture { path, magic }),
        };
        let format = if magic.0.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
            Format::PcapNg
        } else {
            let big_endian = magic.0.starts_with(&[0xa1, 0xb2]);
            let nanosecond = magic.0.starts_with(&[0xa1, 0xb2, 0x3c, 0x4d])
                || magic.0.starts_with(&[0x4d, 0x3c, 0xb2, 0xa1]);
            Format::Pcap {
                nanosecond,
                big_endian,
            }
        };
        let mut reader = Reader {
            path,
            inner,
            format,
            offset: 0,
            frames: 0,
            interfaces: Vec::new(),
            legacy: None,
            capacity: INITIAL_BUFFER,
            done: false,
            error: None,
            gzip,
        };
        if let Format::Pcap { .. } = format {
            reader.read_pcap_header()?;
        }
        Ok(reader)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Bytes of (decompressed) input consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.offset
    }

    /// The error that ended the read early, if any. Call after `next_batch` returned `None`.
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }

    fn read_pcap_header(&mut self) -> Result<(), Error> {
        let (size, header) = match self.inner.next() {
            Ok((size, PcapBlockOwned::LegacyHeader(h))) => (size, h),
            _ => {
                return Err(Error::Unsupported {
                    path: self.path.clone(),
                    what: "pcap: cannot read the file header".into(),
                });
            }
        };
        if header.version_major != 2 {
            return Err(Error::Unsupported {
                path: self.path.clone(),
                what: format!(
                    "pcap: major version {} unsupported (only version 2 exists)",
                    header.version_major
                ),
            });
        }
        self.legacy = Some(Interface {
            linktype: u16::try_from(header.network.0).unwrap_or(u16::MAX),
            resol_exp: if header.is_nanosecond_precision() {
                9
            } else {
                6
            },
            binary: false,
            offset_s: 0,
        });
        self.inner.consume(size);
        self.offset += size as u64;
        Ok(())
    }

    fn fail(&mut self, what: String) {
        self.done = true;
        self.error = Some(Error::Damaged {
            path: self.path.clone(),
            what,
            offset: self.offset,
            frame: self.frames + 1,
            read: self.frames,
        });
    }

    /// The length the next record or block claims, read from its header in the buffer.
    fn pending_len(&self) -> Option<(u64, u64)> {
        let data = self.inner.data();
        match self.format {
            Format::Pcap { big_endian, .. } => {
                let b = *data.get(8..)?.first_chunk::<4>()?;
                let caplen = if big_endian {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                };
                Some((u64::from(caplen), u64::from(MAX_PCAP_RECORD)))
            }
            Format::PcapNg => {
                let b = *data.get(4..)?.first_chunk::<4>()?;
                let (le, be) = (u32::from_le_bytes(b), u32::from_be_bytes(b));
                // The section's byte order is not tracked here; the smaller reading is the
                // plausible one.
                Some((u64::from(le.min(be)), u64::from(MAX_PCAPNG_BLOCK)))
            }
        }
    }

    /// Read up to `max_frames` frames or about `max_bytes` of frame data. Returns `None` at the
    /// end of the capture or after an error (see [`Reader::take_error`]).
    pub fn next_batch(&mut self, max_frames: usize, max_bytes: usize) -> Option<Batch> {
        if self.done {
            return None;
        }
        let mut batch = Batch::default();
        let mut idle_refills = 0;
        while batch.frames.len() < max_frames && batch.arena.len() < max_bytes {
            let block_offset = self.offset;
            let outcome = match self.inner.next() {
                Ok((size, block)) => {
                    idle_refills = 0;
                    let frame = frame_of(
                        &mut self.interfaces,
                        self.legacy.as_ref(),
                        self.frames + 1,
                        block,
                        block_offset,
                        &mut batch.arena,
                    );
                    self.inner.consume(size);
                    self.offset += size as u64;
                    match frame {
                        Ok(Some(f)) => {
                            self.frames += 1;
                            batch.frames.push(f);
                        }
                        Ok(None) => {}
                        Err(what) => {
                            self.offset = block_offset;
                            self.fail(what);
                            break;
                        }
                    }
                    continue;
                }
                Err(PcapError::Eof) => Outcome::Eof,
                Err(PcapError::Incomplete(_)) => Outcome::Refill,
                Err(PcapError::BufferTooSmall) => Outcome::Grow,
                Err(PcapError::UnexpectedEof) => Outcome::Truncated,
                Err(PcapError::ReadError) => Outcome::Failed("read error".into()),
                Err(e) => Outcome::Failed(describe(&e)),
            };
            match outcome {
                Outcome::Eof => {
                    self.done = true;
                    break;
                }
                Outcome::Refill | Outcome::Grow => {
                    if let Some((len, max)) = self.pending_len()
                        && len > max
                    {
                        let unit = match self.format {
                            Format::Pcap { .. } => "packet",
                            Format::PcapNg => "block",
                        };
                        self.fail(format!(
                            "{unit} claims {len} bytes, more than the maximum of {max}"
                        ));
                        break;
                    }
                    if matches!(outcome, Outcome::Grow) {
                        let wanted = (self.capacity * 2).min(MAX_BUFFER);
                        if wanted <= self.capacity || !self.inner.grow(wanted) {
                            self.fail("block larger than the read buffer".into());
                            break;
                        }
                        self.capacity = wanted;
                    }
                    let before = self.inner.data().len();
                    if let Err(e) = self.inner.refill() {
                        let _ = e;
                        self.fail("read error".into());
                        break;
                    }
                    if self.inner.data().len() == before {
                        idle_refills += 1;
                        if idle_refills > MAX_IDLE_REFILLS && !self.inner.reader_exhausted() {
                            self.fail("the input stopped growing".into());
                            break;
                        }
                    }
                }
                Outcome::Truncated => {
                    let left = self.inner.data().len();
                    self.fail(format!(
                        "the capture is cut short in the middle of a record ({left} byte{} left over)",
                        if left == 1 { "" } else { "s" }
                    ));
                    break;
                }
                Outcome::Failed(what) => {
                    self.fail(what);
                    break;
                }
            }
        }
        if batch.frames.is_empty() && self.done {
            None
        } else {
            Some(batch)
        }
    }
}

/// Turn one block into a frame (or nothing, for blocks that are not frames).
fn frame_of(
    interfaces: &mut Vec<Interface>,
    legacy: Option<&Interface>,
    number: u64,
    block: PcapBlockOwned<'_>,
    file_offset: u64,
    arena: &mut Vec<u8>,
) -> Result<Option<(FrameMeta, std::ops::Range<usize>)>, String> {
    let mut meta = FrameMeta {
        number,
        ts_ns: None,
        ts_digits: 6,
        caplen: 0,
        origlen: 0,
        linktype: 0,
        interface_id: 0,
        file_offset,
        kind: FrameKind::Packet,
    };
    let data: &[u8] = match block {
        PcapBlockOwned::Legacy(b) => {
            let Some(iface) = legacy else {
                return Err("packet record before the file header".into());
            };
            if b.caplen > MAX_PCAP_RECORD {
                return Err(format!(
                    "packet claims {} bytes, more than the maximum of {MAX_PCAP_RECORD}",
                    b.caplen
                ));
            }
            let frac = i64::from(b.ts_usec) * if iface.resol_exp == 9 { 1 } else { 1000 };
            meta.ts_ns = Some(i64::from(b.ts_sec) * 1_000_000_000 + frac);
            meta.ts_digits = iface.digits();
            meta.linktype = iface.linktype;
            meta.caplen = b.caplen;
            meta.origlen = b.origlen;
            b.data
        }
        PcapBlockOwned::LegacyHeader(_) => return Err("a second pcap file header".into()),
        PcapBlockOwned::NG(block) => match block {
            Block::SectionHeader(_) => {
                // Every section starts with no interfaces (pcapng §4.1).
                interfaces.clear();
                return Ok(None);
            }
            Block::InterfaceDescription(idb) => {
                let (resol_exp, binary) = if idb.if_tsresol & 0x80 != 0 {
                    (idb.if_tsresol & 0x7f, true)
                } else {
                    (idb.if_tsresol, false)
                };
                interfaces.push(Interface {
                    linktype: u16::try_from(idb.linktype.0).unwrap_or(u16::MAX),
                    resol_exp,
                    binary,
                    offset_s: idb.if_tsoffset,
                });
                return Ok(None);
            }
            Block::EnhancedPacket(epb) => {
                let Some(iface) = interfaces.get(epb.if_id as usize) else {
                    return Err(format!(
                        "packet block for interface {} but the section describes {}",
                        epb.if_id,
                        interfaces.len()
                    ));
                };
                meta.ts_ns = iface.ts_ns(epb.ts_high, epb.ts_low);
                meta.ts_digits = iface.digits();
                meta.linktype = iface.linktype;
                meta.interface_id = epb.if_id;
                meta.caplen = epb.caplen;
                meta.origlen = epb.origlen;
                epb.data.get(..epb.caplen as usize).unwrap_or(epb.data)
            }
            Block::SimplePacket(spb) => {
                let Some(iface) = interfaces.first() else {
                    return Err("simple packet block but the section has no interface".into());
                };
                meta.ts_digits = iface.digits();
                meta.linktype = iface.linktype;
                let data = spb.data.get(..spb.origlen as usize).unwrap_or(spb.data);
                meta.caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
                meta.origlen = spb.origlen;
                data
            }
            Block::Custom(cb) => {
                meta.kind = FrameKind::CustomBlock {
                    pen: cb.pen,
                    copy: !cb.do_not_copy(),
                };
                meta.caplen = u32::try_from(cb.data.len()).unwrap_or(u32::MAX);
                meta.origlen = meta.caplen;
                cb.data
            }
            _ => return Ok(None),
        },
    };
    let start = arena.len();
    arena.extend_from_slice(data);
    Ok(Some((meta, start..arena.len())))
}

enum Outcome {
    Eof,
    Refill,
    Grow,
    Truncated,
    Failed(String),
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("corrupt block (parser: {})", kind.description())
        }
        PcapError::HeaderNotRecognized => "unrecognised block header".into(),
        other => format!("{other:?}"),
    }
}
