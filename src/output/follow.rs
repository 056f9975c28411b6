//! `follow`: one TCP connection's reassembled conversation, as Wireshark's Follow TCP Stream and
//! `tshark -z follow,tcp,FORMAT,N` print it: a header naming the two nodes, then one block per
//! delivered segment in stream order, node 1's blocks indented by a tab. Formats: ascii (control
//! characters other than CR and LF shown as '.', so capture bytes cannot drive the terminal),
//! hex (a hexdump, offsets counted per node) and raw (hex, one line per block).

use std::fmt::Write as _;
use std::io::Write;

use super::Transport;
use super::text::push_endpoint;
use crate::engine::Sink;
use crate::field::PacketView;
use crate::tcp::reassembly::Event;
use crate::tcp::{self, Endpoint};

/// A follow output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Ascii,
    Hex,
    Raw,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "ascii" => Format::Ascii,
            "hex" => Format::Hex,
            "raw" => Format::Raw,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Format::Ascii => "ascii",
            Format::Hex => "hex",
            Format::Raw => "raw",
        }
    }
}

/// Writes the delivered blocks of one stream as they come (for TCP, reassembled by the ordered
/// stage, which must run with `Reassembly::Stream` of the same stream; for UDP, one block per
/// datagram): memory follows one block, not the stream, which can be most of a capture. The
/// header goes out with the stream's first packet, the closing rule at the end; a capture
/// without the stream gets neither.
pub struct FollowSink<'w> {
    transport: Transport,
    stream: u32,
    format: Format,
    /// Node 0 sent the stream's first packet.
    pub nodes: [Option<Endpoint>; 2],
    /// Bytes shown so far from each node (the hexdump's offsets).
    offsets: [usize; 2],
    /// One block's text at a time.
    text: String,
    out: std::io::BufWriter<&'w mut (dyn Write + Send)>,
}

impl<'w> FollowSink<'w> {
    pub fn new(
        transport: Transport,
        stream: u32,
        format: Format,
        out: &'w mut (dyn Write + Send),
    ) -> FollowSink<'w> {
        FollowSink {
            transport,
            stream,
            format,
            nodes: [None, None],
            offsets: [0; 2],
            text: String::new(),
            out: std::io::BufWriter::new(out),
        }
    }

    /// The header, before the first block.
    fn header(&mut self) -> std::io::Result<()> {
        let proto = self.transport.name();
        let header = format!(
            "\n{RULE}\nFollow: {proto},{}\nFilter: {proto}.stream eq {}\nNode 0: {}\nNode 1: {}\n",
            self.format.name(),
            self.stream,
            endpoint(&self.nodes[0]),
            endpoint(&self.nodes[1])
        );
        self.out.write_all(header.as_bytes())
    }

    /// One block from `node`, written from where its bytes lie (the segment's `payload`, or
    /// reassembly's buffer): not copied first.
    fn block(&mut self, node: usize, e: &Event, payload: &[u8]) -> std::io::Result<()> {
        let s = &mut self.text;
        s.clear();
        let indent = if node == 1 { "\t" } else { "" };
        match (e.bytes(payload), e) {
            (Some(d), _) => match self.format {
                Format::Raw => {
                    s.push_str(indent);
                    for b in d {
                        let _ = write!(s, "{b:02x}");
                    }
                    s.push('\n');
                }
                Format::Hex => {
                    if let Some(offset) = self.offsets.get_mut(node) {
                        hexdump(d, *offset, indent, s);
                        *offset += d.len();
                    }
                }
                Format::Ascii => {
                    let _ = writeln!(s, "{indent}{}", d.len());
                    ascii(d, s);
                    s.push('\n');
                }
            },
            (None, Event::Gap(n)) if self.format != Format::Raw => {
                let _ = writeln!(s, "{indent}[{n} bytes missing in capture file]");
            }
            (None, _) => {}
        }
        self.out.write_all(s.as_bytes())
    }
}

/// The rule above the header and below the last block.
const RULE: &str = "===================================================================";

impl Sink for FollowSink<'_> {
    fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
        let ports = match self.transport {
            Transport::Tcp => view
                .rec
                .tcp()
                .filter(|_| view.state.tcp.as_ref().map(|i| i.stream) == Some(self.stream))
                .map(|(_, t)| (t.src_port, t.dst_port)),
            Transport::Udp => view
                .rec
                .udp()
                .filter(|_| view.state.udp_stream == Some(self.stream))
                .map(|(_, u)| (u.src_port, u.dst_port)),
        };
        let Some((src, dst)) = ports.and_then(|(s, d)| tcp::endpoints(view.rec, s, d)) else {
            return Ok(());
        };
        if self.nodes[0].is_none() {
            self.nodes = [Some(src), Some(dst)];
            self.header()?;
        }
        let node = usize::from(self.nodes[0] != Some(src));
        match (self.transport, &view.state.tcp, view.rec.udp()) {
            (Transport::Tcp, Some(info), _) => {
                let payload = view
                    .rec
                    .tcp()
                    .map_or(&[][..], |(layer, t)| tcp::payload(layer, t, view.data));
                for e in info.delivered.iter() {
                    self.block(node, e, payload)?;
                }
            }
            (Transport::Udp, _, Some((layer, u))) => {
                // The datagram as captured, never past what the UDP length says.
                let payload = view.data.get(layer.payload_range()).unwrap_or(&[]);
                let len = usize::from(u.length).saturating_sub(8);
                let payload = payload.get(..len).unwrap_or(payload);
                if !payload.is_empty() {
                    // The whole datagram: a block from its first byte on.
                    self.block(node, &Event::Tail(0), payload)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.nodes[0].is_some() {
            self.out.write_all(RULE.as_bytes())?;
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }
}

/// A node as the header names it (see [`push_endpoint`]).
fn endpoint(e: &Option<Endpoint>) -> String {
    let mut s = String::new();
    if let Some(e) = e {
        push_endpoint(&mut s, e);
    }
    s
}

/// The printable form of data in ascii mode.
fn ascii(data: &[u8], out: &mut String) {
    for &b in data {
        out.push(match b {
            b'\n' | b'\r' | 0x20..=0x7e => char::from(b),
            _ => '.',
        });
    }
}

fn hexdump(data: &[u8], start: usize, indent: &str, out: &mut String) {
    for (i, chunk) in data.chunks(16).enumerate() {
        let line_start = out.len();
        let _ = write!(out, "{indent}{:08X}  ", start + i * 16);
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if j == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        // As tshark's follow_print_hex: a space after the 8th character (even when the line
        // ends there), then one trailing space removed.
        for (j, &b) in chunk.iter().enumerate() {
            out.push(if (0x20..0x7f).contains(&b) {
                char::from(b)
            } else {
                '.'
            });
            if j == 7 {
                out.push(' ');
            }
        }
        if out.len() > line_start && out.ends_with(' ') {
            out.pop();
        }
        out.push('\n');
    }
}
