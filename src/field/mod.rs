//! The field registry: every field name (Wireshark's abbreviation), its label, its type and the
//! function that extracts its values from a decoded packet. The packet list, the detail tree,
//! `-T fields`, JSON and the display filter all read fields through here, so a name means the
//! same thing everywhere. Extraction is push-style: a field yields zero or more values, in the
//! order tshark lists its occurrences.
//!
//! This module decides what a value *is*; how a value is *printed* in tshark's `-T fields` form is
//! [`Value::write_tshark`], shared by every output.

mod defs;
pub mod value;

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::app::http::HttpMessage;
use crate::decode::{Layer, PacketRecord, Proto};
use crate::engine::FrameState;
pub use value::{Display, FieldType, Value};

/// Everything a field extractor may read: the decoded record, its captured bytes, and what the
/// ordered stage learned about the frame (time deltas, TCP stream state).
#[derive(Clone, Copy)]
pub struct PacketView<'a> {
    pub rec: &'a PacketRecord,
    pub data: &'a [u8],
    pub state: &'a FrameState,
}

impl<'a> PacketView<'a> {
    /// The frame's captured bytes. `data` can be longer: when the frame completes a fragmented IP
    /// datagram, the reassembled payload follows the frame's bytes there.
    pub fn frame_bytes(&self) -> &'a [u8] {
        self.data.get(..self.rec.data.len()).unwrap_or(self.data)
    }

    /// Bytes a layer spans (header and payload), as far as they were captured.
    pub fn layer_bytes(&self, layer: &Layer) -> &'a [u8] {
        self.data.get(layer.range()).unwrap_or(&[])
    }
}

/// The protocol a field belongs to; layer fields are extracted once per matching layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProtoTag {
    Frame,
    Eth,
    Sll,
    Null,
    Raw,
    Vlan,
    Ieee8021ad,
    Arp,
    Ip,
    Ipv6,
    Icmp,
    Icmpv6,
    Udp,
    Tcp,
    Dns,
    Data,
    Http,
}

impl ProtoTag {
    pub const ALL: [ProtoTag; 17] = [
        ProtoTag::Frame,
        ProtoTag::Eth,
        ProtoTag::Sll,
        ProtoTag::Null,
        ProtoTag::Raw,
        ProtoTag::Vlan,
        ProtoTag::Ieee8021ad,
        ProtoTag::Arp,
        ProtoTag::Ip,
        ProtoTag::Ipv6,
        ProtoTag::Icmp,
        ProtoTag::Icmpv6,
        ProtoTag::Udp,
        ProtoTag::Tcp,
        ProtoTag::Dns,
        ProtoTag::Data,
        ProtoTag::Http,
    ];

    /// The protocol's filter name, as Wireshark spells it.
    pub fn abbrev(self) -> &'static str {
        match self {
            ProtoTag::Frame => "frame",
            ProtoTag::Eth => "eth",
            ProtoTag::Sll => "sll",
            ProtoTag::Null => "null",
            ProtoTag::Raw => "raw",
            ProtoTag::Vlan => "vlan",
            ProtoTag::Ieee8021ad => "ieee8021ad",
            ProtoTag::Arp => "arp",
            ProtoTag::Ip => "ip",
            ProtoTag::Ipv6 => "ipv6",
            ProtoTag::Icmp => "icmp",
            ProtoTag::Icmpv6 => "icmpv6",
            ProtoTag::Udp => "udp",
            ProtoTag::Tcp => "tcp",
            ProtoTag::Dns => "dns",
            ProtoTag::Data => "data",
            ProtoTag::Http => "http",
        }
    }

    /// The protocol's name in the detail tree.
    pub fn title(self) -> &'static str {
        match self {
            ProtoTag::Frame => "Frame",
            ProtoTag::Eth => "Ethernet II",
            ProtoTag::Sll => "Linux cooked capture",
            ProtoTag::Null => "Null/Loopback",
            ProtoTag::Raw => "Raw packet data",
            ProtoTag::Vlan => "802.1Q Virtual LAN",
            ProtoTag::Ieee8021ad => "IEEE 802.1ad",
            ProtoTag::Arp => "Address Resolution Protocol",
            ProtoTag::Ip => "Internet Protocol Version 4",
            ProtoTag::Ipv6 => "Internet Protocol Version 6",
            ProtoTag::Icmp => "Internet Control Message Protocol",
            ProtoTag::Icmpv6 => "Internet Control Message Protocol v6",
            ProtoTag::Udp => "User Datagram Protocol",
            ProtoTag::Tcp => "Transmission Control Protocol",
            ProtoTag::Dns => "Domain Name System",
            ProtoTag::Data => "Data",
            ProtoTag::Http => "Hypertext Transfer Protocol",
        }
    }

    pub fn of(proto: &Proto) -> Option<ProtoTag> {
        Some(match proto {
            Proto::Ethernet(_) => ProtoTag::Eth,
            Proto::Sll(_) => ProtoTag::Sll,
            Proto::Null { .. } => ProtoTag::Null,
            Proto::Raw => ProtoTag::Raw,
            Proto::Vlan(v) if v.is_8021ad() => ProtoTag::Ieee8021ad,
            Proto::Vlan(_) => ProtoTag::Vlan,
            Proto::Arp(_) => ProtoTag::Arp,
            Proto::Ipv4(_) => ProtoTag::Ip,
            Proto::Ipv6(_) => ProtoTag::Ipv6,
            Proto::Ipv6Ext(_) => return None,
            Proto::Icmp(_) => ProtoTag::Icmp,
            Proto::Icmpv6(_) => ProtoTag::Icmpv6,
            Proto::Udp(_) => ProtoTag::Udp,
            Proto::Tcp(_) => ProtoTag::Tcp,
            Proto::Dns(_) => ProtoTag::Dns,
            Proto::Data => ProtoTag::Data,
        })
    }
}

