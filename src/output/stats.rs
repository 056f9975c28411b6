//! `stats`: what is in a capture, in one pass. The figures capinfos reports (packets, bytes,
//! first and last time, rates), the protocol hierarchy as `tshark -q -z io,phs` builds it, the
//! busiest IP conversations and endpoints, and the mix of services by well-known port.
//!
//! Memory grows with the number of distinct protocol paths, IP conversations and ports, never
//! with the number of packets.

use foldhash::HashMap;
use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use super::Transport;
use super::conv::{self, By, ConvSink, PairCounts, SortBy};
use super::text::{Column, Row, header_line, push_int};
use crate::decode::{FrameKind, LayerKind, MalformedKind, Proto};
use crate::engine::{Counting, Precount, Sink};
use crate::field::{PacketView, ProtoTag};
use crate::recent::Recent;

/// Rows shown in the conversation, endpoint and service tables of the text report.
const TOP: usize = 10;
/// Hierarchy depth kept per frame. Real paths are about 8 deep; a segment completing thousands
/// of pipelined HTTP messages would otherwise nest as deep, and the report walks it recursively.
const MAX_DEPTH: usize = 64;

/// One node of the protocol hierarchy: the frames whose protocol path passes through it.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: &'static str,
    pub frames: u64,
    pub bytes: u64,
    /// The number of the first frame through it.
    pub first: u64,
    /// Children in order of first appearance (tshark's order): by `first`.
    pub children: Vec<usize>,
}

/// Keys each map of known paths ([`StatsSink::known`]) holds at most: a
/// capture's frames follow a few dozen paths, and a damaged capture's random layers could give
/// a key per frame.
const KNOWN_PATHS: usize = 4096;
/// The longest path it keeps (real paths are shorter).
const KNOWN_DEPTH: usize = 12;

/// Which of [`StatsSink`]'s maps of known paths ([`StatsSink::known`]).
#[derive(Clone, Copy, Debug)]
enum Known {
    /// The nodes of whole paths, by their frames' key (see [`StatsSink::count_path`]).
    Paths,
    /// The nodes of the parts of paths that batches counted by their layers, by
    /// [`layers_key`] (see [`StatsSink::batch`]).
    Layers,
    /// The nodes of the parts of paths after the layers, by the node the layers end at and
    /// [`marks`] (see [`StatsSink::count_marks`]).
    Marks,
}

/// The nodes a path of the hierarchy runs through, below the node it starts at.
#[derive(Clone, Copy, Debug, Default)]
struct KnownPath {
    len: usize,
    nodes: [usize; KNOWN_DEPTH],
}

/// What decides a frame's path in the hierarchy, or a part of it, packed in two words (see
/// [`path_key`]).
type PathKey = [u64; 2];

/// The key of a frame's path: what [`hierarchy_path`] reads to build it, and nothing else, so
/// that frames with equal keys have equal paths. The first word holds each layer's protocol
/// and whether it is quoted, a byte each (never 0, so layers absent are told from layers
/// present); the second, from its top, whether the link layer is cut short, each HTTP
/// message's body dissector and reassembly (a byte each, with its top bit set), whether the
/// frame continues HTTP, and the damage mark. A frame with more layers or messages than the
/// words hold has none, and its path is built every time.
///
/// Most frames repeat a path counted before, and this is cheaper to make and to compare than
/// the path, which every frame built before (the report's work per frame: 43.5M to 33.3M
/// instructions on the first 40 MB of BENCHMARKS.md's capture). A protocol has 7 bits and a
/// body dissector 6, far more than there are of either.
fn path_key(view: &PacketView<'_>) -> Option<PathKey> {
    let [layers, _] = layers_key(view.rec)?;
    Some([layers, marks(view)?])
}

/// The key of the part of a frame's path its layers give ([`layer_path`]): [`path_key`] of a
/// frame that has nothing after its layers (no HTTP, no damage mark), whose path is that part.
fn layers_key(rec: &crate::decode::PacketRecord) -> Option<PathKey> {
    if rec.layers.len() > 8 {
        return None;
    }
    let mut layers = 0u64;
    for l in &rec.layers {
        let proto = ProtoTag::of(&l.proto).map_or(0x7f, |t| t as u64 + 1);
        layers = layers << 8 | u64::from(l.quoted) << 7 | proto;
    }
    Some([layers, u64::from(link_cut(rec)) << 3])
}

/// The second word of [`path_key`]: what decides the part of a frame's path after its layers
/// ([`push_marks`]), and whether its link layer is cut short.
fn marks(view: &PacketView<'_>) -> Option<u64> {
    if view.state.http.len() > 3 {
        return None;
    }
    let mut marks = u64::from(link_cut(view.rec));
    for m in &view.state.http {
        let body = crate::wire::http1::Body::of(&m.msg).map_or(0, |b| b as u64 + 1);
        marks = marks << 8 | 0x80 | body << 1 | u64::from(m.reassembled);
    }
    marks = marks << 1 | u64::from(view.state.http_continuation);
    let damage = damage_mark(view.rec).map_or(0, |m| if m == "_ws.short" { 1 } else { 2 });
    Some(marks << 2 | damage)
}

fn link_cut(rec: &crate::decode::PacketRecord) -> bool {
    rec.malformed.is_some_and(|m| m.layer == LayerKind::Link)
}

/// Whether a frame's path continues after its layers: it has HTTP or a damage mark.
fn has_marks(view: &PacketView<'_>) -> bool {
    !view.state.http.is_empty() || view.state.http_continuation || view.rec.malformed.is_some()
}

/// tshark's mark for a damaged frame, last in its path: cut short by the capture's snap
/// length, or malformed.
fn damage_mark(rec: &crate::decode::PacketRecord) -> Option<&'static str> {
    rec.malformed.map(|m| {
        let short =
            matches!(m.kind, MalformedKind::Truncated { .. }) && rec.meta.caplen < rec.meta.origlen;
        if short { "_ws.short" } else { "_ws.malformed" }
    })
}

/// Sets and ways of [`StatsSink::recent_services`]: more entries than the connections a lab
/// capture has busy at once, and four of them may share a set.
const RECENT_SERVICE_SETS: usize = 64;
const RECENT_SERVICE_WAYS: usize = 4;

