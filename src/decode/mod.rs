//! Stateless decoding: `&[u8]` of one frame → [`PacketRecord`]. Runs in parallel batches, so it
//! keeps no state, does no I/O and never panics on input bytes. A layer that cannot be decoded in
//! full is recorded as [`Malformed`] data, and decoding stops there.
//!
//! etherparse parses the fixed headers (Ethernet, 802.1Q, IPv4, IPv6, UDP); its types stay inside
//! this module. TCP options, IPv6 extension chains and ICMP are walked here because captures cut
//! them at the snaplen and etherparse's strict slices refuse a partial header that tshark still
//! shows field by field.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod record;

use etherparse::err::ipv4::HeaderSliceError as Ipv4Error;
use etherparse::err::ipv6::HeaderSliceError as Ipv6Error;
pub use record::*;

use crate::wire;

/// LINKTYPE_* values (<https://www.tcpdump.org/linktypes.html>) this decoder knows.
pub mod linktype {
    pub const NULL: u16 = 0;
    pub const ETHERNET: u16 = 1;
    pub const RAW_OPENBSD: u16 = 12;
    pub const RAW_BSDOS: u16 = 14;
    pub const RAW: u16 = 101;
    pub const LOOP: u16 = 108;
    pub const LINUX_SLL: u16 = 113;
    pub const IPV4: u16 = 228;
    pub const IPV6: u16 = 229;
    pub const LINUX_SLL2: u16 = 276;
}

/// Ethertypes that introduce a VLAN tag: 802.1Q, 802.1ad, and the pre-standard QinQ 0x9100.
const VLAN_TPIDS: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// More stacked tags than this is not a real frame; 8 is far beyond any deployed QinQ.
const MAX_VLAN_TAGS: usize = 8;
/// Each extension header takes at least 8 bytes, so the frame length bounds the chain; this cap
/// bounds the layers kept per frame. libpcap__ipv6_ext_headers.pcap, a test of long chains, has 105.
const MAX_IPV6_EXT_HEADERS: usize = 256;

/// What to decode beyond the link, network and transport headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Application-layer parsers (DNS). Off when no output or filter reads them.
    pub app: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions { app: true }
    }
}

/// Decode one frame with everything on. `data` is the captured bytes; `meta` moves into the record.
pub fn decode_frame(meta: FrameMeta, data: &[u8], range: std::ops::Range<usize>) -> PacketRecord {
    let mut rec = PacketRecord::default();
    decode_frame_into(&mut rec, meta, data, range, DecodeOptions::default());
    rec
}

/// Decode one frame, skipping what `opts` turns off, into a record that is already there (a
/// batch's records are reused, and the count decodes every frame into one): the layers are
/// written in place, where building a record and moving it into its batch copied its few
/// hundred bytes twice per frame.
pub fn decode_frame_into(
    rec: &mut PacketRecord,
    meta: FrameMeta,
    data: &[u8],
    range: std::ops::Range<usize>,
    opts: DecodeOptions,
) {
    rec.layers.clear();
    let kind_is_packet = meta.kind == FrameKind::Packet;
    let linktype = meta.linktype;
    rec.meta = meta;
    rec.data = range;
    let mut d = Decoder {
        data,
        layers: &mut rec.layers,
        outer: Outer::default(),
        malformed: None,
        quoted: false,
        fragment: false,
        opts,
    };
    if kind_is_packet {
        d.link(linktype);
    }
    let fragment = d.fragment;
    rec.malformed = d.malformed;
    rec.outer = d.outer;
    // Asked only of frames with a fragment's header: the layers' walk cost every frame about
    // 40 instructions.
    rec.ip_fragment = fragment && fragment_of(rec, data).is_some();
}

/// The outer IP fragment a frame carries, if it is one: what reassembly needs to place it.
pub fn fragment_of<'a>(rec: &PacketRecord, data: &'a [u8]) -> Option<crate::defrag::Fragment<'a>> {
    // The fragment's payload is the data layer right after the outer IP header (and, for IPv6,
    // its extension headers): the decoder decodes no transport header in a fragment. A
    // truncated or damaged header leaves no such layer. Checked first, on the last two layers
    // only: every frame comes here, and most carry a transport header before their data.
    let [.., before, payload] = rec.layers.as_slice() else {
        return None;
    };
    let ip_or_extension = matches!(
        before.proto,
        Proto::Ipv4(_) | Proto::Ipv6(_) | Proto::Ipv6Ext(_)
    );
    if payload.quoted || !matches!(payload.proto, Proto::Data) || !ip_or_extension {
        return None;
    }
    let ip = rec
        .layers
        .iter()
        .rev()
        .find(|l| !l.quoted && matches!(l.proto, Proto::Ipv4(_) | Proto::Ipv6(_)))?;
    let bytes = data.get(payload.range())?;
    let start = payload.offset;
    let (key, offset, more, claimed_end) = match &ip.proto {
        Proto::Ipv4(h) if h.is_fragment() => {
            let mut key = crate::defrag::Key {
                v6: false,
                src: [0; 16],
                dst: [0; 16],
                id: u32::from(h.id),
                proto: h.proto,
            };
            key.src.get_mut(..4)?.copy_from_slice(&h.src);
            key.dst.get_mut(..4)?.copy_from_slice(&h.dst);
            let end = ip.offset.saturating_add(u32::from(h.total_len));
            (key, u32::from(h.frag_offset) * 8, h.more_fragments(), end)
        }
        // A zero payload length (jumbogram) cannot be a fragment.
        Proto::Ipv6(h) if h.payload_len != 0 => {
            let f = h.fragment?;
            let key = crate::defrag::Key {
                v6: true,
                src: h.src,
                dst: h.dst,
                id: f.id,
                proto: 0,
            };
            let end = ip.offset.saturating_add(40 + u32::from(h.payload_len));
            (key, u32::from(f.offset) * 8, f.more, end)
        }
        _ => return None,
    };
    Some(crate::defrag::Fragment {
        key,
        offset,
        more,
        payload: bytes,
        claimed_len: claimed_end.saturating_sub(start),
        frame: rec.meta.number,
    })
}