/// A sink for the values a field yields.
pub type Emit<'e, 'a> = &'e mut dyn FnMut(Value<'a>);

/// How a field finds its values.
#[derive(Clone, Copy)]
pub enum Extract {
    /// Once per frame.
    Frame(for<'a> fn(&PacketView<'a>, Emit<'_, 'a>)),
    /// Once per layer of the field's protocol, in layer order.
    Layer(for<'a> fn(&'a Layer, &PacketView<'a>, Emit<'_, 'a>)),
    /// Once per application message the ordered stage completed on this frame (HTTP).
    Message(for<'a> fn(&'a HttpMessage, &PacketView<'a>, Emit<'_, 'a>)),
    /// The protocol itself: present once per layer, its value the bytes the layer spans.
    Protocol,
}

/// Which pipeline stage can compute a field: the parallel decode stage, only the ordered
/// stage that sees frames in capture order (TCP stream state, time deltas), or only a second
/// pass, because the value comes from a later frame (`http.response_in`, as tshark -2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Packet,
    Flow,
    Later,
}

/// One registry entry.
pub struct FieldDef {
    /// Wireshark's filter name, e.g. `tcp.srcport`.
    pub abbrev: &'static str,
    /// Human-readable label, as in Wireshark's detail tree.
    pub label: &'static str,
    pub ty: FieldType,
    pub display: Display,
    pub proto: ProtoTag,
    pub stage: Stage,
    pub extract: Extract,
}

impl std::fmt::Debug for FieldDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldDef")
            .field("abbrev", &self.abbrev)
            .field("ty", &self.ty)
            .finish_non_exhaustive()
    }
}

/// A field's index in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u16);

/// The registry: protocol entries first, then every field `defs::fields()` defines.
pub struct Registry {
    fields: Vec<FieldDef>,
    by_name: HashMap<&'static str, FieldId>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({} fields)", self.fields.len())
    }
}