/// Frames and bytes to one transport port with a service name.
#[derive(Clone, Debug)]
pub struct Service {
    pub transport: Transport,
    pub port: u16,
    pub name: &'static str,
    pub frames: u64,
    pub bytes: u64,
}

#[derive(Debug)]
pub struct StatsSink {
    pub totals: Totals,
    /// The hierarchy; node 0 is the root (no name).
    pub nodes: Vec<Node>,
    /// The nodes of the paths (or parts of paths) counted so far, by their key: one map for
    /// each [`Known`], at its index.
    known: [HashMap<PathKey, KnownPath>; 3],
    /// Where the paths of the batch under way stand: for each of its records, in order (see
    /// [`BatchCounts::frame_layers`]), the node its layers' path ends at and that path's
    /// length, when the layers were counted with the batch.
    batch_layers: Vec<Option<(usize, usize)>>,
    /// The record of the batch under way that comes next.
    batch_at: usize,
    /// For each path of layers of the batch under way (by its position in
    /// [`BatchCounts::layers`]), the node it ends at and its length: kept between batches,
    /// emptied, so that a batch costs no allocation here.
    batch_ends: Vec<Option<(usize, usize)>>,
    ip: ConvSink,
    ipv6: ConvSink,
    services: Vec<Service>,
    /// (transport, port) -> index in `services`.
    service_index: HashMap<(Transport, u16), usize>,
    /// The services of port pairs seen lately: (UDP rather than TCP, the two ports, packed) and
    /// their index in `services`. A connection's frames all have one pair, and this finds its
    /// service without naming both ports and hashing one.
    recent_services: Recent<usize, RECENT_SERVICE_SETS, RECENT_SERVICE_WAYS>,
    /// The totals, the IP tables, the services and the layers' paths of the batch under way
    /// were counted on its decoding thread (see [`BatchCounts`]), not frame by frame.
    precounted: bool,
}

/// What stats counts of a batch on the thread that decoded it (see [`Precount`]): the totals,
/// the IP tables, the services and the hierarchy's part its frames' layers decide, which need
/// nothing but the frames' records. Counted on the ordered stage's thread, the tables were about
/// a tenth of the run (measured by leaving them out), the layers about 6% of its instructions.
#[derive(Debug, Default)]
struct BatchCounts {
    totals: Totals,
    ip: PairCounts,
    ipv6: PairCounts,
    /// Frames and bytes by transport and port pair (packed, see [`port_pair`]).
    ports: super::FirstSeen<u64, (Transport, u16, u16, u64, u64)>,
    /// The hierarchy's part that the frames' layers decide, by [`layers_key`].
    layers: super::FirstSeen<PathKey, LayersCount>,
    /// For each record of the batch, in order: its position in `layers`, or [`WHOLE`] for a
    /// record whose path is counted whole on the ordered stage.
    frame_layers: Vec<u16>,
}

/// In [`BatchCounts::frame_layers`]: a record not counted by its layers.
const WHOLE: u16 = u16::MAX;

/// Frames of a batch with one [`layers_key`].
#[derive(Debug)]
struct LayersCount {
    /// Their part of the path ([`layer_path`]).
    path: smallvec::SmallVec<[&'static str; 8]>,
    /// The number of the first of them.
    first: u64,
    frames: u64,
    bytes: u64,
}

/// Counts [`BatchCounts`].
#[derive(Debug)]
struct Precounter;

impl Precount for Precounter {
    fn start(&self) -> Box<dyn Counting> {
        Box::new(BatchCounts::default())
    }
}

impl Counting for BatchCounts {
    /// Count a frame as [`StatsSink::packet`] counts it in these tables.
    fn add(&mut self, rec: &crate::decode::PacketRecord) {
        if rec.meta.kind != FrameKind::Packet {
            self.frame_layers.push(WHOLE);
            return;
        }
        let bytes = u64::from(rec.meta.origlen);
        self.totals.add(&rec.meta);
        match rec.outer_ip_is_v6() {
            Some(false) => self.ip.add(By::Ip, rec),
            Some(true) => self.ipv6.add(By::Ipv6, rec),
            None => {}
        }
        let ports = transport_ports(rec);
        let layers_change = ports.is_some_and(|(transport, a, b)| {
            transport == Transport::Tcp && crate::app::dns_tcp::carries_dns(a, b)
        });
        let counted = match layers_key(rec) {
            Some(key) if !layers_change => {
                let at = self.layers.position_or_add(key, || LayersCount {
                    path: layer_path(rec),
                    first: rec.meta.number,
                    frames: 0,
                    bytes: 0,
                });
                let count = self.layers.get_mut(at);
                match (u16::try_from(at), count) {
                    (Ok(at), Some(count)) if at != WHOLE => {
                        count.frames += 1;
                        count.bytes += bytes;
                        at
                    }
                    _ => WHOLE,
                }
            }
            _ => WHOLE,
        };
        self.frame_layers.push(counted);
        let Some((transport, a, b)) = ports else {
            return;
        };
        let pair = port_pair(transport, a, b);
        if let Some((.., frames, port_bytes)) =
            self.ports.get_or_add(pair, || (transport, a, b, 0, 0))
        {
            *frames += 1;
            *port_bytes += bytes;
        }
    }
}

/// A transport and two ports, packed (UDP rather than TCP, then the ports).
fn port_pair(transport: Transport, a: u16, b: u16) -> u64 {
    u64::from(a) << 17 | u64::from(b) << 1 | u64::from(transport == Transport::Udp)
}

/// What capinfos counts of a capture's frames.
#[derive(Debug)]
pub struct Totals {
    pub packets: u64,
    /// Sum of the frames' lengths on the wire (capinfos' "Data size").
    pub bytes: u64,
    /// Sum of the bytes captured.
    pub captured: u64,
    /// The earliest and the latest timestamp (capinfos' first and last packet time).
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    /// The timestamp digits (6 or 9) of the frames those times came from: capinfos prints each
    /// time as precisely as its frame has it, and the duration as the more precise of the two.
    pub first_digits: u8,
    pub last_digits: u8,
    /// Frames per link type, in order of first appearance.
    pub linktypes: Vec<(u16, u64)>,
}

impl Default for Totals {
    fn default() -> Self {
        Totals {
            packets: 0,
            bytes: 0,
            captured: 0,
            first_ns: None,
            last_ns: None,
            first_digits: 6,
            last_digits: 6,
            linktypes: Vec::new(),
        }
    }
}

impl Totals {
    /// Count one frame (a packet: capinfos does not count pcapng custom blocks).
    fn add(&mut self, meta: &crate::decode::FrameMeta) {
        self.packets += 1;
        self.bytes += u64::from(meta.origlen);
        self.captured += u64::from(meta.caplen);
        self.add_times(meta.ts_ns, meta.ts_digits, meta.ts_ns, meta.ts_digits);
        self.add_linktype(meta.linktype, 1);
    }

