//! The decoded form of one frame: small owned header representations ("reprs") in the order they
//! were found, each with its byte range in the frame. Records are produced by the stateless, parallel
//! decode stage and never refer to capture, flow or output state.

use smallvec::SmallVec;

use crate::wire::dns::DnsMessage;

/// Where a frame came from and what the capture file says about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameMeta {
    /// 1-based frame number, as tshark counts (custom blocks included).
    pub number: u64,
    /// Timestamp in nanoseconds since the epoch; `None` for records without one (pcapng SPB).
    pub ts_ns: Option<i64>,
    /// Decimal digits of the timestamp resolution (6 for microseconds, 9 for nanoseconds).
    pub ts_digits: u8,
    pub caplen: u32,
    pub origlen: u32,
    /// The link type of the interface the frame was captured on (LINKTYPE_* value).
    pub linktype: u16,
    pub interface_id: u32,
    /// Byte offset of the record (pcap) or block (pcapng) in the (decompressed) input.
    pub file_offset: u64,
    pub kind: FrameKind,
}

/// What kind of record a frame is. tshark 4.0 lists pcapng custom blocks as frames.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FrameKind {
    #[default]
    Packet,
    CustomBlock {
        pen: u32,
        copy: bool,
    },
}

/// Which layer a [`Malformed`] mark belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    Link,
    Vlan,
    Arp,
    Ipv4,
    Ipv6,
    Icmp,
    Icmpv6,
    Udp,
    Tcp,
    Dns,
}

impl LayerKind {
    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Link => "link",
            LayerKind::Vlan => "VLAN",
            LayerKind::Arp => "ARP",
            LayerKind::Ipv4 => "IPv4",
            LayerKind::Ipv6 => "IPv6",
            LayerKind::Icmp => "ICMP",
            LayerKind::Icmpv6 => "ICMPv6",
            LayerKind::Udp => "UDP",
            LayerKind::Tcp => "TCP",
            LayerKind::Dns => "DNS",
        }
    }
}

/// Why a layer could not be decoded in full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MalformedKind {
    /// The capture stopped before the header ended (snaplen); tshark's "[Packet size limited during capture]".
    Truncated { needed: u32, have: u32 },
    /// The header's own fields are inconsistent (bad version, length below minimum, ...).
    BadHeader(&'static str),
}

/// A layer that could not be decoded in full. Stored in the record, never an `Err`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub layer: LayerKind,
    pub kind: MalformedKind,
    /// Offset of the layer's first byte in the frame.
    pub offset: u32,
}