impl Registry {
    /// The one registry of this process.
    pub fn get() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(Registry::build)
    }

    fn build() -> Registry {
        let mut fields: Vec<FieldDef> = ProtoTag::ALL
            .iter()
            .map(|&tag| FieldDef {
                abbrev: tag.abbrev(),
                label: tag.title(),
                ty: FieldType::Protocol,
                display: Display::Dec,
                proto: tag,
                stage: Stage::Packet,
                extract: Extract::Protocol,
            })
            .collect();
        fields.extend(defs::fields());
        let by_name = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.abbrev, FieldId(u16::try_from(i).unwrap_or(u16::MAX))))
            .collect();
        Registry { fields, by_name }
    }

    pub fn lookup(&self, abbrev: &str) -> Option<FieldId> {
        self.by_name.get(abbrev).copied()
    }

    pub fn def(&self, id: FieldId) -> &FieldDef {
        // Ids only come from this registry's lookup, so the index is in range.
        &self.fields[usize::from(id.0)]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FieldId, &FieldDef)> {
        self.fields
            .iter()
            .enumerate()
            .map(|(i, f)| (FieldId(i as u16), f))
    }

    /// Fields of one protocol, in registration order (the detail tree's order).
    pub fn fields_of(&self, tag: ProtoTag) -> impl Iterator<Item = (FieldId, &FieldDef)> {
        self.iter()
            .filter(move |(_, f)| f.proto == tag && !matches!(f.extract, Extract::Protocol))
    }

    /// The packet's layers that have fields, each with its protocol and whether it is the first
    /// outer layer of that protocol (which owns the protocol's frame-level fields).
    pub fn layers<'a>(
        &self,
        view: &PacketView<'a>,
    ) -> impl Iterator<Item = (&'a Layer, ProtoTag, bool)> + use<'a> {
        let mut seen: Vec<ProtoTag> = Vec::new();
        view.rec.layers.iter().filter_map(move |layer| {
            let tag = ProtoTag::of(&layer.proto)?;
            let first = !layer.quoted && !seen.contains(&tag);
            if !layer.quoted {
                seen.push(tag);
            }
            Some((layer, tag, first))
        })
    }

    /// Names close to `name`, best first, for "did you mean" hints.
    pub fn suggest(&self, name: &str, max: usize) -> Vec<&'static str> {
        // Field names are lower case; `TCP.PORT` should still find `tcp.port`.
        let name = name.to_ascii_lowercase();
        let name = name.as_str();
        let mut scored: Vec<(usize, &'static str)> = self
            .fields
            .iter()
            .map(|f| (edit_distance(name, f.abbrev), f.abbrev))
            .filter(|(d, a)| *d <= (name.len() / 3).max(2) || a.starts_with(name))
            .collect();
        scored.sort();
        scored.into_iter().take(max).map(|(_, a)| a).collect()
    }

    /// Push the values field `id` has in one layer. Frame-level fields of the layer's protocol
    /// (such as `tcp.stream`) belong to the first outer layer of that protocol.
    pub fn extract_in_layer<'a>(
        &self,
        id: FieldId,
        layer: &'a Layer,
        first_of_its_kind: bool,
        view: &PacketView<'a>,
        emit: Emit<'_, 'a>,
    ) {
        match self.def(id).extract {
            Extract::Layer(f) => f(layer, view, emit),
            Extract::Frame(f) if first_of_its_kind && !layer.quoted => f(view, emit),
            Extract::Frame(_) | Extract::Message(_) => {}
            Extract::Protocol => emit(Value::Bytes(view.layer_bytes(layer))),
        }
    }

    /// Push the values field `id` has in one application message of the frame.
    pub fn extract_in_message<'a>(
        &self,
        id: FieldId,
        msg: &'a HttpMessage,
        view: &PacketView<'a>,
        emit: Emit<'_, 'a>,
    ) {
        if let Extract::Message(f) = self.def(id).extract {
            f(msg, view, emit)
        }
    }

    /// Push every value of field `id` in the packet.
    pub fn extract<'a>(&self, id: FieldId, view: &PacketView<'a>, emit: Emit<'_, 'a>) {
        let def = self.def(id);
        match def.extract {
            Extract::Frame(f) => f(view, emit),
            Extract::Layer(f) => {
                for layer in view.rec.layers.iter() {
                    if ProtoTag::of(&layer.proto) == Some(def.proto) {
                        f(layer, view, emit);
                    }
                }
            }
            Extract::Message(f) => {
                for m in &view.state.http {
                    f(m, view, emit);
                }
            }
            Extract::Protocol => {
                if def.proto == ProtoTag::Frame {
                    emit(Value::Bytes(view.frame_bytes()));
                    return;
                }
                if def.proto == ProtoTag::Http {
                    for _ in &view.state.http {
                        emit(Value::Bytes(&[]));
                    }
                    return;
                }
                for layer in view.rec.layers.iter() {
                    if ProtoTag::of(&layer.proto) == Some(def.proto) {
                        emit(Value::Bytes(view.layer_bytes(layer)));
                    }
                }
            }
        }
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