    /// Add the totals of frames that come after those counted so far. Of the frames that share
    /// the earliest (or the latest) time, the first one's digits are kept, as frame by frame.
    fn add_all(&mut self, later: &Totals) {
        self.packets += later.packets;
        self.bytes += later.bytes;
        self.captured += later.captured;
        self.add_times(
            later.first_ns,
            later.first_digits,
            later.last_ns,
            later.last_digits,
        );
        for &(linktype, n) in &later.linktypes {
            self.add_linktype(linktype, n);
        }
    }

    /// The earliest and the latest time of frames that come after those counted so far, with
    /// their digits.
    fn add_times(
        &mut self,
        first: Option<i64>,
        first_digits: u8,
        last: Option<i64>,
        last_digits: u8,
    ) {
        if let Some(ts) = first
            && self.first_ns.is_none_or(|f| ts < f)
        {
            self.first_ns = Some(ts);
            self.first_digits = first_digits;
        }
        if let Some(ts) = last
            && self.last_ns.is_none_or(|l| ts > l)
        {
            self.last_ns = Some(ts);
            self.last_digits = last_digits;
        }
    }

    fn add_linktype(&mut self, linktype: u16, n: u64) {
        match self.linktypes.iter_mut().find(|(lt, _)| *lt == linktype) {
            Some((_, count)) => *count += n,
            None => self.linktypes.push((linktype, n)),
        }
    }
}

impl Default for StatsSink {
    fn default() -> Self {
        StatsSink {
            totals: Totals::default(),
            nodes: vec![Node {
                name: "",
                frames: 0,
                bytes: 0,
                first: 0,
                children: Vec::new(),
            }],
            known: Default::default(),
            batch_layers: Vec::new(),
            batch_at: 0,
            batch_ends: Vec::new(),
            ip: ConvSink::new(By::Ip),
            ipv6: ConvSink::new(By::Ipv6),
            services: Vec::new(),
            service_index: HashMap::default(),
            recent_services: Recent::default(),
            precounted: false,
        }
    }
}

/// The frame's path in the protocol hierarchy, as tshark's io,phs walks the top level of its tree:
/// no pseudo-protocols (`ethertype`) or IPv6 extension headers; inside an ICMP error only an
/// application protocol (the quoted IP and transport headers sit in ICMP's subtree); no `data`
/// that TCP or ICMP hold; each HTTP message; and tshark's marks for damaged frames.
/// (Inline up to 8 levels: one path per frame, and real paths are shorter.)
pub fn hierarchy_path(view: &PacketView<'_>) -> smallvec::SmallVec<[&'static str; 8]> {
    let mut path = layer_path(view.rec);
    if view.rec.meta.kind == FrameKind::Packet {
        push_marks(view, &mut path);
    }
    path.truncate(MAX_DEPTH);
    path
}

/// The part of a frame's path in the hierarchy that its layers give (see [`hierarchy_path`]).
fn layer_path(rec: &crate::decode::PacketRecord) -> smallvec::SmallVec<[&'static str; 8]> {
    let mut path = smallvec::SmallVec::new();
    if rec.meta.kind != FrameKind::Packet {
        return path;
    }
    let link_cut = link_cut(rec);
    let mut prev: Option<&Proto> = None;
    for l in &rec.layers {
        let skip = match &l.proto {
            Proto::Ipv6Ext(_) => true,
            Proto::Dns(_) => false,
            _ if l.quoted => true,
            Proto::Data => matches!(
                prev,
                Some(Proto::Tcp(_) | Proto::Icmp(_) | Proto::Icmpv6(_))
            ),
            Proto::Ethernet(_) | Proto::Sll(_) | Proto::Null { .. } => link_cut,
            _ => false,
        };
        if !skip && let Some(tag) = ProtoTag::of(&l.proto) {
            path.push(tag.abbrev());
        }
        if !l.quoted {
            prev = Some(&l.proto);
        }
    }
    path
}

/// The part of a frame's path in the hierarchy after its layers (see [`hierarchy_path`]).
fn push_marks(view: &PacketView<'_>, path: &mut smallvec::SmallVec<[&'static str; 8]>) {
    // HTTP once per message the frame completes, each followed by its body's dissector and by
    // `tcp.segments` when TCP reassembled it, in the order of tshark's tree; and on a frame of
    // bytes that start none on a connection that carried HTTP (tshark's "Continuation").
    for m in &view.state.http {
        path.push("http");
        if let Some(body) = crate::wire::http1::Body::of(&m.msg) {
            path.push(body.abbrev());
        }
        if m.reassembled {
            path.push("tcp.segments");
        }
    }
    if view.state.http_continuation {
        path.push("http");
    }
    if let Some(mark) = damage_mark(view.rec) {
        path.push(mark);
    }
}

/// A frame's transport and its source and destination ports, if it has one.
fn transport_ports(rec: &crate::decode::PacketRecord) -> Option<(Transport, u16, u16)> {
    if let Some((_, t)) = rec.tcp() {
        Some((Transport::Tcp, t.src_port, t.dst_port))
    } else {
        rec.udp()
            .map(|(_, u)| (Transport::Udp, u.src_port, u.dst_port))
    }
}