impl Malformed {
    pub fn is_truncation(&self) -> bool {
        matches!(self.kind, MalformedKind::Truncated { .. })
    }
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            MalformedKind::Truncated { needed, have } => write!(
                f,
                "{} header truncated at offset {}: needs {} bytes, {} captured",
                self.layer.name(),
                self.offset,
                needed,
                have
            ),
            MalformedKind::BadHeader(why) => {
                write!(
                    f,
                    "{} at offset {}: {}",
                    self.layer.name(),
                    self.offset,
                    why
                )
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ethernet {
    pub dst: [u8; 6],
    /// Absent when the capture kept fewer than 12 bytes.
    pub src: Option<[u8; 6]>,
    pub ethertype: Option<u16>,
}

/// Linux cooked capture, v1 (LINKTYPE_LINUX_SLL) or v2 (LINKTYPE_LINUX_SLL2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sll {
    pub version: u8,
    pub pkttype: u16,
    pub hatype: u16,
    pub halen: u8,
    pub addr: [u8; 8],
    pub protocol: u16,
    /// SLL2 only.
    pub ifindex: u32,
}

impl Sll {
    /// The link-layer source address, as far as the header carries one.
    pub fn src_addr(&self) -> &[u8] {
        let n = usize::from(self.halen).min(8);
        self.addr.get(..n).unwrap_or(&[])
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vlan {
    /// Tag protocol identifier that introduced this tag: 0x8100 (802.1Q) or 0x88a8 (802.1ad).
    pub tpid: u16,
    pub tci: u16,
    pub ethertype: u16,
}

impl Vlan {
    pub fn id(&self) -> u16 {
        self.tci & 0x0fff
    }
    pub fn priority(&self) -> u16 {
        self.tci >> 13
    }
    pub fn dei(&self) -> bool {
        self.tci & 0x1000 != 0
    }
    pub fn is_8021ad(&self) -> bool {
        self.tpid == 0x88a8
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arp {
    pub hw_type: u16,
    pub proto_type: u16,
    pub hw_size: u8,
    pub proto_size: u8,
    pub opcode: u16,
    /// Sender/target addresses; only kept for Ethernet/IPv4 ARP (6/4 byte addresses).
    pub src_hw: Option<[u8; 6]>,
    pub src_ip: Option<[u8; 4]>,
    pub dst_hw: Option<[u8; 6]>,
    pub dst_ip: Option<[u8; 4]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv4 {
    pub hdr_len: u8,
    pub dsfield: u8,
    pub total_len: u16,
    pub id: u16,
    /// The 3 flag bits (RB, DF, MF), shifted down: DF = 0x2, MF = 0x1.
    pub flags: u8,
    /// Fragment offset in 8-byte units, as on the wire.
    pub frag_offset: u16,
    pub ttl: u8,
    pub proto: u8,
    pub checksum: u16,
    pub src: [u8; 4],
    pub dst: [u8; 4],
}

impl Ipv4 {
    pub fn more_fragments(&self) -> bool {
        self.flags & 1 != 0
    }
    pub fn dont_fragment(&self) -> bool {
        self.flags & 2 != 0
    }
    /// A fragment that is not the whole datagram: its transport header may be elsewhere.
    pub fn is_fragment(&self) -> bool {
        self.more_fragments() || self.frag_offset != 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6 {
    pub tclass: u8,
    pub flow: u32,
    pub payload_len: u16,
    /// Next header of the fixed header (before any extension header).
    pub next_header: u8,
    pub hop_limit: u8,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    /// The protocol after the last extension header decoded.
    pub upper_proto: u8,
    /// Set when a fragment header says this is not the whole datagram.
    pub fragment: Option<Ipv6Fragment>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Fragment {
    pub offset: u16,
    pub more: bool,
    pub id: u32,
}

/// An IPv6 extension header (hop-by-hop, routing, fragment, destination options, AH).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6Ext {
    pub kind: u8,
    pub next_header: u8,
    pub len: u16,
}

impl Ipv6Ext {
    /// Wireshark's protocol name for the header, as it appears in `frame.protocols`.
    pub fn proto_name(&self) -> &'static str {
        match self.kind {
            0 => "ipv6.hopopts",
            43 => "ipv6.routing",
            44 => "ipv6.fraghdr",
            60 => "ipv6.dstopts",
            51 => "ah",
            _ => "ipv6.ext",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Icmp {
    pub icmp_type: u8,
    pub code: u8,
    pub checksum: u16,
    /// Bytes 4..8 of the header (identifier and sequence for echo-like messages).
    pub rest: [u8; 4],
}

impl Icmp {
    /// Echo, timestamp, information and address-mask messages carry an identifier and sequence.
    pub fn has_id_seq(&self) -> bool {
        matches!(self.icmp_type, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)
    }
    pub fn ident(&self) -> u16 {
        u16::from_be_bytes([self.rest[0], self.rest[1]])
    }
    pub fn seq(&self) -> u16 {
        u16::from_be_bytes([self.rest[2], self.rest[3]])
    }
    /// Error messages quote the offending datagram's IP header.
    pub fn is_error(&self) -> bool {
        matches!(self.icmp_type, 3 | 4 | 5 | 11 | 12)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Icmpv6 {
    pub icmp_type: u8,
    pub code: u8,
    pub checksum: u16,
    pub rest: [u8; 4],
}

impl Icmpv6 {
    pub fn is_echo(&self) -> bool {
        matches!(self.icmp_type, 128 | 129)
    }
    pub fn ident(&self) -> u16 {
        u16::from_be_bytes([self.rest[0], self.rest[1]])
    }
    pub fn seq(&self) -> u16 {
        u16::from_be_bytes([self.rest[2], self.rest[3]])
    }
    pub fn is_error(&self) -> bool {
        self.icmp_type < 128
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Udp {
    pub src_port: u16,
    pub dst_port: u16,
    pub length: u16,
    pub checksum: u16,
}

/// Where a TCP header's option bytes lie in the frame's data (as captured, at most 40): they are
/// read from there on demand. A copy of them made every TCP record 40 bytes larger, and copying
/// a variable length into a fixed array stalled the decoder on each one.
///
/// One layout is kept as values too: NOP, NOP, Timestamp, which Linux and macOS put on every
/// segment after the handshake. The packet list shows its two values on nearly every TCP line
/// of such a capture, and reading them from the frame when the line is rendered, long after
/// decoding, missed the cache on most lines (4% of the list's samples, on that one load).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    start: u32,
    len: u8,
    only_timestamp: Option<(u32, u32)>,
}

impl TcpOptions {
    /// The options `bytes`, found at `range` of the frame's data (beyond 40 bytes, which a TCP
    /// header cannot hold, they are ignored).
    pub fn at(range: std::ops::Range<usize>, bytes: &[u8]) -> TcpOptions {
        let Ok(start) = u32::try_from(range.start) else {
            return TcpOptions::default();
        };
        let only_timestamp = match bytes {
            [1, 1, 8, 10, ts @ ..] if ts.len() == 8 => Some((be32_at(ts, 0), be32_at(ts, 4))),
            _ => None,
        };
        TcpOptions {
            start,
            len: range.len().min(40) as u8,
            only_timestamp,
        }
    }

    /// TSval and TSecr, when the options are NOP, NOP, Timestamp and nothing else (see
    /// [`TcpOptions`]); `items` gives the same.
    pub fn only_timestamp(&self) -> Option<(u32, u32)> {
        self.only_timestamp
    }

    /// The option bytes, given the data the record was decoded from (empty if it is not that).
    pub fn bytes<'d>(&self, data: &'d [u8]) -> &'d [u8] {
        let start = self.start as usize;
        data.get(start..start + usize::from(self.len))
            .unwrap_or_default()
    }

    /// The options in the order they appear, as far as they were captured and understood.
    pub fn items<'d>(&self, data: &'d [u8]) -> TcpOptionIter<'d> {
        TcpOptionIter::new(self.bytes(data))
    }
}

/// The big-endian number at `i` of an option's bytes (0 past their end).
fn be32_at(b: &[u8], i: usize) -> u32 {
    b.get(i..)
        .and_then(|x| x.first_chunk::<4>())
        .map_or(0, |x| u32::from_be_bytes(*x))
}

/// Walks TCP options (RFC 9293 §3.1, RFC 7323, RFC 2018); stops at End of Option List, or at an
/// option cut by the snaplen or with a length below 2.
#[derive(Clone, Debug)]
pub struct TcpOptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> TcpOptionIter<'a> {
    /// Walk the option bytes of a TCP header.
    pub fn new(bytes: &'a [u8]) -> TcpOptionIter<'a> {
        TcpOptionIter { rest: bytes }
    }
}

impl Iterator for TcpOptionIter<'_> {
    type Item = TcpOption;

    fn next(&mut self) -> Option<TcpOption> {
        let b = self.rest;
        let (&kind, rest) = b.split_first()?;
        match kind {
            0 => {
                self.rest = &[];
                return Some(TcpOption::Eol);
            }
            1 => {
                self.rest = rest;
                return Some(TcpOption::Nop);
            }
            _ => {}
        }
        self.rest = &[];
        let len = *rest.first()?;
        let body = b.get(2..usize::from(len))?;
        let be32 = |i: usize| be32_at(body, i);
        let opt = match (kind, body.len()) {
            (2, 2) => TcpOption::Mss(u16::from_be_bytes([
                body.first().copied().unwrap_or(0),
                body.get(1).copied().unwrap_or(0),
            ])),
            (3, 1) => TcpOption::WindowScale(body.first().copied().unwrap_or(0)),
            (4, 0) => TcpOption::SackPermitted,
            (5, n) if n % 8 == 0 && n > 0 => {
                let mut blocks = [(0u32, 0u32); 4];
                let mut count = 0u8;
                for (i, slot) in blocks.iter_mut().enumerate().take(n / 8) {
                    *slot = (be32(i * 8), be32(i * 8 + 4));
                    count += 1;
                }
                TcpOption::Sack { count, blocks }
            }
            (8, 8) => TcpOption::Timestamp {
                tsval: be32(0),
                tsecr: be32(4),
            },
            _ => TcpOption::Other { kind, len },
        };
        self.rest = b.get(usize::from(len)..).unwrap_or_default();
        Some(opt)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpOption {
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    Sack { count: u8, blocks: [(u32, u32); 4] },
    Timestamp { tsval: u32, tsecr: u32 },
    Nop,
    Eol,
    Other { kind: u8, len: u8 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tcp {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub hdr_len: u8,
    /// The 12 flag bits (reserved, AE, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN).
    pub flags: u16,
    pub window: u16,
    pub checksum: u16,
    pub urgent: u16,
    pub options: TcpOptions,
    /// Payload length according to the IP header (may exceed what was captured).
    pub payload_len: u32,
}

pub mod tcp_flags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    pub const AE: u16 = 0x100;
}

impl Tcp {
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
    /// The MSS option's value; `data` is what the record was decoded from.
    pub fn mss(&self, data: &[u8]) -> Option<u16> {
        self.options.items(data).find_map(|o| match o {
            TcpOption::Mss(v) => Some(v),
            _ => None,
        })
    }
    /// The window scale option's shift count.
    pub fn window_scale(&self, data: &[u8]) -> Option<u8> {
        self.options.items(data).find_map(|o| match o {
            TcpOption::WindowScale(v) => Some(v),
            _ => None,
        })
    }
    pub fn sack_permitted(&self, data: &[u8]) -> bool {
        self.options
            .items(data)
            .any(|o| o == TcpOption::SackPermitted)
    }
}

/// One decoded layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proto {
    Ethernet(Ethernet),
    Sll(Sll),
    /// BSD loopback: the address family in host byte order of the capturing machine.
    Null {
        family: u32,
    },
    /// LINKTYPE_RAW and friends: no link header.
    Raw,
    Vlan(Vlan),
    Arp(Arp),
    Ipv4(Ipv4),
    Ipv6(Ipv6),
    Ipv6Ext(Ipv6Ext),
    Icmp(Icmp),
    Icmpv6(Icmpv6),
    Udp(Udp),
    Tcp(Tcp),
    Dns(Box<DnsMessage>),
    /// Bytes no decoder claimed (`data` in Wireshark).
    Data,
}

/// A layer and the bytes it spans in the frame: `[offset, offset + hdr_len)` is its header and
/// `[offset, end)` everything it covers (header and payload, bounded by its own length fields and the
/// captured bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub proto: Proto,
    pub offset: u32,
    pub hdr_len: u32,
    pub end: u32,
    /// Set on layers found inside an ICMP error message (the quoted datagram).
    pub quoted: bool,
}

impl Layer {
    pub fn payload_range(&self) -> std::ops::Range<usize> {
        let start = self.offset.saturating_add(self.hdr_len).min(self.end);
        start as usize..self.end as usize
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset as usize..self.end as usize
    }
}

/// A frame's layers, inline up to four: link, network, transport and payload, which is all but
/// a handful of frames in the test captures (ICMP errors quoting a datagram, stacked VLANs, IPv6
/// extension chains spill to the heap) and every frame of the lab capture in BENCHMARKS.md. Every
/// record crosses from the decoding threads to the ordered stage, so its size is paid per frame:
/// 400 bytes with four inline.
pub type Layers = SmallVec<[Layer; 4]>;

/// One decoded frame. The frame's bytes live in its batch's arena at `data`.
#[derive(Clone, Debug, Default)]
pub struct PacketRecord {
    pub meta: FrameMeta,
    pub layers: Layers,
    pub malformed: Option<Malformed>,
    /// Range of the frame's captured bytes in the batch arena.
    pub data: std::ops::Range<usize>,
    /// Whether [`super::fragment_of`] finds an IP fragment in the layers
    /// [`super::decode_frame_into`] wrote: found on the decoding threads, so the ordered stage
    /// asks it of fragments only.
    pub ip_fragment: bool,
    /// Where the outer headers are in `layers`: noted by the decoder as it pushes them.
    pub(super) outer: Outer,
}

/// Indices in a record's layers of its first IP header (v4 or v6) and its first TCP header that
/// are not quoted in an ICMP error: what the ordered stage asks of every frame (the tracker's
/// segment and endpoints), noted by the decoder as it pushes the layers, where a walk of the
/// layers after decoding cost every frame about 28 instructions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Outer {
    pub(super) ip: Option<u32>,
    pub(super) tcp: Option<u32>,
    /// Whether a layer not quoted in an ICMP error is ICMP, ICMPv6 or DNS: the layers request
    /// and response pairing looks at, which most frames have none of.
    pub(super) pairable: bool,
}

impl PacketRecord {
    pub fn find(&self, pred: impl Fn(&Proto) -> bool) -> Option<&Layer> {
        self.layers.iter().find(|l| pred(&l.proto))
    }
    pub fn ipv4(&self) -> Option<&Ipv4> {
        self.layers.iter().find_map(|l| match &l.proto {
            Proto::Ipv4(ip) if !l.quoted => Some(ip),
            _ => None,
        })
    }
    pub fn ipv6(&self) -> Option<&Ipv6> {
        self.layers.iter().find_map(|l| match &l.proto {
            Proto::Ipv6(ip) if !l.quoted => Some(ip),
            _ => None,
        })
    }
    /// The (outer) TCP header and its layer, if the frame carries one.
    pub fn tcp(&self) -> Option<(&Layer, &Tcp)> {
        let l = self.layers.get(self.outer.tcp? as usize)?;
        match &l.proto {
            Proto::Tcp(t) => Some((l, t)),
            _ => None,
        }
    }

    /// Whether the record has an ICMP, ICMPv6 or DNS layer not quoted in an ICMP error: what
    /// [`crate::app::Pairing`] pairs. Noted as the layers are decoded, so the ordered stage
    /// walks the layers of these frames only.
    pub fn pairable(&self) -> bool {
        self.outer.pairable
    }

    /// The outer IP header's layer (v4 or v6, not quoted in an ICMP error), if the frame has one.
    pub fn outer_ip(&self) -> Option<&Layer> {
        self.layers.get(self.outer.ip? as usize)
    }

    /// Whether the outer IP header ([`PacketRecord::outer_ip`]) is IPv6; `None` without one.
    pub fn outer_ip_is_v6(&self) -> Option<bool> {
        self.outer_ip().map(|l| matches!(l.proto, Proto::Ipv6(_)))
    }

    pub fn udp(&self) -> Option<(&Layer, &Udp)> {
        self.layers.iter().find_map(|l| match &l.proto {
            Proto::Udp(u) if !l.quoted => Some((l, u)),
            _ => None,
        })
    }
    pub fn dns(&self) -> Option<&DnsMessage> {
        self.layers.iter().find_map(|l| match &l.proto {
            Proto::Dns(d) if !l.quoted => Some(&**d),
            _ => None,
        })
    }
}
