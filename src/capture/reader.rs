//! The read loop: each batch is one chunk of the input read straight into the batch's arena,
//! and its records are parsed in place (pcap-parser's slice parsers), so a frame's bytes are never
//! copied: a frame is a range of the arena. The bytes of a record cut by the chunk's end start
//! the next arena. Parse outcomes: a block, `Incomplete` (read more, or carry the rest to the next
//! batch), and errors; `Incomplete` at the end of the input is a truncated last record.

use std::fs::File;
use std::io::{self, Read};

use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError};

use super::{Error, Magic};
use crate::decode::{FrameKind, FrameMeta};

/// Bytes read to detect the format.
const PROBE: usize = 64 * 1024;
/// tshark's limit for a classic pcap record (WTAP_MAX_PACKET_SIZE_STANDARD).
pub const MAX_PCAP_RECORD: u32 = 262_144;
/// Wireshark's limit for a pcapng block (MAX_BLOCK_SIZE in wiretap/pcapng.c).
pub const MAX_PCAPNG_BLOCK: u32 = 16 * 1024 * 1024;
/// The most one batch's arena holds while waiting for the rest of one block: the largest block
/// allowed, plus one batch of bytes already read ahead.
const MAX_PENDING: usize = MAX_PCAPNG_BLOCK as usize + (4 << 20);

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

type PcapRecordParser = for<'a> fn(
    &'a [u8],
) -> pcap_parser::nom::IResult<
    &'a [u8],
    pcap_parser::LegacyPcapBlock<'a>,
    PcapError<&'a [u8]>,
>;

/// How records are parsed.
#[derive(Clone, Copy, Debug)]
enum Parser {
    Pcap(PcapRecordParser),
    /// The current section's byte order.
    PcapNg {
        big_endian: bool,
    },
}

impl Parser {
    fn parse<'a>(
        &mut self,
        data: &'a [u8],
    ) -> pcap_parser::nom::IResult<&'a [u8], PcapBlockOwned<'a>, PcapError<&'a [u8]>> {
        match self {
            Parser::Pcap(f) => f(data).map(|(rest, b)| (rest, PcapBlockOwned::Legacy(b))),
            Parser::PcapNg { big_endian } => {
                let parse = if *big_endian {
                    pcap_parser::pcapng::parse_block_be
                } else {
                    pcap_parser::pcapng::parse_block_le
                };
                let (rest, block) = parse(data)?;
                if let Block::SectionHeader(shb) = &block {
                    *big_endian = shb.big_endian();
                }
                Ok((rest, PcapBlockOwned::NG(block)))
            }
        }
    }
}

/// A streaming capture reader. Call [`Reader::next_batch`] until it returns `None`, then
/// [`Reader::take_error`] to learn whether the capture ended cleanly.
pub struct Reader {
    path: String,
    input: Box<dyn Read + Send>,
    format: Format,
    parser: Parser,
    /// Byte offset of the next unparsed byte in the (decompressed) input.
    offset: u64,
    /// Bytes read but not parsed yet (the start of a record the last chunk cut); they begin the
    /// next batch's arena.
    carry: Vec<u8>,
    /// The input has no more bytes.
    eof: bool,
    /// Frames handed out so far.
    frames: u64,
    interfaces: Vec<Interface>,
    /// Classic pcap's single interface.
    legacy: Option<Interface>,
    done: bool,
    error: Option<Error>,
    /// A read error, reported once the bytes read before it are parsed.
    read_error: Option<String>,
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
        // Read the head unbuffered: a plain file is then read straight into the arenas.
        let mut input = input;
        let mut head = Vec::with_capacity(PROBE);
        (&mut input)
            .take(PROBE as u64)
            .read_to_end(&mut head)
            .map_err(io_err)?;
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        if gzip {
            let compressed = io::Cursor::new(std::mem::take(&mut head)).chain(input);
            input = Box::new(flate2::read::MultiGzDecoder::new(compressed));
            (&mut input)
                .take(PROBE as u64)
                .read_to_end(&mut head)
                .map_err(io_err)?;
        }
        if head.is_empty() {
            return Err(Error::Empty { path });
        }
        let magic = Magic(head.iter().take(8).copied().collect());
        let (format, parser, header_len, legacy) =
            if pcap_parser::pcapng::parse_sectionheaderblock(&head).is_ok() {
                (
                    Format::PcapNg,
                    Parser::PcapNg { big_endian: false },
                    0,
                    None,
                )
            } else {
                match pcap_parser::pcap::parse_pcap_header(&head) {
                    Ok((rest, header)) => {
                        if header.version_major != 2 {
                            return Err(Error::Unsupported {
                                path,
                                what: format!(
                                    "pcap: major version {} unsupported (only version 2 exists)",
                                    header.version_major
                                ),
                            });
                        }
                        let parse: PcapRecordParser = if header.is_modified_format() {
                            pcap_parser::pcap::parse_pcap_frame_modified
                        } else if header.is_bigendian() {
                            pcap_parser::pcap::parse_pcap_frame_be
                        } else {
                            pcap_parser::pcap::parse_pcap_frame
                        };
                        let nanosecond = header.is_nanosecond_precision();
                        let iface = Interface {
                            linktype: u16::try_from(header.network.0).unwrap_or(u16::MAX),
                            resol_exp: if nanosecond { 9 } else { 6 },
                            binary: false,
                            offset_s: 0,
                        };
                        let format = Format::Pcap {
                            nanosecond,
                            big_endian: header.is_bigendian(),
                        };
                        (
                            format,
                            Parser::Pcap(parse),
                            head.len() - rest.len(),
                            Some(iface),
                        )
                    }
                    Err(pcap_parser::nom::Err::Incomplete(_)) => {
                        return Err(Error::Unsupported {
                            path,
                            what: format!(
                                "the file is too short for a capture file header (starts {magic})"
                            ),
                        });
                    }
                    Err(_) => return Err(Error::NotACapture { path, magic }),
                }
            };
        let eof = head.len() < PROBE;
        head.drain(..header_len);
        Ok(Reader {
            path,
            input,
            format,
            parser,
            offset: header_len as u64,
            carry: head,
            eof,
            frames: 0,
            interfaces: Vec::new(),
            legacy,
            done: false,
            error: None,
            read_error: None,
            gzip,
        })
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