/// Well-known service names of the ports a course lab meets (IANA names, as Wireshark shows them).
pub fn service_name(transport: Transport, port: u16) -> Option<&'static str> {
    use Transport::Udp;
    Some(match (transport, port) {
        (_, 20) => "ftp-data",
        (_, 21) => "ftp",
        (_, 22) => "ssh",
        (_, 23) => "telnet",
        (_, 25) => "smtp",
        (_, 53) => "dns",
        (Udp, 67) => "dhcp-server",
        (Udp, 68) => "dhcp-client",
        (Udp, 69) => "tftp",
        (_, 80) => "http",
        (_, 110) => "pop3",
        (Udp, 123) => "ntp",
        (_, 143) => "imap",
        (Udp, 137) => "netbios-ns",
        (Udp, 138) => "netbios-dgm",
        (_, 139) => "netbios-ssn",
        (Udp, 161) => "snmp",
        (Udp, 162) => "snmp-trap",
        (_, 179) => "bgp",
        (_, 389) => "ldap",
        (_, 443) => "https",
        (_, 445) => "microsoft-ds",
        (Udp, 500) => "isakmp",
        (Udp, 514) => "syslog",
        (_, 587) => "submission",
        (_, 636) => "ldaps",
        (_, 853) => "domain-s",
        (_, 993) => "imaps",
        (_, 995) => "pop3s",
        (Udp, 1900) => "ssdp",
        (_, 3306) => "mysql",
        (_, 3389) => "ms-wbt-server",
        (_, 5353) => "mdns",
        (_, 5432) => "postgresql",
        (_, 6379) => "redis",
        (_, 8080) => "http-alt",
        (_, 8443) => "https-alt",
        _ => return None,
    })
}

impl StatsSink {
    /// Keep at most `n` IPv4 and `n` IPv6 conversations (see [`ConvSink::with_max_rows`]).
    pub fn with_max_rows(n: usize) -> StatsSink {
        StatsSink {
            ip: ConvSink::new(By::Ip).with_max_rows(n),
            ipv6: ConvSink::new(By::Ipv6).with_max_rows(n),
            ..StatsSink::default()
        }
    }

    /// The child of node `at` named `name`. A node has a handful of children, and names are
    /// mostly the same static strings: a scan that compares addresses first is cheaper than
    /// hashing the name at every level of every frame.
    fn child(&self, at: usize, name: &str) -> Option<usize> {
        let nodes = &self.nodes;
        let children = &nodes.get(at)?.children;
        children.iter().copied().find(|&c| {
            nodes
                .get(c)
                .is_some_and(|n| std::ptr::eq(n.name, name) || n.name == name)
        })
    }