/// The protocol a reassembled datagram carries: IPv4's protocol field, or the next header of
/// the IPv6 fragment header.
pub fn fragment_protocol(rec: &PacketRecord) -> Option<u8> {
    rec.layers.iter().rev().find_map(|l| match &l.proto {
        Proto::Ipv4(h) if !l.quoted => Some(h.proto),
        Proto::Ipv6Ext(x) if !l.quoted && x.kind == 44 => Some(x.next_header),
        _ => None,
    })
}

/// Decode a reassembled IP datagram's payload in place of the completing fragment's data.
/// `buf` is the frame's bytes with the datagram's payload appended at `start`, so the new
/// layers' offsets point into `buf`.
pub fn decode_reassembled(
    rec: &mut PacketRecord,
    buf: &[u8],
    start: usize,
    proto: u8,
    opts: DecodeOptions,
) {
    resume(rec, buf, opts, |d| {
        d.transport(proto, start, buf.len(), buf.len().saturating_sub(start))
    });
}

/// Add the DNS messages the ordered stage framed from a TCP stream to the frame that completed
/// them, in place of the segment's undissected payload. `buf` holds the frame's bytes with the
/// messages appended; `messages` are their ranges in it.
pub fn decode_dns_messages(
    rec: &mut PacketRecord,
    buf: &[u8],
    messages: &[std::ops::Range<usize>],
    opts: DecodeOptions,
) {
    resume(rec, buf, opts, |d| {
        for m in messages {
            d.dns(m.start, m.end);
        }
    });
}