    /// The length a record or block claims, read from its header at the start of `data`, and
    /// the most allowed.
    fn claimed_len(&self, data: &[u8]) -> Option<(u64, u64)> {
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
                // The smaller reading is the plausible one whatever the section's byte order.
                Some((u64::from(le.min(be)), u64::from(MAX_PCAPNG_BLOCK)))
            }
        }
    }

    /// Append input to `arena` until it holds `want` bytes or the input ends. (`read_to_end`
    /// reads into the spare capacity without zeroing it first, and retries short reads, which a
    /// pipe gives.)
    /// A read error ends the input; what was read before it stays in the arena and is parsed.
    fn fill(&mut self, arena: &mut Vec<u8>, want: usize) {
        let Some(missing) = want
            .checked_sub(arena.len())
            .filter(|&n| n > 0 && !self.eof)
        else {
            return;
        };
        // `read_to_end` grows the arena past this as the input lasts.
        arena.reserve(missing.min(MAX_PENDING));
        match (&mut self.input).take(missing as u64).read_to_end(arena) {
            Ok(n) if n < missing => self.eof = true,
            Ok(_) => {}
            Err(e) => {
                self.eof = true;
                self.read_error = Some(format!("read error: {e}"));
            }
        }
    }

    /// Read up to `max_frames` frames or about `max_bytes` of input. Returns `None` at the end of
    /// the capture or after an error (see [`Reader::take_error`]).
    pub fn next_batch(&mut self, max_frames: usize, max_bytes: usize) -> Option<Batch> {
        self.next_batch_into(Batch::default(), max_frames, max_bytes)
    }

    /// [`Reader::next_batch`] into the buffers of a batch already used, whatever they hold:
    /// fresh buffers cost an allocation, and the kernel's first touch of every page, per batch.
    pub fn next_batch_into(
        &mut self,
        used: Batch,
        max_frames: usize,
        max_bytes: usize,
    ) -> Option<Batch> {
        if self.done {
            return None;
        }
        let Batch {
            mut arena,
            mut frames,
        } = used;
        // Buffers that grew for one large block are not kept.
        if arena.capacity() > max_bytes.saturating_mul(2).max(1 << 20) {
            arena = Vec::new();
        }
        if frames.capacity() > max_frames.saturating_mul(2).max(1 << 12) {
            frames = Vec::new();
        }
        arena.clear();
        frames.clear();
        // Read a little less than what `max_frames` records take (from the average so far): a
        // batch then mostly ends where the input read ends, and only the record cut there is
        // copied into the next batch. (Reading more, what follows the last frame is all copied.)
        let average = self.offset.checked_div(self.frames).unwrap_or(2048);
        let wanted = u64::try_from(max_frames).unwrap_or(u64::MAX);
        let expected =
            usize::try_from(average.saturating_mul(wanted) / 16 * 15).unwrap_or(usize::MAX);
        let max_bytes = max_bytes.min(expected).max(64 * 1024);
        // `fill` grows it past this when a caller asks for more.
        arena.reserve(max_bytes.min(MAX_PENDING).max(self.carry.len()));
        let mut batch = Batch { arena, frames };
        batch.arena.append(&mut self.carry);
        self.fill(&mut batch.arena, max_bytes);
        let mut pos = 0;
        while batch.frames.len() < max_frames && !self.done {
            let arena = &batch.arena;
            let data = arena.get(pos..).unwrap_or_default();
            if data.is_empty() && self.eof {
                match self.read_error.take() {
                    Some(what) => self.fail(what),
                    None => self.done = true,
                }
                break;
            }
            // Most records of a pcap file are taken here, without the generic block (an enum
            // sized for pcapng's blocks, moved about once per record); the rest, and any record
            // the parser does not take whole, go the general way below.
            if let (Parser::Pcap(parse), Some(iface)) = (self.parser, self.legacy.as_ref())
                && let Ok((rest, block)) = parse(data)
                && let Some(size) = data.len().checked_sub(rest.len()).filter(|&n| n > 0)
            {
                match legacy_frame(iface, self.frames + 1, &block, self.offset) {
                    Ok(meta) => {
                        self.frames += 1;
                        let range = range_in(arena.as_ptr().addr(), block.data);
                        batch.frames.push((meta, range));
                    }
                    Err(what) => {
                        self.fail(what);
                        break;
                    }
                }
                pos += size;
                self.offset += size as u64;
                continue;
            }
            match self.parser.parse(data) {
                Ok((rest, block)) => {
                    let size = data.len().saturating_sub(rest.len());
                    if size == 0 {
                        // A parser that consumed nothing would loop here for ever.
                        self.fail("a block of length 0".into());
                        break;
                    }
                    let frame = frame_of(
                        &mut self.interfaces,
                        self.legacy.as_ref(),
                        self.frames + 1,
                        block,
                        self.offset,
                        arena.as_ptr().addr(),
                    );
                    match frame {
                        Ok(Some(f)) => {
                            self.frames += 1;
                            batch.frames.push(f);
                        }
                        Ok(None) => {}
                        Err(what) => {
                            self.fail(what);
                            break;
                        }
                    }
                    pos += size;
                    self.offset += size as u64;
                }
                Err(pcap_parser::nom::Err::Incomplete(needed)) => {
                    if let Some((len, max)) = self.claimed_len(data)
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
                    if let Some(what) = self.read_error.take() {
                        self.fail(what);
                        break;
                    }
                    if self.eof {
                        let left = data.len();
                        self.fail(format!(
                            "the capture is cut short in the middle of a record ({left} byte{} left over)",
                            if left == 1 { "" } else { "s" }
                        ));
                        break;
                    }
                    if !batch.frames.is_empty() {
                        break; // the record starts the next batch
                    }
                    // Nothing to hand out yet: read on until the record is whole. Blocks
                    // before it that carry no frame (name resolution, statistics...) are
                    // dropped first, so that a run of them cannot pile up in the arena.
                    batch.arena.drain(..pos);
                    pos = 0;
                    let more = match needed {
                        pcap_parser::nom::Needed::Size(n) => n.get(),
                        pcap_parser::nom::Needed::Unknown => 1,
                    };
                    let want = batch.arena.len().saturating_add(more.max(max_bytes));
                    if want > MAX_PENDING {
                        self.fail("block larger than the read buffer".into());
                        break;
                    }
                    self.fill(&mut batch.arena, want);
                }
                Err(pcap_parser::nom::Err::Error(e) | pcap_parser::nom::Err::Failure(e)) => {
                    let what = describe(&e);
                    self.fail(what);
                    break;
                }
            }
        }
        if let Some(rest) = batch.arena.get(pos..) {
            self.carry.extend_from_slice(rest);
        }
        batch.arena.truncate(pos);
        if batch.frames.is_empty() && self.done {
            None
        } else {
            Some(batch)
        }
    }
}