    /// Count a frame on each node of its path (see [`StatsSink::count_path_in`]); `number` is
    /// the frame's.
    fn count_path(
        &mut self,
        key: Option<PathKey>,
        path: impl FnOnce() -> smallvec::SmallVec<[&'static str; 8]>,
        number: u64,
        bytes: u64,
    ) {
        self.count_path_in(Known::Paths, 0, key, path, number, 1, bytes);
    }

    /// Count a frame whose layers' path, of `len` nodes ending at node `end`, its batch counted
    /// (see [`StatsSink::batch`]) on the rest of its path.
    fn count_marks(&mut self, view: &PacketView<'_>, end: usize, len: usize, bytes: u64) {
        let key = marks(view).map(|m| [end as u64, m]);
        let rest = || {
            let mut path = smallvec::SmallVec::new();
            push_marks(view, &mut path);
            path.truncate(MAX_DEPTH.saturating_sub(len));
            path
        };
        self.count_path_in(Known::Marks, end, key, rest, view.rec.meta.number, 1, bytes);
    }

    /// Count `frames` frames of `bytes` bytes on each node of a path below node `from`, and
    /// give the node it ends at. The path's nodes come from the map of known paths `known` by
    /// `key`, if an earlier walk kept them; otherwise the path is built (`path`), walked down the
    /// tree comparing names level by level (`first` is the number of the first of the frames,
    /// see [`StatsSink::enter`]), and kept under the key. Without a key the path is always
    /// walked. (A memory of a few slots picked by a hash of the key was cheaper by a lookup,
    /// but two busy paths whose keys met in one slot took it from each other on every other
    /// frame, and which keys meet depends on the hash and the capture.)
    #[allow(clippy::too_many_arguments)]
    fn count_path_in(
        &mut self,
        known: Known,
        from: usize,
        key: Option<PathKey>,
        path: impl FnOnce() -> smallvec::SmallVec<[&'static str; 8]>,
        first: u64,
        frames: u64,
        bytes: u64,
    ) -> usize {
        if let Some(kept) = key.and_then(|k| self.known.get(known as usize)?.get(&k)) {
            for &i in kept.nodes.iter().take(kept.len) {
                if let Some(n) = self.nodes.get_mut(i) {
                    n.frames += frames;
                    n.bytes += bytes;
                }
            }
            return kept
                .len
                .checked_sub(1)
                .and_then(|last| kept.nodes.get(last))
                .copied()
                .unwrap_or(from);
        }
        let path = path();
        let mut walked = KnownPath {
            len: path.len(),
            ..KnownPath::default()
        };
        let mut at = from;
        for (level, &name) in path.iter().enumerate() {
            let i = self.enter(at, name, first);
            if let Some(n) = self.nodes.get_mut(i) {
                n.frames += frames;
                n.bytes += bytes;
            }
            if let Some(kept) = walked.nodes.get_mut(level) {
                *kept = i;
            }
            at = i;
        }
        if let Some(key) = key
            && let Some(map) = self.known.get_mut(known as usize)
            && path.len() <= KNOWN_DEPTH
            && map.len() < KNOWN_PATHS
        {
            map.insert(key, walked);
        }
        at
    }

    /// The child of node `at` named `name`, made if there is none; `first` is the number of a
    /// frame through it. Children are kept in order of their first frames, which is the order
    /// they were made in when frames are counted in capture order. But a batch counts its
    /// frames' layers before the ordered stage takes any of them (see [`StatsSink::batch`]),
    /// and a frame counted whole there may then pass, or be a sibling of, a node the batch
    /// made for a later frame.
    fn enter(&mut self, at: usize, name: &'static str, first: u64) -> usize {
        let i = match self.child(at, name) {
            Some(i) if self.nodes.get(i).is_some_and(|n| n.first <= first) => return i,
            Some(i) => i,
            None => {
                self.nodes.push(Node {
                    name,
                    frames: 0,
                    bytes: 0,
                    first,
                    children: Vec::new(),
                });
                self.nodes.len() - 1
            }
        };
        if let Some(n) = self.nodes.get_mut(i) {
            n.first = first;
        }
        let Some(mut children) = self
            .nodes
            .get_mut(at)
            .map(|n| std::mem::take(&mut n.children))
        else {
            return i;
        };
        children.retain(|&c| c != i);
        let nodes = &self.nodes;
        let place = children.partition_point(|&c| nodes.get(c).is_some_and(|n| n.first <= first));
        children.insert(place, i);
        if let Some(n) = self.nodes.get_mut(at) {
            n.children = children;
        }
        i
    }

    fn count_service(&mut self, view: &PacketView<'_>, bytes: u64) {
        let Some((transport, a, b)) = transport_ports(view.rec) else {
            return;
        };
        let pair = port_pair(transport, a, b);
        let i = match self.recent_services.get(pair) {
            Some(&i) => i,
            None => {
                let i = self.service_of(transport, a, b);
                if let Some(kept) = self.recent_services.put(pair) {
                    *kept = i;
                }
                i
            }
        };
        if let Some(s) = self.services.get_mut(i) {
            s.frames += 1;
            s.bytes += bytes;
        }
    }

    /// The index in `services` of the service of a frame between ports `a` and `b`, added if
    /// it is new.
    fn service_of(&mut self, transport: Transport, a: u16, b: u16) -> usize {
        // The named port; if both are, the lower (the server's, nearly always).
        let (port, name) = match (service_name(transport, a), service_name(transport, b)) {
            (Some(x), Some(y)) => {
                if a <= b {
                    (a, x)
                } else {
                    (b, y)
                }
            }
            (Some(x), None) => (a, x),
            (None, Some(y)) => (b, y),
            (None, None) => (0, "other"),
        };
        let next = self.services.len();
        let i = *self.service_index.entry((transport, port)).or_insert(next);
        if i == next {
            self.services.push(Service {
                transport,
                port,
                name,
                frames: 0,
                bytes: 0,
            });
        }
        i
    }

    /// Digits of the duration: the more precise of the two times'.
    pub fn duration_digits(&self) -> u8 {
        self.totals.first_digits.max(self.totals.last_digits)
    }

    /// Nanoseconds between the earliest and the latest frame.
    pub fn duration_ns(&self) -> i64 {
        match (self.totals.first_ns, self.totals.last_ns) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => 0,
        }
    }

    /// capinfos' rates: data bytes and bits per second, packets per second (none for a capture
    /// shorter than a tick), and the average packet size.
    pub fn rates(&self) -> (Option<f64>, Option<f64>, Option<f64>, Option<f64>) {
        // capinfos holds the two times as floating-point epoch seconds and subtracts those;
        // doing the same keeps the rates' last digits equal to its own.
        let epoch = |ns: i64| {
            ns.div_euclid(1_000_000_000) as f64 + ns.rem_euclid(1_000_000_000) as f64 / 1e9
        };
        let secs = match (self.totals.first_ns, self.totals.last_ns) {
            (Some(a), Some(b)) => epoch(b) - epoch(a),
            _ => 0.0,
        };
        let per_sec = |x: u64| (secs > 0.0).then(|| x as f64 / secs);
        let avg = Some(self.totals.bytes as f64 / self.totals.packets.max(1) as f64);
        (
            per_sec(self.totals.bytes),
            per_sec(self.totals.bytes).map(|b| b * 8.0),
            avg,
            per_sec(self.totals.packets),
        )
    }

    /// The IPv4 and IPv6 conversations, most bytes first.
    pub fn conversations(&self) -> Vec<conv::Conversation> {
        let mut c: Vec<conv::Conversation> = self
            .ip
            .conversations
            .iter()
            .chain(&self.ipv6.conversations)
            .cloned()
            .collect();
        conv::sort_conversations(&mut c, SortBy::Bytes);
        c
    }

    /// Services, most frames first.
    pub fn services(&self) -> Vec<Service> {
        let mut s = self.services.clone();
        s.sort_by_key(|x| std::cmp::Reverse(x.frames));
        s
    }
}

impl Sink for StatsSink {
    fn cut_short(&self, cut: &mut crate::limits::CutShort) {
        self.ip.cut_short(cut);
        self.ipv6.cut_short(cut);
    }

    fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
        // Where its layers' path ends, if its batch counted them.
        let layers = if self.precounted {
            let at = self.batch_at;
            self.batch_at += 1;
            self.batch_layers.get(at).copied().flatten()
        } else {
            None
        };
        let meta = &view.rec.meta;
        if meta.kind != FrameKind::Packet {
            // tshark lists pcapng custom blocks as frames; capinfos does not count them.
            return Ok(());
        }
        let bytes = u64::from(meta.origlen);
        match layers {
            Some(_) if !has_marks(view) => {}
            Some((end, len)) => self.count_marks(view, end, len, bytes),
            None => self.count_path(path_key(view), || hierarchy_path(view), meta.number, bytes),
        }
        if self.precounted {
            return Ok(());
        }
        self.totals.add(meta);
        // A frame counts in the table of its outer IP header's version, if in either (the
        // other would look for its addresses only to find the wrong version).
        match view.rec.outer_ip_is_v6() {
            Some(false) => self.ip.packet(view)?,
            Some(true) => self.ipv6.packet(view)?,
            None => {}
        }
        self.count_service(view, bytes);
        Ok(())
    }

    fn precount(&self) -> Option<std::sync::Arc<dyn Precount>> {
        Some(std::sync::Arc::new(Precounter))
    }