/// Continue decoding a record over `buf` (its frame's bytes and what the ordered stage appended
/// to them): the trailing undissected payload makes way for what `more` decodes.
fn resume(
    rec: &mut PacketRecord,
    buf: &[u8],
    opts: DecodeOptions,
    more: impl FnOnce(&mut Decoder<'_>),
) {
    if rec
        .layers
        .last()
        .is_some_and(|l| !l.quoted && l.proto == Proto::Data)
    {
        rec.layers.pop();
    }
    // The layer popped is after the outer headers: their indices stand.
    let mut d = Decoder {
        data: buf,
        layers: &mut rec.layers,
        outer: rec.outer,
        malformed: rec.malformed,
        quoted: false,
        fragment: false,
        opts,
    };
    more(&mut d);
    rec.malformed = d.malformed;
    rec.outer = d.outer;
}

struct Decoder<'a> {
    data: &'a [u8],
    layers: &'a mut Layers,
    /// Where the first IP and TCP headers outside any ICMP error are in `layers`.
    outer: Outer,
    malformed: Option<Malformed>,
    /// Decoding the datagram quoted inside an ICMP error: lengths refer to the original datagram.
    quoted: bool,
    /// An IP header outside any ICMP error was a fragment's (see [`fragment_of`]).
    fragment: bool,
    opts: DecodeOptions,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    b.get(i..)?
        .first_chunk::<2>()
        .map(|x| u16::from_be_bytes(*x))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    b.get(i..)?
        .first_chunk::<4>()
        .map(|x| u32::from_be_bytes(*x))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<'a> Decoder<'a> {
    #[inline(always)]
    fn push(&mut self, proto: Proto, offset: usize, hdr_len: usize, end: usize) {
        // Each caller pushes one kind of layer: inlined, these checks fold away.
        if !self.quoted {
            let at = u32::try_from(self.layers.len()).ok();
            match proto {
                Proto::Ipv4(_) | Proto::Ipv6(_) if self.outer.ip.is_none() => self.outer.ip = at,
                Proto::Tcp(_) if self.outer.tcp.is_none() => self.outer.tcp = at,
                Proto::Icmp(_) | Proto::Icmpv6(_) | Proto::Dns(_) => self.outer.pairable = true,
                _ => {}
            }
        }
        self.layers.push(Layer {
            proto,
            offset: to_u32(offset),
            hdr_len: to_u32(hdr_len),
            end: to_u32(end.min(self.data.len())),
            quoted: self.quoted,
        });
    }

    fn mark(&mut self, layer: LayerKind, kind: MalformedKind, offset: usize) {
        // Inside an ICMP error the quoted datagram is cut short by design; that is not damage.
        if self.malformed.is_none() && !self.quoted {
            self.malformed = Some(Malformed {
                layer,
                kind,
                offset: to_u32(offset),
            });
        }
    }

    fn truncated(&mut self, layer: LayerKind, offset: usize, needed: usize) {
        let have = self.data.len().saturating_sub(offset);
        self.mark(
            layer,
            MalformedKind::Truncated {
                needed: to_u32(needed),
                have: to_u32(have),
            },
            offset,
        );
    }

    fn data_layer(&mut self, offset: usize, end: usize) {
        if offset < end.min(self.data.len()) {
            self.push(Proto::Data, offset, 0, end);
        }
    }

    fn link(&mut self, lt: u16) {
        let len = self.data.len();
        match lt {
            linktype::ETHERNET => self.ethernet(),
            linktype::LINUX_SLL => self.sll(),
            linktype::LINUX_SLL2 => self.sll2(),
            linktype::NULL | linktype::LOOP => self.null(lt == linktype::LOOP),
            linktype::RAW | linktype::RAW_OPENBSD | linktype::RAW_BSDOS => {
                self.push(Proto::Raw, 0, 0, len);
                self.ip_by_version(0, len);
            }
            // Wireshark gives LINKTYPE_IPV4/IPV6 no link layer of their own (`ip:udp:...`).
            linktype::IPV4 => self.ipv4(0, len),
            linktype::IPV6 => self.ipv6(0, len),
            _ => self.data_layer(0, len),
        }
    }

    fn ethernet(&mut self) {
        match etherparse::Ethernet2HeaderSlice::from_slice(self.data) {
            Ok(eth) => {
                let ethertype = eth.ether_type().0;
                self.push(
                    Proto::Ethernet(Ethernet {
                        dst: eth.destination(),
                        src: Some(eth.source()),
                        ethertype: Some(ethertype),
                    }),
                    0,
                    14,
                    self.data.len(),
                );
                self.ethertype(ethertype, 14, 0);
            }
            Err(_) => {
                // tshark still shows the addresses that were captured.
                if let Some(dst) = self.data.first_chunk::<6>() {
                    let src = self.data.get(6..).and_then(|s| s.first_chunk::<6>());
                    let eth = Ethernet {
                        dst: *dst,
                        src: src.copied(),
                        ethertype: None,
                    };
                    self.push(Proto::Ethernet(eth), 0, self.data.len(), self.data.len());
                }
                self.truncated(LayerKind::Link, 0, 14);
            }
        }
    }

    fn sll(&mut self) {
        let d = self.data;
        let (Some(pkttype), Some(hatype), Some(halen), Some(addr), Some(protocol)) = (
            u16_at(d, 0),
            u16_at(d, 2),
            u16_at(d, 4),
            d.get(6..).and_then(|s| s.first_chunk::<8>()),
            u16_at(d, 14),
        ) else {
            return self.truncated(LayerKind::Link, 0, 16);
        };
        let sll = Sll {
            version: 1,
            pkttype,
            hatype,
            halen: u8::try_from(halen).unwrap_or(u8::MAX),
            addr: *addr,
            protocol,
            ifindex: 0,
        };
        self.push(Proto::Sll(sll), 0, 16, d.len());
        self.ethertype(protocol, 16, 0);
    }

    fn sll2(&mut self) {
        let d = self.data;
        let (Some(protocol), Some(ifindex), Some(hatype), Some(&pkttype), Some(&halen), Some(addr)) = (
            u16_at(d, 0),
            u32_at(d, 4),
            u16_at(d, 8),
            d.get(10),
            d.get(11),
            d.get(12..).and_then(|s| s.first_chunk::<8>()),
        ) else {
            return self.truncated(LayerKind::Link, 0, 20);
        };
        let sll = Sll {
            version: 2,
            pkttype: u16::from(pkttype),
            hatype,
            halen,
            addr: *addr,
            protocol,
            ifindex,
        };
        self.push(Proto::Sll(sll), 0, 20, d.len());
        self.ethertype(protocol, 20, 0);
    }

    fn null(&mut self, network_order: bool) {
        let Some(raw) = self.data.first_chunk::<4>() else {
            return self.truncated(LayerKind::Link, 0, 4);
        };
        // DLT_NULL stores the family in the capturing host's byte order; a value with bits in the
        // upper half was written by a host of the other order (Wireshark's rule).
        let family = if network_order {
            u32::from_be_bytes(*raw)
        } else {
            let le = u32::from_le_bytes(*raw);
            if le & 0xffff_0000 != 0 {
                le.swap_bytes()
            } else {
                le
            }
        };
        let len = self.data.len();
        self.push(Proto::Null { family }, 0, 4, len);
        match family {
            2 => self.ipv4(4, len),
            10 | 24 | 28 | 30 => self.ipv6(4, len),
            // Some captures carry an ethertype in the low half of the header instead of an
            // address family; Wireshark follows it, and so do we.
            _ => match u16_at(raw, 2) {
                Some(t @ (0x0800 | 0x86dd | 0x0806)) => self.ethertype(t, 4, 0),
                _ => self.data_layer(4, len),
            },
        }
    }

    /// Dispatch on an ethertype found at `off`; `depth` counts VLAN tags so far.
    fn ethertype(&mut self, ethertype: u16, off: usize, depth: usize) {
        let len = self.data.len();
        match ethertype {
            0x0800 => self.ipv4(off, len),
            0x86dd => self.ipv6(off, len),
            0x0806 | 0x8035 => self.arp(off),
            t if VLAN_TPIDS.contains(&t) => {
                if depth >= MAX_VLAN_TAGS {
                    return self.mark(
                        LayerKind::Vlan,
                        MalformedKind::BadHeader("too many stacked VLAN tags"),
                        off,
                    );
                }
                let rest = self.data.get(off..).unwrap_or(&[]);
                match etherparse::SingleVlanHeaderSlice::from_slice(rest) {
                    Ok(tag) => {
                        let inner = tag.ether_type().0;
                        let tci = u16::from_be_bytes([
                            rest.first().copied().unwrap_or(0),
                            rest.get(1).copied().unwrap_or(0),
                        ]);
                        let vlan = Vlan {
                            tpid: t,
                            tci,
                            ethertype: inner,
                        };
                        self.push(Proto::Vlan(vlan), off, 4, len);
                        self.ethertype(inner, off + 4, depth + 1);
                    }
                    Err(_) => self.truncated(LayerKind::Vlan, off, 4),
                }
            }
            _ => self.data_layer(off, len),
        }
    }

    fn arp(&mut self, off: usize) {
        let Some(b) = self.data.get(off..) else {
            return self.truncated(LayerKind::Arp, off, 8);
        };
        let (Some(hw_type), Some(proto_type), Some(&hw_size), Some(&proto_size), Some(opcode)) =
            (u16_at(b, 0), u16_at(b, 2), b.get(4), b.get(5), u16_at(b, 6))
        else {
            return self.truncated(LayerKind::Arp, off, 8);
        };
        let total = 8 + 2 * (usize::from(hw_size) + usize::from(proto_size));
        let mut arp = Arp {
            hw_type,
            proto_type,
            hw_size,
            proto_size,
            opcode,
            src_hw: None,
            src_ip: None,
            dst_hw: None,
            dst_ip: None,
        };
        if b.len() < total {
            self.push(Proto::Arp(arp), off, b.len(), off + b.len());
            return self.truncated(LayerKind::Arp, off, total);
        }
        if hw_size == 6 && proto_size == 4 {
            let at6 = |i: usize| b.get(i..).and_then(|s| s.first_chunk::<6>()).copied();
            let at4 = |i: usize| b.get(i..).and_then(|s| s.first_chunk::<4>()).copied();
            arp.src_hw = at6(8);
            arp.src_ip = at4(14);
            arp.dst_hw = at6(18);
            arp.dst_ip = at4(24);
        }
        self.push(Proto::Arp(arp), off, total, off + total);
    }

    fn ip_by_version(&mut self, off: usize, end: usize) {
        match self.data.get(off).map(|b| b >> 4) {
            Some(4) => self.ipv4(off, end),
            Some(6) => self.ipv6(off, end),
            Some(_) => {
                self.mark(
                    LayerKind::Ipv4,
                    MalformedKind::BadHeader("IP version is neither 4 nor 6"),
                    off,
                );
                self.data_layer(off, end);
            }
            None => self.truncated(LayerKind::Ipv4, off, 20),
        }
    }

    fn ipv4(&mut self, off: usize, end: usize) {
        let bytes = self.data.get(off..end).unwrap_or(&[]);
        let h = match etherparse::Ipv4HeaderSlice::from_slice(bytes) {
            Ok(h) => h,
            Err(Ipv4Error::Len(e)) => {
                // With the quoted datagram of an ICMP error, a short total length is normal.
                return self.truncated(LayerKind::Ipv4, off, e.required_len);
            }
            Err(Ipv4Error::Content(e)) => {
                let why = match e {
                    etherparse::err::ipv4::HeaderError::UnexpectedVersion { .. } => {
                        "version is not 4"
                    }
                    etherparse::err::ipv4::HeaderError::HeaderLengthSmallerThanHeader {
                        ..
                    } => "header length below 20 bytes",
                };
                self.mark(LayerKind::Ipv4, MalformedKind::BadHeader(why), off);
                return self.data_layer(off, end);
            }
        };
        let hdr_len = usize::from(h.ihl()) * 4;
        let total_len = usize::from(h.total_len());
        let ip = Ipv4 {
            hdr_len: h.ihl() * 4,
            dsfield: (h.dcp().value() << 2) | h.ecn().value(),
            total_len: h.total_len(),
            id: h.identification(),
            flags: bytes.get(6).map_or(0, |b| b >> 5),
            frag_offset: h.fragments_offset().value(),
            ttl: h.ttl(),
            proto: h.protocol().0,
            checksum: h.header_checksum(),
            src: h.source(),
            dst: h.destination(),
        };
        let proto = ip.proto;
        let is_fragment = ip.is_fragment();
        if total_len < hdr_len {
            self.push(Proto::Ipv4(ip), off, hdr_len, off + hdr_len);
            return self.mark(
                LayerKind::Ipv4,
                MalformedKind::BadHeader("total length is less than the header length"),
                off,
            );
        }
        // The datagram ends where its total length says (Ethernet padding is not payload), or where
        // the capture stops.
        let dgram_end = if self.quoted {
            end
        } else {
            (off + total_len).min(end)
        };
        self.push(Proto::Ipv4(ip), off, hdr_len, dgram_end);
        let payload_len = total_len - hdr_len;
        if is_fragment {
            self.fragment |= !self.quoted;
            // Transport headers of fragments are decoded only after reassembly.
            return self.data_layer(off + hdr_len, dgram_end);
        }
        self.transport(proto, off + hdr_len, dgram_end, payload_len);
    }

    fn ipv6(&mut self, off: usize, end: usize) {
        let bytes = self.data.get(off..end).unwrap_or(&[]);
        let h = match etherparse::Ipv6HeaderSlice::from_slice(bytes) {
            Ok(h) => h,
            Err(Ipv6Error::Len(e)) => return self.truncated(LayerKind::Ipv6, off, e.required_len),
            Err(Ipv6Error::Content(_)) => {
                self.mark(
                    LayerKind::Ipv6,
                    MalformedKind::BadHeader("version is not 6"),
                    off,
                );
                return self.data_layer(off, end);
            }
        };
        let payload_len = usize::from(h.payload_length());
        // A zero payload length is a jumbogram (RFC 2675) or a TSO artifact: use what was captured.
        let dgram_end = if self.quoted || payload_len == 0 {
            end
        } else {
            (off + 40 + payload_len).min(end)
        };
        let layer_index = self.layers.len();
        let mut ip = Ipv6 {
            tclass: h.traffic_class(),
            flow: h.flow_label().value(),
            payload_len: h.payload_length(),
            next_header: h.next_header().0,
            hop_limit: h.hop_limit(),
            src: h.source(),
            dst: h.destination(),
            upper_proto: h.next_header().0,
            fragment: None,
        };
        let fixed = ip.clone();
        self.push(Proto::Ipv6(fixed), off, 40, dgram_end);

        // Walk the extension headers (RFC 8200 §4): each has its next header in byte 0 and its
        // length in byte 1 (8-octet units past the first 8; AH in 4-octet units past the first 8).
        let mut next = ip.next_header;
        let mut pos = off + 40;
        let mut count = 0;
        while matches!(next, 0 | 43 | 44 | 51 | 60) {
            if count >= MAX_IPV6_EXT_HEADERS {
                self.mark(
                    LayerKind::Ipv6,
                    MalformedKind::BadHeader("extension header chain too long"),
                    pos,
                );
                break;
            }
            count += 1;
            let (Some(&nh), Some(&len_byte)) = (self.data.get(pos), self.data.get(pos + 1)) else {
                self.truncated(LayerKind::Ipv6, pos, 8);
                break;
            };
            let ext_len = match next {
                44 => 8,
                51 => (usize::from(len_byte) + 2) * 4,
                _ => (usize::from(len_byte) + 1) * 8,
            };
            if next == 44
                && let (Some(fo), Some(id)) =
                    (u16_at(self.data, pos + 2), u32_at(self.data, pos + 4))
            {
                let frag = Ipv6Fragment {
                    offset: fo >> 3,
                    more: fo & 1 != 0,
                    id,
                };
                if frag.offset != 0 || frag.more {
                    ip.fragment = Some(frag);
                }
            }
            let ext = Ipv6Ext {
                kind: next,
                next_header: nh,
                len: u16::try_from(ext_len).unwrap_or(u16::MAX),
            };
            self.push(Proto::Ipv6Ext(ext), pos, ext_len, dgram_end);
            pos += ext_len;
            next = nh;
            if pos > dgram_end {
                self.truncated(LayerKind::Ipv6, pos - ext_len, ext_len);
                break;
            }
        }
        ip.upper_proto = next;
        let is_fragment = ip.fragment.is_some();
        if let Some(layer) = self.layers.get_mut(layer_index) {
            layer.proto = Proto::Ipv6(ip);
        }
        if pos > dgram_end || self.malformed.is_some() && !self.quoted {
            return;
        }
        let payload_len = if payload_len == 0 {
            dgram_end - pos
        } else {
            (off + 40 + payload_len).saturating_sub(pos)
        };
        if is_fragment {
            self.fragment |= !self.quoted;
            return self.data_layer(pos, dgram_end);
        }
        self.transport(next, pos, dgram_end, payload_len);
    }

    /// Decode what follows an IP header. `payload_len` is what the IP header says the payload is,
    /// which can exceed the captured bytes (`end`).
    fn transport(&mut self, proto: u8, off: usize, end: usize, payload_len: usize) {
        match proto {
            1 => self.icmp(off, end),
            6 => self.tcp(off, end, payload_len),
            17 => self.udp(off, end),
            58 => self.icmpv6(off, end),
            59 => {} // IPv6 "no next header"
            _ => self.data_layer(off, end),
        }
    }

    fn icmp(&mut self, off: usize, end: usize) {
        let b = self.data.get(off..end).unwrap_or(&[]);
        let (Some(&icmp_type), Some(&code), Some(checksum), Some(rest)) = (
            b.first(),
            b.get(1),
            u16_at(b, 2),
            b.get(4..).and_then(|s| s.first_chunk::<4>()),
        ) else {
            return self.truncated(LayerKind::Icmp, off, 8);
        };
        let icmp = Icmp {
            icmp_type,
            code,
            checksum,
            rest: *rest,
        };
        let is_error = icmp.is_error();
        self.push(Proto::Icmp(icmp), off, 8, end);
        if is_error && !self.quoted {
            // RFC 792: errors quote the offending IP header and at least 8 bytes of its payload.
            self.quoted = true;
            self.ip_by_version(off + 8, end);
            self.quoted = false;
        } else {
            self.data_layer(off + 8, end);
        }
    }

    fn icmpv6(&mut self, off: usize, end: usize) {
        let b = self.data.get(off..end).unwrap_or(&[]);
        let (Some(&icmp_type), Some(&code), Some(checksum)) = (b.first(), b.get(1), u16_at(b, 2))
        else {
            return self.truncated(LayerKind::Icmpv6, off, 4);
        };
        let rest = b
            .get(4..)
            .and_then(|s| s.first_chunk::<4>())
            .copied()
            .unwrap_or_default();
        let icmp = Icmpv6 {
            icmp_type,
            code,
            checksum,
            rest,
        };
        let is_error = icmp.is_error();
        let is_echo = icmp.is_echo();
        self.push(Proto::Icmpv6(icmp), off, 8.min(b.len()), end);
        if is_error && !self.quoted {
            self.quoted = true;
            self.ip_by_version(off + 8, end);
            self.quoted = false;
        } else if is_echo {
            self.data_layer(off + 8, end);
        }
    }

    fn udp(&mut self, off: usize, end: usize) {
        let b = self.data.get(off..end).unwrap_or(&[]);
        let h = match etherparse::UdpHeaderSlice::from_slice(b) {
            Ok(h) => h,
            Err(_) => return self.truncated(LayerKind::Udp, off, 8),
        };
        let udp = Udp {
            src_port: h.source_port(),
            dst_port: h.destination_port(),
            length: h.length(),
            checksum: h.checksum(),
        };
        let (sport, dport) = (udp.src_port, udp.dst_port);
        let ulen = usize::from(udp.length);
        if ulen < 8 && !self.quoted {
            self.push(Proto::Udp(udp), off, 8, off + 8);
            return self.mark(
                LayerKind::Udp,
                MalformedKind::BadHeader("length is less than 8"),
                off,
            );
        }
        // The datagram ends where its length says; inside an ICMP error a length below the
        // header's own size is not believed (the quote may still hold the payload).
        let udp_end = if ulen >= 8 {
            (off + ulen).min(end)
        } else {
            end
        };
        self.push(Proto::Udp(udp), off, 8, udp_end);
        let payload = off + 8;
        if wire::dns::is_dns_port(sport, dport) && self.opts.app {
            self.dns(payload, udp_end);
        } else {
            self.data_layer(payload, udp_end);
        }
    }

    fn tcp(&mut self, off: usize, end: usize, ip_payload_len: usize) {
        let b = self.data.get(off..end).unwrap_or(&[]);
        // The first 8 bytes (ports and sequence number) are what an ICMP error is sure to quote.
        let (Some(src_port), Some(dst_port), Some(seq)) =
            (u16_at(b, 0), u16_at(b, 2), u32_at(b, 4))
        else {
            return self.truncated(LayerKind::Tcp, off, 20);
        };
        let (Some(ack), Some(off_flags), Some(window), Some(checksum), Some(urgent)) = (
            u32_at(b, 8),
            u16_at(b, 12),
            u16_at(b, 14),
            u16_at(b, 16),
            u16_at(b, 18),
        ) else {
            if self.quoted {
                let tcp = Tcp {
                    src_port,
                    dst_port,
                    seq,
                    ack: 0,
                    hdr_len: 0,
                    flags: 0,
                    window: 0,
                    checksum: 0,
                    urgent: 0,
                    options: TcpOptions::default(),
                    payload_len: 0,
                };
                self.push(Proto::Tcp(tcp), off, b.len(), end);
                return;
            }
            return self.truncated(LayerKind::Tcp, off, 20);
        };
        let hdr_len = usize::from(off_flags >> 12) * 4;
        if hdr_len < 20 {
            return self.mark(
                LayerKind::Tcp,
                MalformedKind::BadHeader("header length below 20 bytes"),
                off,
            );
        }
        let opts_end = (off + hdr_len).min(end);
        let options = match self.data.get(off + 20..opts_end) {
            Some(bytes) => TcpOptions::at(off + 20..opts_end, bytes),
            None => TcpOptions::default(),
        };
        let tcp = Tcp {
            src_port,
            dst_port,
            seq,
            ack,
            hdr_len: u8::try_from(hdr_len).unwrap_or(u8::MAX),
            flags: off_flags & 0x0fff,
            window,
            checksum,
            urgent,
            options,
            payload_len: to_u32(ip_payload_len.saturating_sub(hdr_len)),
        };
        if ip_payload_len < hdr_len && !self.quoted {
            self.push(Proto::Tcp(tcp), off, hdr_len, end);
            if b.len() < hdr_len {
                return self.truncated(LayerKind::Tcp, off, hdr_len);
            }
            return self.mark(
                LayerKind::Tcp,
                MalformedKind::BadHeader("header length exceeds the IP payload"),
                off,
            );
        }
        self.push(Proto::Tcp(tcp), off, hdr_len, end);
        if b.len() < hdr_len {
            return self.truncated(LayerKind::Tcp, off, hdr_len);
        }
        let payload = off + hdr_len;
        if self.quoted {
            return;
        }
        // DNS over TCP is framed from the reassembled stream in the ordered stage
        // (`app::dns_tcp`), which adds its layers with [`decode_dns_messages`].
        self.data_layer(payload, end);
    }

    fn dns(&mut self, off: usize, end: usize) {
        let Some(msg) = self.data.get(off..end) else {
            return;
        };
        match wire::dns::parse(msg) {
            Some(m) => {
                let bad = m.malformed;
                self.push(Proto::Dns(Box::new(m)), off, wire::dns::HEADER_LEN, end);
                if let Some(why) = bad {
                    self.mark(LayerKind::Dns, MalformedKind::BadHeader(why), off);
                }
            }
            None => {
                self.data_layer(off, end);
                self.truncated(LayerKind::Dns, off, wire::dns::HEADER_LEN);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    pub(crate) fn meta(linktype: u16, len: usize) -> FrameMeta {
        FrameMeta {
            number: 1,
            ts_ns: Some(0),
            ts_digits: 6,
            caplen: len as u32,
            origlen: len as u32,
            linktype,
            interface_id: 0,
            file_offset: 0,
            kind: FrameKind::Packet,
        }
    }

    /// tcpdump__tcp-handshake-nano.pcap #1 (real bytes): SLL v1, IPv4, TCP SYN with options.
    const SLL_SYN: &[u8] = &[
        0x00, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, // SLL: sent by us, hatype 0x0200, halen 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, // SLL: address, protocol IPv4
        0x45, 0x00, 0x00, 0x3c, 0x29, 0xa9, 0x40, 0x00, // IPv4: len 60, id 0x29a9, DF
        0x40, 0x06, 0xdb, 0x5f, 0x83, 0x9b, 0xd7,
        0x45, // ttl 64, TCP, checksum, src 131.155.215.69
        0x89, 0x74, 0x51, 0x5e, 0xb6, 0x40, 0x00, 0x50, // dst 137.116.81.94; TCP 46656 -> 80
        0x2f, 0x84, 0x2a, 0xcb, 0x00, 0x00, 0x00, 0x00, // seq 797190859, ack 0
        0xa0, 0x02, 0x6a, 0x40, 0x50, 0xc4, 0x00,
        0x00, // hdr 40, SYN, win 27200, checksum, urgent
        0x02, 0x04, 0x05, 0x50, 0x04, 0x02, 0x08, 0x0a, // MSS 1360, SACK_PERM, TS
        0x43, 0x6a, 0x03, 0x62, 0x00, 0x00, 0x00, 0x00, // tsval, tsecr
        0x01, 0x03, 0x03, 0x07, // NOP, WS 7
    ];

    #[test]
    fn decodes_sll_tcp_syn() {
        let r = decode_frame(
            meta(linktype::LINUX_SLL, SLL_SYN.len()),
            SLL_SYN,
            0..SLL_SYN.len(),
        );
        assert_eq!(r.malformed, None);
        let (_, tcp) = r.tcp().unwrap();
        assert_eq!((tcp.src_port, tcp.dst_port), (46656, 80));
        assert_eq!(tcp.seq, 797190859);
        assert_eq!(tcp.flags, 0x002);
        assert_eq!(tcp.window, 27200);
        assert_eq!(tcp.payload_len, 0);
        assert_eq!(tcp.mss(SLL_SYN), Some(1360));
        assert_eq!(tcp.window_scale(SLL_SYN), Some(7));
        assert!(tcp.sack_permitted(SLL_SYN));
        assert_eq!(tcp.options.bytes(SLL_SYN).len(), 20);
        let ip = r.ipv4().unwrap();
        assert_eq!((ip.ttl, ip.total_len, ip.id), (64, 60, 0x29a9));
        assert_eq!(ip.src, [131, 155, 215, 69]);
        assert!(ip.dont_fragment());
    }

    #[test]
    fn every_prefix_decodes_and_marks_the_right_layer() {
        for n in 0..SLL_SYN.len() {
            let r = decode_frame(meta(linktype::LINUX_SLL, n), &SLL_SYN[..n], 0..n);
            let m = r.malformed.expect("a prefix is always cut somewhere");
            let want = match n {
                0..16 => LayerKind::Link,
                16..36 => LayerKind::Ipv4,
                _ => LayerKind::Tcp,
            };
            assert_eq!(m.layer, want, "prefix of {n} bytes");
            assert!(m.is_truncation());
        }
    }

    #[test]
    fn tcp_options_cut_by_snaplen_keep_what_fits() {
        let opts = TcpOptionIter::new(&[0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x01]);
        assert_eq!(
            opts.collect::<Vec<_>>(),
            [TcpOption::Mss(1460), TcpOption::SackPermitted]
        );
        // A zero-length option must not loop.
        let opts = TcpOptionIter::new(&[0x05, 0x00, 0x05, 0x00]);
        assert_eq!(opts.count(), 0);
        // NOPs, a timestamp, SACK blocks, an unknown option, then End of Option List.
        let opts = TcpOptionIter::new(&[
            1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 99, 2, 0, 1,
        ]);
        assert_eq!(
            opts.collect::<Vec<_>>(),
            [
                TcpOption::Nop,
                TcpOption::Nop,
                TcpOption::Timestamp { tsval: 7, tsecr: 9 },
                TcpOption::Sack {
                    count: 1,
                    blocks: [(1, 2), (0, 0), (0, 0), (0, 0)]
                },
                TcpOption::Other { kind: 99, len: 2 },
                TcpOption::Eol,
            ]
        );
    }

    /// samples/lab-http.pcap #4 and #5 (real bytes): a SYN-ACK with MSS, SACK_PERM, Timestamp
    /// and WS, and the ACK after it with NOP, NOP, Timestamp: only the second keeps its
    /// timestamp as values, and those are what walking its options finds.
    #[test]
    fn only_a_lone_timestamp_is_kept_as_values() {
        fn hex(s: &str) -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        }
        let syn_ack = hex(
            "1a3f8a7d08e47a7761af11a708004500003c000040004006f3a70a00010acb00710a0050d92a25dcf8ad\
             3fbeacfaa012fe8892090000020405b40402080a6827e8230fa12b9c0103030a",
        );
        let ack = hex(
            "7a7761af11a71a3f8a7d08e408004500003462f840003f0691b7cb00710a0a00010ad92a00503fbeacfa\
             25dcf8ae8010003fbf2200000101080a0fa12b9c6827e823",
        );
        let tcp_of = |data: &[u8]| {
            let r = decode_frame(meta(1, data.len()), data, 0..data.len());
            r.tcp().unwrap().1.clone()
        };
        let t = tcp_of(&syn_ack);
        assert_eq!(t.options.only_timestamp(), None);
        assert_eq!(t.mss(&syn_ack), Some(1460));
        let t = tcp_of(&ack);
        assert_eq!(t.options.only_timestamp(), Some((262220700, 1747445795)));
        assert_eq!(
            t.options.items(&ack).collect::<Vec<_>>(),
            [
                TcpOption::Nop,
                TcpOption::Nop,
                TcpOption::Timestamp {
                    tsval: 262220700,
                    tsecr: 1747445795
                }
            ]
        );
    }

    /// The outer headers the decoder notes as it pushes layers are the first IP and the first
    /// TCP layer outside any ICMP error, and whether there is an ICMP, ICMPv6 or DNS layer
    /// outside any, as a walk of the layers finds them: on every frame of the test and sample
    /// captures (ICMP errors, IPv6 extension chains and damaged headers among them), every
    /// prefix of their first frames, and after reassembly adds layers.
    #[test]
    fn outer_headers_are_the_first_unquoted_ones() {
        fn walk(rec: &PacketRecord) -> Outer {
            let first = |want: fn(&Proto) -> bool| {
                (rec.layers.iter())
                    .position(|l| !l.quoted && want(&l.proto))
                    .map(|i| i as u32)
            };
            Outer {
                ip: first(|p| matches!(p, Proto::Ipv4(_) | Proto::Ipv6(_))),
                tcp: first(|p| matches!(p, Proto::Tcp(_))),
                pairable: first(|p| matches!(p, Proto::Icmp(_) | Proto::Icmpv6(_) | Proto::Dns(_)))
                    .is_some(),
            }
        }
        let mut dirs = vec![
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data")),
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/samples")),
        ];
        let (mut frames, mut quoted, mut with_tcp, mut pairable) = (0, 0, 0, 0);
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let Ok(mut reader) = crate::capture::Reader::open(path.to_str().unwrap()) else {
                    continue;
                };
                let mut first = true;
                while let Some(batch) = reader.next_batch(1024, 1 << 20) {
                    for (m, range) in &batch.frames {
                        let data = &batch.arena[range.clone()];
                        let cuts = if first { data.len() } else { 0 };
                        first = false;
                        for n in (0..cuts).chain([data.len()]) {
                            let r = decode_frame(m.clone(), &data[..n], 0..n);
                            assert_eq!(r.outer, walk(&r), "{path:?} #{} cut {n}", m.number);
                            frames += 1;
                            quoted += usize::from(r.layers.iter().any(|l| l.quoted));
                            with_tcp += usize::from(r.outer.tcp.is_some());
                            pairable += usize::from(r.outer.pairable);
                        }
                    }
                }
            }
        }
        assert!(
            frames > 10_000 && quoted > 10 && with_tcp > 5_000 && pairable > 1_000,
            "{frames} {quoted} {with_tcp} {pairable}"
        );

        // A reassembled datagram's TCP header comes after the fragment's IP header.
        let mut r = decode_frame(
            meta(linktype::LINUX_SLL, SLL_SYN.len()),
            SLL_SYN,
            0..SLL_SYN.len(),
        );
        r.layers.truncate(2);
        r.outer.tcp = None;
        r.layers.push(Layer {
            proto: Proto::Data,
            offset: 36,
            hdr_len: 0,
            end: 76,
            quoted: false,
        });
        decode_reassembled(&mut r, SLL_SYN, 36, 6, DecodeOptions::default());
        assert_eq!(r.outer, walk(&r));
        assert_eq!(
            r.outer,
            Outer {
                ip: Some(1),
                tcp: Some(2),
                pairable: false,
            }
        );
    }

    #[test]
    fn unknown_linktype_is_data() {
        let r = decode_frame(meta(147, 4), &[1, 2, 3, 4], 0..4);
        assert!(matches!(r.layers[0].proto, Proto::Data));
        assert_eq!(r.malformed, None);
    }
}