/// A pcap record's frame, on the interface the file header describes.
fn legacy_frame(
    iface: &Interface,
    number: u64,
    b: &pcap_parser::LegacyPcapBlock<'_>,
    file_offset: u64,
) -> Result<FrameMeta, String> {
    if b.caplen > MAX_PCAP_RECORD {
        return Err(format!(
            "packet claims {} bytes, more than the maximum of {MAX_PCAP_RECORD}",
            b.caplen
        ));
    }
    let frac = i64::from(b.ts_usec) * if iface.resol_exp == 9 { 1 } else { 1000 };
    Ok(FrameMeta {
        number,
        ts_ns: Some(i64::from(b.ts_sec) * 1_000_000_000 + frac),
        ts_digits: iface.digits(),
        caplen: b.caplen,
        origlen: b.origlen,
        linktype: iface.linktype,
        interface_id: 0,
        file_offset,
        kind: FrameKind::Packet,
    })
}

/// Turn one block into a frame (or nothing, for blocks that are not frames).
fn frame_of(
    interfaces: &mut Vec<Interface>,
    legacy: Option<&Interface>,
    number: u64,
    block: PcapBlockOwned<'_>,
    file_offset: u64,
    arena_addr: usize,
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
            meta = legacy_frame(iface, number, &b, file_offset)?;
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
    Ok(Some((meta, range_in(arena_addr, data))))
}