    fn batch(&mut self, counted: Option<Box<dyn Counting>>, first_ts_ns: i64) {
        let counts =
            counted.and_then(|c| (c as Box<dyn std::any::Any>).downcast::<BatchCounts>().ok());
        self.precounted = counts.is_some();
        self.batch_layers.clear();
        self.batch_at = 0;
        if let Some(c) = counts {
            // Each path of layers in the order of its first frame, as the frames would make
            // their nodes; the ordered stage counts the rest of each frame's path.
            let mut ends = std::mem::take(&mut self.batch_ends);
            ends.clear();
            ends.extend(c.layers.iter().map(|(key, l)| {
                (l.frames > 0).then(|| {
                    let path = || l.path.clone();
                    let end = self.count_path_in(
                        Known::Layers,
                        0,
                        Some(*key),
                        path,
                        l.first,
                        l.frames,
                        l.bytes,
                    );
                    (end, l.path.len())
                })
            }));
            self.batch_layers.extend(
                c.frame_layers
                    .iter()
                    .map(|&at| ends.get(usize::from(at)).copied().flatten()),
            );
            self.batch_ends = ends;
            self.totals.add_all(&c.totals);
            self.ip.add_batch(&c.ip, first_ts_ns);
            self.ipv6.add_batch(&c.ipv6, first_ts_ns);
            for &(_, (transport, a, b, frames, bytes)) in c.ports.iter() {
                let i = self.service_of(transport, a, b);
                if let Some(s) = self.services.get_mut(i) {
                    s.frames += frames;
                    s.bytes += bytes;
                }
            }
        }
    }
}

/// A link type's name, as capinfos calls it.
pub fn linktype_name(lt: u16) -> &'static str {
    use crate::decode::linktype as l;
    match lt {
        l::NULL => "BSD loopback",
        l::ETHERNET => "Ethernet",
        l::RAW | l::RAW_OPENBSD | l::RAW_BSDOS => "Raw IP",
        l::LOOP => "OpenBSD loopback",
        l::LINUX_SLL => "Linux cooked-mode capture v1",
        l::IPV4 => "Raw IPv4",
        l::IPV6 => "Raw IPv6",
        l::LINUX_SLL2 => "Linux cooked-mode capture v2",
        _ => "other",
    }
}

/// A timestamp or a duration in seconds with the capture's digits, as capinfos -S prints it.
pub fn seconds(ns: i64, digits: u8) -> String {
    let digits = u32::from(digits.min(9));
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000) / 10i64.pow(9 - digits);
    if digits == 0 {
        return secs.to_string();
    }
    format!("{secs}.{frac:0width$}", width = digits as usize)
}

fn two_decimals(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"))
}

fn hierarchy_json(s: &StatsSink, i: usize) -> Json {
    let n = &s.nodes[i];
    json!({
        "protocol": n.name,
        "frames": n.frames,
        "bytes": n.bytes,
        "children": n.children.iter().map(|&c| hierarchy_json(s, c)).collect::<Vec<_>>(),
    })
}

pub fn stats_json(s: &StatsSink, file: &str, format: &str) -> Json {
    let (byte_rate, bit_rate, avg_size, packet_rate) = s.rates();
    let convs = s.conversations();
    let eps = {
        let mut e = conv::endpoints(&convs);
        conv::sort_endpoints(&mut e, SortBy::Bytes);
        e
    };
    json!({
        "file": file,
        "format": format,
        "link_types": s.totals.linktypes.iter().map(|(lt, n)| json!({
            "linktype": lt, "name": linktype_name(*lt), "frames": n,
        })).collect::<Vec<_>>(),
        "packets": s.totals.packets,
        "bytes": s.totals.bytes,
        "captured_bytes": s.totals.captured,
        "first_time": s.totals.first_ns.map(|t| seconds(t, s.totals.first_digits)),
        "last_time": s.totals.last_ns.map(|t| seconds(t, s.totals.last_digits)),
        "duration": s.totals.first_ns.map(|_| seconds(s.duration_ns(), s.duration_digits())),
        "data_byte_rate": byte_rate,
        "data_bit_rate": bit_rate,
        "average_packet_size": avg_size,
        "average_packet_rate": packet_rate,
        "protocol_hierarchy": s.nodes[0].children.iter().map(|&c| hierarchy_json(s, c)).collect::<Vec<_>>(),
        "conversations": conv::conv_json(By::Ip, &convs)["conversations"].clone(),
        "endpoints": conv::endpoints_json(By::Ip, &eps)["endpoints"].clone(),
        "services": s.services().iter().map(|x| json!({
            "transport": x.transport.name(), "port": x.port, "service": x.name,
            "frames": x.frames, "bytes": x.bytes,
        })).collect::<Vec<_>>(),
    })
}

