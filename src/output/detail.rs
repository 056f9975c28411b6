//! `-V`: the detail tree. One line per protocol layer with tshark's summary of it, then one
//! indented line per field, `Label: value`, as the registry extracts them for that layer.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::decode::{Layer, Proto};
use crate::engine::{Render, Sink};
use crate::field::{PacketView, ProtoTag, Registry, Value};

#[derive(Debug)]
pub struct DetailSink<W: Write> {
    out: W,
    buf: String,
}

impl<W: Write> DetailSink<W> {
    pub fn new(out: W) -> Self {
        DetailSink {
            out,
            buf: String::new(),
        }
    }
}

fn title(layer: &Layer, view: &PacketView<'_>, tag: ProtoTag) -> String {
    let mac = |m: &[u8]| {
        let mut s = String::new();
        crate::field::value::write_mac(m, &mut s);
        s
    };
    let quoted = if layer.quoted { " (in ICMP error)" } else { "" };
    let t = match &layer.proto {
        Proto::Ethernet(e) => format!(
            "Ethernet II, Src: {}, Dst: {}",
            e.src.map(|s| mac(&s)).unwrap_or_default(),
            mac(&e.dst)
        ),
        Proto::Sll(s) => format!("Linux cooked capture v{}", s.version),
        Proto::Vlan(v) => format!(
            "{}, PRI: {}, DEI: {}, ID: {}",
            tag.title(),
            v.priority(),
            u8::from(v.dei()),
            v.id()
        ),
        Proto::Arp(a) => format!(
            "Address Resolution Protocol ({})",
            match a.opcode {
                1 => "request",
                2 => "reply",
                3 => "reverse request",
                4 => "reverse reply",
                _ => "unknown",
            }
        ),
        Proto::Ipv4(ip) => format!(
            "Internet Protocol Version 4, Src: {}, Dst: {}",
            Ipv4Addr::from(ip.src),
            Ipv4Addr::from(ip.dst)
        ),
        Proto::Ipv6(ip) => format!(
            "Internet Protocol Version 6, Src: {}, Dst: {}",
            Ipv6Addr::from(ip.src),
            Ipv6Addr::from(ip.dst)
        ),
        Proto::Tcp(t) => {
            let mut s = format!(
                "Transmission Control Protocol, Src Port: {}, Dst Port: {}",
                t.src_port, t.dst_port
            );
            if let (Some(info), false) = (&view.state.tcp, layer.quoted) {
                let _ = write!(s, ", Seq: {}", info.rel_seq);
                if t.has(crate::decode::tcp_flags::ACK) {
                    let _ = write!(s, ", Ack: {}", info.rel_ack);
                }
                let _ = write!(s, ", Len: {}", t.payload_len);
            }
            s
        }
        Proto::Udp(u) => format!(
            "User Datagram Protocol, Src Port: {}, Dst Port: {}",
            u.src_port, u.dst_port
        ),
        Proto::Dns(m) => format!(
            "Domain Name System ({})",
            if m.is_response() { "response" } else { "query" }
        ),
        Proto::Data => format!("Data ({} bytes)", layer.end.saturating_sub(layer.offset)),
        _ => tag.title().to_string(),
    };
    format!("{t}{quoted}")
}

/// Filter conveniences that repeat other fields (either address, either port, host names).
const ALIASES: &[&str] = &[
    "eth.addr",
    "ip.addr",
    "ip.host",
    "ip.src_host",
    "ip.dst_host",
    "ipv6.addr",
    "ipv6.host",
    "ipv6.src_host",
    "ipv6.dst_host",
    "tcp.port",
    "udp.port",
];

/// The detail tree of one packet, ending with a blank line.
pub fn render(view: &PacketView<'_>, out: &mut String) {
    let reg = Registry::get();
    let meta = &view.rec.meta;
    let _ = writeln!(
        out,
        "Frame {}: {} bytes on wire ({} bits), {} bytes captured ({} bits) on interface {}",
        meta.number,
        meta.origlen,
        u64::from(meta.origlen) * 8,
        meta.caplen,
        u64::from(meta.caplen) * 8,
        meta.interface_id
    );
    for (id, def) in reg.fields_of(ProtoTag::Frame) {
        reg.extract(id, view, &mut |v: Value<'_>| {
            let _ = writeln!(out, "    {}: {}", def.label, v.to_tshark(def.display));
        });
    }
    for (layer, tag, first) in reg.layers(view) {
        let indent = if layer.quoted { "    " } else { "" };
        let _ = writeln!(out, "{indent}{}", title(layer, view, tag));
        for (id, def) in reg.fields_of(tag) {
            // Fields that merely repeat others stay out of the tree.
            if ALIASES.contains(&def.abbrev) {
                continue;
            }
            reg.extract_in_layer(id, layer, first, view, &mut |v: Value<'_>| {
                let _ = writeln!(
                    out,
                    "{indent}    {}: {}",
                    def.label,
                    super::safe_text(&v.to_tshark(def.display))
                );
            });
        }
    }
    for msg in &view.state.http {
        let _ = writeln!(out, "{}", ProtoTag::Http.title());
        let _ = writeln!(out, "    {}", super::safe_text(msg.msg.first_line()));
        for (id, def) in reg.fields_of(ProtoTag::Http) {
            reg.extract_in_message(id, msg, view, &mut |v: Value<'_>| {
                let _ = writeln!(
                    out,
                    "    {}: {}",
                    def.label,
                    super::safe_text(&v.to_tshark(def.display))
                );
            });
        }
    }
    if let Some(m) = view.rec.malformed {
        let _ = writeln!(
            out,
            "[{}: {m}]",
            if m.is_truncation() {
                "Truncated"
            } else {
                "Malformed Packet"
            }
        );
    }
    out.push('\n');
}

/// Renders detail trees in the engine's parallel stage.
#[derive(Debug)]
pub struct DetailRender;

impl Render for DetailRender {
    fn render(&self, view: &PacketView<'_>, out: &mut String) {
        render(view, out);
    }
}

impl<W: Write + Send> Sink for DetailSink<W> {
    fn packet(&mut self, view: &PacketView<'_>) -> io::Result<()> {
        self.buf.clear();
        render(view, &mut self.buf);
        self.out.write_all(self.buf.as_bytes())
    }

    fn renderer(&self) -> Option<&dyn Render> {
        Some(&DetailRender)
    }

    fn write_rendered(&mut self, parts: &[String]) -> io::Result<()> {
        super::write_all_parts(&mut self.out, parts)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