/// Where `data`, a slice of the arena at `arena_addr`, lies in it: a frame's bytes are a block's,
/// never copied out of the arena.
fn range_in(arena_addr: usize, data: &[u8]) -> std::ops::Range<usize> {
    let start = data.as_ptr().addr().wrapping_sub(arena_addr);
    start..start.saturating_add(data.len())
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn frames(path: &str, max_frames: usize, max_bytes: usize) -> Vec<(u64, Vec<u8>)> {
        let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
        let mut reader = Reader::open(&path).unwrap();
        let mut out = Vec::new();
        while let Some(batch) = reader.next_batch(max_frames, max_bytes) {
            assert!(batch.frames.len() <= max_frames);
            for (meta, range) in &batch.frames {
                out.push((meta.number, batch.arena[range.clone()].to_vec()));
            }
        }
        assert!(reader.take_error().is_none());
        out
    }

    /// Frames read with each batch's buffers handed back for the next one, as the engine does.
    fn frames_reusing(path: &str, max_frames: usize, max_bytes: usize) -> Vec<(u64, Vec<u8>)> {
        let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
        let mut reader = Reader::open(&path).unwrap();
        let mut out = Vec::new();
        let mut used = Batch::default();
        while let Some(batch) = reader.next_batch_into(used, max_frames, max_bytes) {
            for (meta, range) in &batch.frames {
                out.push((meta.number, batch.arena[range.clone()].to_vec()));
            }
            used = batch;
        }
        assert!(reader.take_error().is_none());
        out
    }

    #[test]
    fn reused_buffers_do_not_change_the_frames() {
        for path in ["samples/lab-mixed.pcapng", "samples/lab-fragments.pcap"] {
            let whole = frames(path, usize::MAX, usize::MAX);
            assert_eq!(whole, frames_reusing(path, 1, 1), "{path}");
            assert_eq!(whole, frames_reusing(path, 7, 100), "{path}");
            assert_eq!(whole, frames_reusing(path, 2048, 2 << 20), "{path}");
        }
    }

    #[test]
    fn batch_sizes_do_not_change_the_frames() {
        for path in ["samples/lab-mixed.pcapng", "samples/lab-fragments.pcap"] {
            let whole = frames(path, usize::MAX, usize::MAX);
            assert!(whole.len() > 20, "{path}");
            assert_eq!(whole, frames(path, 1, 1), "{path}");
            assert_eq!(whole, frames(path, 7, 100), "{path}");
            assert_eq!(whole, frames(path, 2048, 2 << 20), "{path}");
        }
    }

    /// pcapng blocks that are not frames (here name resolution blocks) do not pile up in a
    /// batch's arena while the reader looks for a frame: 48 MB of them, then one packet.
    #[test]
    fn blocks_without_frames_do_not_accumulate() {
        let le = |v: u32| v.to_le_bytes();
        let mut b = Vec::new();
        b.extend_from_slice(&le(0x0a0d_0d0a));
        b.extend_from_slice(&le(28));
        b.extend_from_slice(&le(0x1a2b_3c4d));
        b.extend_from_slice(&[1, 0, 0, 0]);
        b.extend_from_slice(&[0xff; 8]);
        b.extend_from_slice(&le(28));
        for v in [1, 20, 1, 65535, 20] {
            b.extend_from_slice(&le(v)); // IDB: type, length, link type + reserved, snaplen
        }
        let nrb_len = 1 << 20;
        for _ in 0..48 {
            b.extend_from_slice(&le(4));
            b.extend_from_slice(&le(nrb_len));
            b.extend_from_slice(&[0; 4]); // record type 0: the end of the records
            b.resize(b.len() + nrb_len as usize - 16, 0);
            b.extend_from_slice(&le(nrb_len));
        }
        let frame = [0u8; 60];
        b.extend_from_slice(&le(6));
        b.extend_from_slice(&le(32 + 60));
        for v in [0, 0, 0, 60, 60] {
            b.extend_from_slice(&le(v));
        }
        b.extend_from_slice(&frame);
        b.extend_from_slice(&le(32 + 60));
        let mut reader = Reader::from_read("nrb", Box::new(std::io::Cursor::new(b))).unwrap();
        let mut frames = 0;
        while let Some(batch) = reader.next_batch(2048, 2 << 20) {
            assert!(
                batch.arena.len() < 8 << 20,
                "an arena of {} bytes",
                batch.arena.len()
            );
            frames += batch.frames.len();
        }
        assert!(reader.take_error().is_none());
        assert_eq!(frames, 1);
    }
}
