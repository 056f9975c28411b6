//! `follow`: one TCP connection's reassembled conversation, as Wireshark's Follow TCP Stream and
//! `tshark -z follow,tcp,FORMAT,N` print it: a header naming the two nodes, then one block per
//! delivered segment in stream order, node 1's blocks indented by a tab. Formats: ascii (control
//! characters other than CR and LF shown as '.', so capture bytes cannot drive the terminal),
//! hex (a hexdump, offsets counted per node) and raw (hex, one line per block).

use std::fmt::Write as _;

use crate::engine::Sink;
use crate::field::PacketView;
use crate::tcp::reassembly::Event;
use crate::tcp::{self, Endpoint};

/// What is followed: a TCP connection (its byte stream) or a UDP conversation (its datagrams).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Collects the delivered blocks of one stream (for TCP, reassembled by the ordered stage, which
/// must run with `Reassembly::Stream` of the same stream; for UDP, one block per datagram).
#[derive(Debug)]
pub struct FollowSink {
    transport: Transport,
    stream: u32,
    /// Node 0 sent the stream's first packet.
    pub nodes: [Option<Endpoint>; 2],
    pub blocks: Vec<(usize, Event)>,
}

impl FollowSink {
    pub fn new(transport: Transport, stream: u32) -> FollowSink {
        FollowSink {
            transport,
            stream,
            nodes: [None, None],
            blocks: Vec::new(),
        }
    }
}

impl Sink for FollowSink {
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
        let [n0, n1] = &mut self.nodes;
        if n0.is_none() {
            *n0 = Some(src);
            *n1 = Some(dst);
        }
        let node = usize::from(*n0 != Some(src));
        match (self.transport, &view.state.tcp, view.rec.udp()) {
            (Transport::Tcp, Some(info), _) => {
                let payload = view
                    .rec
                    .tcp()
                    .map_or(&[][..], |(layer, t)| tcp::payload(layer, t, view.data));
                self.blocks
                    .extend((info.delivered.iter()).map(|e| (node, e.clone().into_owned(payload))));
            }
            (Transport::Udp, _, Some((layer, u))) => {
                // The datagram as captured, never past what the UDP length says.
                let payload = view.data.get(layer.payload_range()).unwrap_or(&[]);
                let len = usize::from(u.length).saturating_sub(8);
                let payload = payload.get(..len).unwrap_or(payload);
                if !payload.is_empty() {
                    self.blocks.push((node, Event::Data(payload.to_vec())));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn endpoint(e: &Option<Endpoint>) -> String {
    match e.map(|e| (e.ip(), e.port)) {
        Some((std::net::IpAddr::V6(a), p)) => format!("[{a}]:{p}"),
        Some((a, p)) => format!("{a}:{p}"),
        None => String::new(),
    }
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

/// The whole follow output for `format` (ascii, hex or raw).
pub fn render(sink: &FollowSink, format: &str) -> String {
    let rule = "=".repeat(67);
    let proto = sink.transport.name();
    let mut s = format!(
        "\n{rule}\nFollow: {proto},{format}\nFilter: {proto}.stream eq {}\nNode 0: {}\nNode 1: {}\n",
        sink.stream,
        endpoint(&sink.nodes[0]),
        endpoint(&sink.nodes[1])
    );
    let mut offsets = [0usize; 2];
    for (node, e) in &sink.blocks {
        let indent = if *node == 1 { "\t" } else { "" };
        match e {
            Event::Data(d) => match format {
                "raw" => {
                    s.push_str(indent);
                    for b in d {
                        let _ = write!(s, "{b:02x}");
                    }
                    s.push('\n');
                }
                "hex" => {
                    hexdump(d, offsets[*node], indent, &mut s);
                    offsets[*node] += d.len();
                }
                _ => {
                    let _ = writeln!(s, "{indent}{}", d.len());
                    ascii(d, &mut s);
                    s.push('\n');
                }
            },
            Event::Gap(n) if format != "raw" => {
                let _ = writeln!(s, "{indent}[{n} bytes missing in capture file]");
            }
            Event::Gap(_) | Event::Tail(_) => {} // blocks own their bytes
        }
    }
    s.push_str(&rule);
    s.push('\n');
    s
}