/// A byte count for people: 1234 → "1.2 kB".
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A bar of `width` cells for `part` of `whole`, in eighths of a cell.
pub fn bar(part: u64, whole: u64, width: usize) -> String {
    if whole == 0 {
        return String::new();
    }
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = ((part as f64 / whole as f64) * (width * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(EIGHTHS[eighths % 8]);
    }
    if part > 0 && s.is_empty() {
        s.push('▏');
    }
    s
}

/// What a line of the report's tables starts with.
const INDENT: &str = "  ";

const CONVERSATION_COLUMNS: [Column<'static>; 4] = [
    Column::left("A <-> B", 40),
    Column::right("frames", 9),
    Column::right("bytes", 12),
    Column::right("duration s", 10).wide_gap(),
];

const ENDPOINT_COLUMNS: [Column<'static>; 5] = [
    Column::left("address", 40),
    Column::right("frames", 9),
    Column::right("bytes", 12),
    Column::right("sent", 12),
    Column::right("received", 12),
];

pub fn stats_text(s: &StatsSink, file: &str, format: &str) -> String {
    let mut o = String::new();
    let (byte_rate, bit_rate, avg_size, packet_rate) = s.rates();
    let links: Vec<String> = s
        .totals
        .linktypes
        .iter()
        .map(|(lt, n)| format!("{} ({n} frames)", linktype_name(*lt)))
        .collect();
    let _ = writeln!(o, "File:                {file}");
    let _ = writeln!(o, "Format:              {format}");
    let _ = writeln!(o, "Link types:          {}", links.join(", "));
    let _ = writeln!(o, "Packets:             {}", s.totals.packets);
    let _ = writeln!(
        o,
        "Bytes:               {} ({}), {} captured",
        s.totals.bytes,
        human_bytes(s.totals.bytes),
        s.totals.captured
    );
    if let (Some(a), Some(b)) = (s.totals.first_ns, s.totals.last_ns) {
        let _ = writeln!(
            o,
            "First packet:        {}",
            seconds(a, s.totals.first_digits)
        );
        let _ = writeln!(
            o,
            "Last packet:         {}",
            seconds(b, s.totals.last_digits)
        );
        let _ = writeln!(
            o,
            "Duration:            {} s",
            seconds(s.duration_ns(), s.duration_digits())
        );
    }
    let _ = writeln!(
        o,
        "Data byte rate:      {} bytes/s",
        two_decimals(byte_rate)
    );
    let _ = writeln!(o, "Data bit rate:       {} bits/s", two_decimals(bit_rate));
    let _ = writeln!(o, "Average packet size: {} bytes", two_decimals(avg_size));
    let _ = writeln!(
        o,
        "Average packet rate: {} packets/s",
        two_decimals(packet_rate)
    );

    let _ = writeln!(o, "\nProtocol hierarchy (frames, bytes, share of bytes)");
    fn walk(s: &StatsSink, i: usize, depth: usize, o: &mut String) {
        let n = &s.nodes[i];
        let label = format!("{}{}", "  ".repeat(depth), n.name);
        let _ = writeln!(
            o,
            "  {label:<28} {:>9} {:>12}  {:>5.1}% {}",
            n.frames,
            n.bytes,
            100.0 * n.bytes as f64 / s.totals.bytes.max(1) as f64,
            bar(n.bytes, s.totals.bytes, 20)
        );
        for &c in &n.children {
            walk(s, c, depth + 1, o);
        }
    }
    for &c in &s.nodes[0].children {
        walk(s, c, 0, &mut o);
    }

    let convs = s.conversations();
    if !convs.is_empty() {
        let _ = writeln!(o, "\nTop IP conversations (by bytes)");
        o.push_str(INDENT);
        header_line(&mut o, &CONVERSATION_COLUMNS);
        for c in convs.iter().take(TOP) {
            o.push_str(INDENT);
            let mut row = Row::new(&mut o, &CONVERSATION_COLUMNS);
            row.cell(|s| {
                let _ = write!(s, "{} <-> {}", c.a.address, c.b.address);
            });
            row.cell(|s| push_int(s, c.frames()));
            row.cell(|s| push_int(s, c.bytes()));
            row.cell(|s| {
                let _ = write!(s, "{:.3}", c.duration_ns() as f64 / 1e9);
            });
            row.end();
        }
        let mut eps = conv::endpoints(&convs);
        conv::sort_endpoints(&mut eps, SortBy::Bytes);
        let _ = writeln!(o, "\nTop IP endpoints (by bytes)");
        o.push_str(INDENT);
        header_line(&mut o, &ENDPOINT_COLUMNS);
        for e in eps.iter().take(TOP) {
            o.push_str(INDENT);
            let mut row = Row::new(&mut o, &ENDPOINT_COLUMNS);
            row.text(&e.side.address);
            for n in [e.frames(), e.bytes(), e.tx_bytes, e.rx_bytes] {
                row.cell(|s| push_int(s, n));
            }
            row.end();
        }
    }
    let services = s.services();
    if !services.is_empty() {
        let _ = writeln!(o, "\nServices (TCP and UDP, by well-known port)");
        let total: u64 = services.iter().map(|x| x.frames).sum();
        for x in services.iter().take(TOP) {
            let port = if x.port == 0 {
                "other".to_string()
            } else {
                x.port.to_string()
            };
            let _ = writeln!(
                o,
                "  {:<14} {:>3}/{:<6} {:>9} frames {:>12} bytes  {}",
                x.name,
                x.transport.name(),
                port,
                x.frames,
                x.bytes,
                bar(x.frames, total, 20)
            );
        }
        if services.len() > TOP {
            let _ = writeln!(o, "  ... {} more", services.len() - TOP);
        }
    }
    o
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every node's frames and bytes, keyed by the names from the root down to it.
    fn counted(s: &StatsSink) -> BTreeMap<Vec<&'static str>, (u64, u64)> {
        fn walk(
            s: &StatsSink,
            i: usize,
            path: &mut Vec<&'static str>,
            out: &mut BTreeMap<Vec<&'static str>, (u64, u64)>,
        ) {
            for &c in &s.nodes[i].children {
                let n = &s.nodes[c];
                path.push(n.name);
                // A name must appear once among its siblings.
                assert!(out.insert(path.clone(), (n.frames, n.bytes)).is_none());
                walk(s, c, path, out);
                path.pop();
            }
        }
        let mut out = BTreeMap::new();
        walk(s, 0, &mut Vec::new(), &mut out);
        out
    }

    /// The known paths give the counts a walk of the tree gives. The paths share prefixes,
    /// name the same protocol by strings at different addresses (which must land in one
    /// node), and some frames have no key.
    #[test]
    fn recent_paths_count_as_the_tree_walk_does() {
        let names: Vec<&'static str> = ["eth", "ip", "tcp", "http", "data-text-lines", "udp"]
            .into_iter()
            .chain(["tcp", "http"].map(|n| &*Box::leak(n.to_string().into_boxed_str())))
            .collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 33) as usize % n
        };
        let paths: Vec<Vec<&'static str>> = (0..80)
            .map(|_| {
                (0..1 + next(11))
                    .map(|_| names[next(names.len())])
                    .collect()
            })
            .collect();
        let mut sink = StatsSink::default();
        let mut want: BTreeMap<Vec<&'static str>, (u64, u64)> = BTreeMap::new();
        for frame in 0..20_000u64 {
            let which = next(paths.len());
            let path = &paths[which];
            let bytes = 60 + frame % 1400;
            let key = (which % 7 != 0).then_some([which as u64, 1]);
            sink.count_path(key, || path.iter().copied().collect(), frame, bytes);
            for depth in 1..=path.len() {
                let e = want.entry(path[..depth].to_vec()).or_default();
                e.0 += 1;
                e.1 += bytes;
            }
        }
        assert_eq!(counted(&sink), want);
    }

    /// Frames with equal keys have equal paths, on every frame of the test and sample
    /// captures, as `stats` runs over them: with their HTTP, reassembled segments, ICMP errors,
    /// VLANs, IPv6 extension headers, cut and damaged frames.
    #[test]
    fn a_path_key_tells_its_path() {
        #[derive(Default)]
        struct Keys {
            seen: std::collections::HashMap<PathKey, Vec<&'static str>>,
            frames: u64,
        }
        impl Sink for Keys {
            fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
                if view.rec.meta.kind != FrameKind::Packet {
                    return Ok(());
                }
                let path = hierarchy_path(view).to_vec();
                if let Some(key) = path_key(view) {
                    self.frames += 1;
                    let first = self.seen.entry(key).or_insert_with(|| path.clone());
                    assert_eq!(*first, path, "frame {}", view.rec.meta.number);
                }
                Ok(())
            }
        }
        let mut keys = Keys::default();
        each_capture(&mut keys);
        // Keys told apart what they must: HTTP, its bodies and reassembly, damage marks.
        let paths: std::collections::HashSet<_> = keys.seen.values().collect();
        assert!(
            keys.frames > 5_000 && paths.len() > 40,
            "{} {}",
            keys.frames,
            paths.len()
        );
        for name in [
            "data-text-lines",
            "tcp.segments",
            "_ws.malformed",
            "_ws.short",
            "icmp",
        ] {
            assert!(paths.iter().any(|p| p.contains(&name)), "{name}");
        }
    }

    /// Every test and sample capture, in order.
    fn captures() -> Vec<std::path::PathBuf> {
        let mut captures = Vec::new();
        let mut dirs = vec![
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data")),
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/samples")),
        ];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "pcap" || e == "pcapng")
                {
                    captures.push(path);
                }
            }
        }
        assert!(captures.len() > 50, "{captures:?}");
        captures.sort();
        captures
    }

    /// The options `stats` runs with (without a filter).
    fn stats_options() -> crate::engine::Options {
        crate::engine::Options {
            threads: 1,
            http: true,
            http_framing_only: true,
            tcp_without_analysis: true,
            pairing: false,
            ..crate::engine::Options::default()
        }
    }

    /// Run `sink` over `path` with `opts`; false if the capture does not open (some are broken
    /// on purpose, from their header on).
    fn run(path: &std::path::Path, opts: &crate::engine::Options, sink: &mut dyn Sink) -> bool {
        let Ok(reader) = crate::capture::Reader::open(path.to_str().unwrap()) else {
            return false;
        };
        crate::engine::run(reader, opts, &crate::engine::MatchAll, sink, &mut |_, _| {}).unwrap();
        true
    }

    /// Run `sink` over every test and sample capture that opens, as `stats` runs.
    fn each_capture(sink: &mut dyn Sink) {
        for path in &captures() {
            run(path, &stats_options(), sink);
        }
    }

    /// When the reader decodes (one decoding thread), which batches it counts for stats
    /// depends on timing (see [`crate::engine::ReaderBatches`]); the ordered stage counts
    /// the others frame by frame. A fixed mix, one batch of 3 frames in three counted on the
    /// reader, must give the report that counting every frame on the ordered stage gives (`-c`
    /// counts no batch on the reader), on every capture.
    #[test]
    fn stats_with_some_batches_counted_on_the_reader_equal_stats_counted_frame_by_frame() {
        /// The sink, and how many batches came counted and how many not.
        #[derive(Default)]
        struct Tallied(StatsSink, [u64; 2]);
        impl Sink for Tallied {
            fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
                self.0.packet(view)
            }
            fn precount(&self) -> Option<std::sync::Arc<dyn Precount>> {
                self.0.precount()
            }
            fn batch(&mut self, counted: Option<Box<dyn Counting>>, first_ts_ns: i64) {
                self.1[usize::from(counted.is_some())] += 1;
                self.0.batch(counted, first_ts_ns);
            }
        }
        let mixed = crate::engine::Options {
            batch_frames: 3,
            reader_batches: crate::engine::ReaderBatches::InTurn,
            ..stats_options()
        };
        let one_by_one = crate::engine::Options {
            batch_frames: 3,
            max_frames: Some(u64::MAX),
            ..stats_options()
        };
        let mut batches = [0; 2];
        for path in &captures() {
            let (mut a, mut b) = (Tallied::default(), Tallied::default());
            if !run(path, &mixed, &mut a) || !run(path, &one_by_one, &mut b) {
                continue;
            }
            let file = path.to_str().unwrap();
            assert_eq!(
                stats_json(&a.0, file, "pcap"),
                stats_json(&b.0, file, "pcap"),
                "{file}"
            );
            assert_eq!(b.1[1], 0, "{file}: -c counted a batch on the reader");
            batches = [batches[0] + a.1[0], batches[1] + a.1[1]];
        }
        // Both ways were taken, many times (a batch with an IP fragment is never counted on
        // the reader).
        assert!(batches[0] > 1000 && batches[1] > 500, "{batches:?}");
    }

    /// The services of port pairs seen lately give the table that naming every frame's ports
    /// gives, over the captures' thousands of port pairs (which take each other's entries).
    #[test]
    fn recent_services_count_as_naming_every_frame_does() {
        #[derive(Default)]
        struct Both {
            cached: StatsSink,
            named: StatsSink,
        }
        impl Sink for Both {
            fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
                self.cached
                    .count_service(view, u64::from(view.rec.meta.origlen));
                let Some((transport, a, b)) = transport_ports(view.rec) else {
                    return Ok(());
                };
                let i = self.named.service_of(transport, a, b);
                let s = &mut self.named.services[i];
                s.frames += 1;
                s.bytes += u64::from(view.rec.meta.origlen);
                Ok(())
            }
        }
        let mut both = Both::default();
        each_capture(&mut both);
        let table = |s: &StatsSink| {
            s.services
                .iter()
                .map(|x| (x.transport, x.port, x.name, x.frames, x.bytes))
                .collect::<Vec<_>>()
        };
        assert_eq!(table(&both.cached), table(&both.named));
        assert!(both.named.services.len() > 10 && both.named.service_index.len() > 10);
    }
}
