//! tshark's packet-list columns: Source, Destination, Protocol and Info, in the formats of
//! Wireshark 4.0 with name resolution off (`-n`). Pure functions of a [`PacketView`].

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::decode::{
    Arp, FrameKind, Icmp, Icmpv6, MalformedKind, Proto, Tcp, TcpOption, tcp_flags,
};
use crate::field::PacketView;
use crate::field::value::write_mac;
use crate::wire::dns::{self, DnsMessage, RData};

/// The network-layer source and destination, or the link-layer ones when there is no IP.
pub fn addresses(view: &PacketView<'_>) -> (String, String) {
    let (mut src, mut dst) = (String::new(), String::new());
    write_addresses(view, &mut src, &mut dst);
    (src, dst)
}

/// [`addresses`], appended to `src` and `dst`.
pub fn write_addresses(view: &PacketView<'_>, src: &mut String, dst: &mut String) {
    let outer = || view.rec.layers.iter().filter(|l| !l.quoted);
    for l in outer() {
        match &l.proto {
            Proto::Ipv4(ip) => {
                push_ipv4(src, ip.src);
                push_ipv4(dst, ip.dst);
                return;
            }
            Proto::Ipv6(ip) => {
                let _ = write!(src, "{}", Ipv6Addr::from(ip.src));
                let _ = write!(dst, "{}", Ipv6Addr::from(ip.dst));
                return;
            }
            _ => {}
        }
    }
    for l in outer() {
        match &l.proto {
            Proto::Ethernet(e) => {
                if let Some(s) = e.src {
                    write_mac(&s, src);
                }
                write_mac(&e.dst, dst);
                return;
            }
            Proto::Sll(s) => {
                write_mac(s.src_addr(), src);
                return;
            }
            _ => {}
        }
    }
}

/// The source and destination of the outer IPv4 header, when the network-layer addresses
/// [`write_addresses`] writes are IPv4 ones.
pub fn outer_ipv4(view: &PacketView<'_>) -> Option<([u8; 4], [u8; 4])> {
    let outer = view.rec.layers.iter().filter(|l| !l.quoted);
    for l in outer {
        match &l.proto {
            Proto::Ipv4(ip) => return Some((ip.src, ip.dst)),
            Proto::Ipv6(_) => return None,
            _ => {}
        }
    }
    None
}

/// Characters [`push_ipv4`] writes for `addr`.
pub fn ipv4_width(addr: [u8; 4]) -> usize {
    let digits = |o: u8| 1 + usize::from(o >= 10) + usize::from(o >= 100);
    3 + addr.iter().map(|&o| digits(o)).sum::<usize>()
}

/// Dotted-quad IPv4, as `Ipv4Addr`'s Display writes it, without the formatting machinery: each
/// octet's digits come from a table, into a buffer on the stack, and go into `out` at once (two
/// addresses a packet line; through `itoa`, an octet and a dot at a time, they took a tenth of
/// the list's rendering).
pub fn push_ipv4(out: &mut String, addr: [u8; 4]) {
    let mut buf = Aligned([b'.'; 16]);
    let mut len = 0;
    for octet in addr {
        let (digits, n) = OCTETS[usize::from(octet)];
        // Each octet takes at most three digits and a dot: four fit in 16 bytes.
        if let Some(slot) = buf.0.get_mut(len..len + 3) {
            slot.copy_from_slice(&digits);
        }
        len += usize::from(n) + 1;
    }
    // Only ASCII digits and dots are in the buffer, so it is always valid UTF-8. It is checked
    // whole: 16 aligned bytes take the check's word-at-a-time path, where the address alone
    // (7 to 15 bytes, anywhere) went byte by byte, at half the cost of the rest.
    let text = std::str::from_utf8(&buf.0).unwrap_or_default();
    // The last octet's dot is not written.
    out.push_str(text.get(..len - 1).unwrap_or_default());
}

/// Bytes on a 16-byte boundary (see [`push_ipv4`]).
#[repr(align(16))]
struct Aligned([u8; 16]);

/// Every octet's decimal digits (left-aligned, padded with dots) and how many there are.
const OCTETS: [([u8; 3], u8); 256] = {
    let mut table = [([b'.'; 3], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let o = i as u8;
        table[i] = if o >= 100 {
            ([b'0' + o / 100, b'0' + o / 10 % 10, b'0' + o % 10], 3)
        } else if o >= 10 {
            ([b'0' + o / 10, b'0' + o % 10, b'.'], 2)
        } else {
            ([b'0' + o, b'.', b'.'], 1)
        };
        i += 1;
    }
    table
};

/// An address and port as the tables show them: `10.0.1.10:80`, `[2001:db8::1]:80`.
pub fn push_endpoint(s: &mut String, e: &crate::tcp::Endpoint) {
    match e.ip() {
        std::net::IpAddr::V6(a) => {
            let _ = write!(s, "[{a}]");
        }
        // Two addresses a row, and tables of many rows: not through the formatting machinery.
        std::net::IpAddr::V4(a) => push_ipv4(s, a.octets()),
    }
    s.push(':');
    push_int(s, e.port);
}

/// Write one table column with `write`, then pad it to `width` characters (right-aligned or
/// not), as `{:>width}` and `{:<width}` would. (Tables write their cells through [`Row`].)
fn column(s: &mut String, width: usize, right: bool, write: impl FnOnce(&mut String)) {
    let at = s.len();
    write(s);
    if right {
        super::summary::pad_left(s, at, width);
    } else {
        super::summary::pad_right(s, at, width);
    }
}

/// One column of a text table: its title, its width in characters (0: not padded, for a last
/// column), its alignment, and what goes before it on a line (one space, or two; nothing
/// before the first column).
#[derive(Clone, Copy, Debug)]
pub struct Column<'t> {
    pub title: &'t str,
    pub width: usize,
    pub right: bool,
    pub gap: &'static str,
}

impl<'t> Column<'t> {
    pub const fn left(title: &'t str, width: usize) -> Column<'t> {
        Column {
            title,
            width,
            right: false,
            gap: " ",
        }
    }

    pub const fn right(title: &'t str, width: usize) -> Column<'t> {
        Column {
            title,
            width,
            right: true,
            gap: " ",
        }
    }

    /// The same column with two spaces before it.
    pub const fn wide_gap(self) -> Column<'t> {
        Column { gap: "  ", ..self }
    }
}

/// One line of a text table, written cell by cell, each padded as its column says: the header
/// ([`header_line`]) and the rows pad from the same widths, so they cannot drift apart.
pub struct Row<'s, 'c> {
    s: &'s mut String,
    columns: &'c [Column<'c>],
    next: usize,
}

impl<'s, 'c> Row<'s, 'c> {
    pub fn new(s: &'s mut String, columns: &'c [Column<'c>]) -> Row<'s, 'c> {
        Row {
            s,
            columns,
            next: 0,
        }
    }

    /// The next cell, written by `write` (past the last column, unpadded after a space).
    pub fn cell(&mut self, write: impl FnOnce(&mut String)) {
        let column = self.columns.get(self.next).copied();
        if self.next > 0 {
            self.s.push_str(column.map_or(" ", |c| c.gap));
        }
        self.next += 1;
        match column {
            Some(c) => self::column(self.s, c.width, c.right, write),
            None => write(self.s),
        }
    }

    /// A cell of plain text.
    pub fn text(&mut self, text: &str) {
        self.cell(|s| s.push_str(text));
    }

    /// Ends the line.
    pub fn end(self) {
        self.s.push('\n');
    }
}

/// Rows per rendering task of [`push_rows`]: about 1.3M instructions, against a task's few
/// thousand.
const ROWS_PER_TASK: usize = 256;

/// Each of `items` written by `row` (a table's line, or lines), in order. A table written after
/// the run (`tcp`, `conv`) has a row per connection, tens of thousands in a large capture, at
/// about 5,000 instructions each, while the decoding threads are idle: past one task's worth,
/// the rows are rendered in chunks on the thread pool, and the chunks joined in order.
pub fn push_rows<T: Sync>(s: &mut String, items: &[T], row: impl Fn(&mut String, &T) + Sync) {
    use rayon::prelude::*;
    if items.len() <= ROWS_PER_TASK {
        items.iter().for_each(|x| row(s, x));
        return;
    }
    let chunks: Vec<String> = items
        .par_chunks(ROWS_PER_TASK)
        .map(|chunk| {
            let mut part = String::new();
            chunk.iter().for_each(|x| row(&mut part, x));
            part
        })
        .collect();
    s.reserve(chunks.iter().map(String::len).sum());
    chunks.iter().for_each(|part| s.push_str(part));
}

/// The header line of a table: its columns' titles, padded as their cells are.
pub fn header_line(s: &mut String, columns: &[Column<'_>]) {
    let mut row = Row::new(s, columns);
    for c in columns {
        row.text(c.title);
    }
    row.end();
}

/// An integer in decimal (as Display writes it).
pub fn push_int(out: &mut String, n: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// A number, or "-" without one (a table cell with nothing to show).
pub fn push_int_or_dash<T: itoa::Integer>(out: &mut String, n: Option<T>) {
    match n {
        Some(n) => push_int(out, n),
        None => out.push('-'),
    }
}

/// A duration in milliseconds with three decimals, as the tables and their JSON show
/// latencies and round trips.
pub fn ms(ns: i64) -> String {
    let mut s = String::new();
    push_ms(&mut s, ns);
    s
}

/// [`ms`], appended to `s`: what `{:.3}` writes of `ns as f64 / 1e6`.
pub fn push_ms(s: &mut String, ns: i64) {
    let abs = ns.unsigned_abs();
    // In integers where the float's rounding cannot differ. A remainder of exactly 500 ns is a
    // tie, which the nearest double decides (0.0005 rounds up, its double being a little more).
    // Below 2^50 ns (13 days) the division's error is under 2e-7 ms, and every other value is
    // at least 1e-6 ms from a rounding boundary.
    if abs % 1000 == 500 || abs >= 1 << 50 {
        let _ = write!(s, "{:.3}", ns as f64 / 1e6);
        return;
    }
    let us = (abs + 500) / 1000;
    if ns < 0 {
        s.push('-'); // as the float's, also when it rounds to zero ("-0.000")
    }
    push_int(s, us / 1000);
    s.push('.');
    let frac = us % 1000;
    s.push_str(if frac < 10 {
        "00"
    } else if frac < 100 {
        "0"
    } else {
        ""
    });
    push_int(s, frac);
}

/// The Protocol column: the name of the highest layer decoded.
pub fn protocol(view: &PacketView<'_>) -> &'static str {
    if let FrameKind::CustomBlock { .. } = view.rec.meta.kind {
        return "PCAPNG";
    }
    if view.state.http_continuation {
        return "HTTP";
    }
    if !view.state.http.is_empty() {
        // tshark names a body's dissector after HTTP when it has one of its own (JSON, XML).
        // A frame with both a JSON and an XML body (none in the corpus) is called HTTP/JSON.
        let rank = |m: &crate::app::http::HttpMessage| match crate::wire::http1::Body::of(&m.msg) {
            Some(crate::wire::http1::Body::Json) => 2,
            Some(crate::wire::http1::Body::Xml) => 1,
            _ => 0,
        };
        return match view.state.http.iter().map(rank).max() {
            Some(2) => "HTTP/JSON",
            Some(1) => "HTTP/XML",
            _ => "HTTP",
        };
    }
    let mut name = "";
    for l in view.rec.layers.iter().filter(|l| !l.quoted) {
        name = match &l.proto {
            Proto::Ethernet(_) => "Ethernet",
            Proto::Sll(_) => "SLL",
            Proto::Null { .. } => "NULL",
            Proto::Raw => "Raw",
            Proto::Vlan(_) => "802.1Q",
            Proto::Arp(a) if a.opcode == 3 || a.opcode == 4 => "RARP",
            Proto::Arp(_) => "ARP",
            Proto::Ipv4(_) => "IPv4",
            Proto::Ipv6(_) | Proto::Ipv6Ext(_) => "IPv6",
            Proto::Icmp(_) => "ICMP",
            Proto::Icmpv6(_) => "ICMPv6",
            Proto::Udp(_) => "UDP",
            Proto::Tcp(_) => "TCP",
            Proto::Dns(_) => "DNS",
            Proto::Data => {
                if name.is_empty() {
                    "Data"
                } else {
                    name
                }
            }
        };
    }
    name
}

/// The Info column.
pub fn info(view: &PacketView<'_>) -> String {
    let mut s = String::new();
    write_info(view, &mut s);
    s
}

/// [`info`], appended to `s`.
pub fn write_info(view: &PacketView<'_>, s: &mut String) {
    let rec = view.rec;
    if let FrameKind::CustomBlock { pen, copy } = rec.meta.kind {
        let _ = write!(
            s,
            "Custom Block: PEN = {pen}, will{} be copied",
            if copy { "" } else { " not" }
        );
        return;
    }
    // The highest outer layer that is not undissected data.
    let top = rec
        .layers
        .iter()
        .rev()
        .find(|l| !l.quoted && !matches!(l.proto, Proto::Data));
    match top.map(|l| &l.proto) {
        Some(Proto::Dns(m)) => dns_info(m, s),
        Some(Proto::Tcp(_)) if !view.state.http.is_empty() => {
            tcp_analysis_tags(view, s);
            for m in &view.state.http {
                http_info(&m.msg, s);
            }
        }
        Some(Proto::Tcp(_)) if view.state.http_continuation => {
            tcp_analysis_tags(view, s);
            s.push_str("Continuation");
        }
        Some(Proto::Tcp(t)) => tcp_info(view, t, s),
        Some(Proto::Udp(u)) => {
            let len = u.length.saturating_sub(8);
            let _ = write!(s, "{} → {} Len={len}", u.src_port, u.dst_port);
        }
        Some(Proto::Icmp(i)) => icmp_info(view, i, s),
        Some(Proto::Icmpv6(i)) => icmpv6_info(view, i, s),
        Some(Proto::Arp(a)) => arp_info(a, s),
        Some(Proto::Ipv4(ip)) if ip.is_fragment() => {
            let _ = write!(
                s,
                "Fragmented IP protocol (proto={} {}, off={}, ID={:04x})",
                ip_proto_name(ip.proto),
                ip.proto,
                u32::from(ip.frag_offset) * 8,
                ip.id
            );
            if let Some(n) = view.state.later.reassembled_in {
                let _ = write!(s, " [Reassembled in #{n}]");
            }
        }
        Some(Proto::Ipv4(ip)) => {
            let _ = write!(s, "{} ({})", ip_proto_name(ip.proto), ip.proto);
        }
        Some(Proto::Ipv6Ext(x)) if x.kind == 44 => {
            if let Some(f) = rec.ipv6().and_then(|ip| ip.fragment) {
                let _ = write!(
                    s,
                    "IPv6 fragment (off={} more={} ident=0x{:08x} nxt={})",
                    u32::from(f.offset) * 8,
                    if f.more { 'y' } else { 'n' },
                    f.id,
                    x.next_header
                );
            }
        }
        Some(Proto::Ipv6(ip)) => {
            let _ = write!(
                s,
                "IPv6 {} ({})",
                ip_proto_name(ip.upper_proto),
                ip.upper_proto
            );
        }
        Some(Proto::Ethernet(e)) => {
            if let Some(t) = e.ethertype {
                let _ = write!(s, "Ethernet II, type 0x{t:04x}");
            }
        }
        _ => {}
    }
    if let Some(m) = rec.malformed {
        match m.kind {
            MalformedKind::Truncated { .. } if rec.meta.caplen < rec.meta.origlen => {
                s.push_str("[Packet size limited during capture]")
            }
            MalformedKind::Truncated { .. } => s.push_str("[Malformed Packet]"),
            MalformedKind::BadHeader(_) => s.push_str("[Malformed Packet]"),
        }
    }
}

fn ip_proto_name(p: u8) -> &'static str {
    match p {
        1 => "ICMP",
        2 => "IGMP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "ICMPv6",
        89 => "OSPF",
        132 => "SCTP",
        _ => "Unknown",
    }
}

/// TCP flag names in tshark's order, joined by ", ".
pub fn tcp_flag_names(flags: u16) -> String {
    let mut s = String::new();
    push_tcp_flag_names(&mut s, flags);
    s
}

/// [`tcp_flag_names`], appended to `s`.
pub fn push_tcp_flag_names(s: &mut String, flags: u16) {
    const NAMES: [(u16, &str); 9] = [
        (tcp_flags::FIN, "FIN"),
        (tcp_flags::SYN, "SYN"),
        (tcp_flags::RST, "RST"),
        (tcp_flags::PSH, "PSH"),
        (tcp_flags::ACK, "ACK"),
        (tcp_flags::URG, "URG"),
        (tcp_flags::ECE, "ECE"),
        (tcp_flags::CWR, "CWR"),
        (tcp_flags::AE, "AE"),
    ];
    let mut first = true;
    for (_, name) in NAMES.iter().filter(|(bit, _)| flags & bit != 0) {
        if !first {
            s.push_str(", ");
        }
        s.push_str(name);
        first = false;
    }
    if first {
        s.push_str("<None>");
    }
}

/// `tcp.flags.str`: 12 positions, reserved bits first, a middle dot for each clear flag.
pub fn tcp_flags_str(flags: u16) -> String {
    const LETTERS: [char; 12] = ['R', 'R', 'R', 'A', 'C', 'E', 'U', 'A', 'P', 'R', 'S', 'F'];
    LETTERS
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if flags & (0x800 >> i) != 0 {
                c
            } else {
                '\u{b7}'
            }
        })
        .collect()
}

/// One HTTP message in the Info column, as tshark's HTTP dissector writes it: the first line
/// and a space, then what the body's dissector adds.
fn http_info(m: &crate::wire::http1::Message, s: &mut String) {
    use crate::wire::http1::Body;
    s.push_str(&super::safe_text(m.first_line()));
    s.push(' ');
    let named = match Body::of(m) {
        Some(Body::Json) => {
            s.push_str(", JavaScript Object Notation (application/json)");
            return;
        }
        Some(Body::Png) => "PNG",
        Some(Body::Jpeg) => "JPEG JFIF image",
        // tshark names the version the image's bytes give; GIF87a files, rare now, differ.
        Some(Body::Gif) => "GIF89a",
        Some(Body::TextLines | Body::Media | Body::Form) => {
            let t = m.media_type().unwrap_or_default();
            s.push_str(" (");
            s.push_str(&super::safe_text(&t.to_ascii_lowercase()));
            s.push(')');
            return;
        }
        Some(Body::Xml | Body::Multipart | Body::Data) | None => return,
    };
    s.push_str(" (");
    s.push_str(named);
    s.push(')');
}

/// TCP's analysis tags, which lead the Info column of whatever TCP carries.
fn tcp_analysis_tags(view: &PacketView<'_>, s: &mut String) {
    if let Some(info) = view.state.tcp.as_ref().filter(|i| i.analysis != 0) {
        // Wireshark prepends each tag as it adds it, so they appear in reverse order.
        for (flag, _, tag) in crate::tcp::analysis::TABLE.iter().rev() {
            if info.has(*flag) {
                match info.dup_ack {
                    Some((frame, n)) if *flag == crate::tcp::analysis::DUPLICATE_ACK => {
                        let _ = write!(s, "[{tag} {frame}#{n}] ");
                    }
                    _ => {
                        let _ = write!(s, "[{tag}] ");
                    }
                }
            }
        }
    }
}

fn tcp_info(view: &PacketView<'_>, t: &Tcp, s: &mut String) {
    tcp_analysis_tags(view, s);
    // tshark does not hand a retransmitted segment to reassembly, so it never shows one as a
    // segment of a PDU, even when its bytes are the first copy the capture has.
    let retransmitted = view.state.tcp.as_ref().is_some_and(|i| {
        use crate::tcp::analysis::{FAST_RETRANSMISSION, RETRANSMISSION, SPURIOUS_RETRANSMISSION};
        i.analysis & (RETRANSMISSION | FAST_RETRANSMISSION | SPURIOUS_RETRANSMISSION) != 0
    });
    let pdu_continued = view.state.pdu_continued && !retransmitted;
    if let Some(line) = view.state.pdu_first_line.as_ref().filter(|_| pdu_continued) {
        // What HTTP wrote before asking for the rest of its message: its first line (the
        // body's dissector has not run).
        s.push_str(&super::safe_text(line));
        s.push_str("  [TCP segment of a reassembled PDU]");
        return;
    }
    push_int(s, t.src_port);
    s.push_str(" → ");
    push_int(s, t.dst_port);
    s.push_str(" [");
    push_tcp_flag_names(s, t.flags);
    s.push(']');
    let (seq, ack, win) = match &view.state.tcp {
        Some(info) => (info.rel_seq, info.rel_ack, info.window),
        None => (t.seq, t.ack, u32::from(t.window)),
    };
    s.push_str(" Seq=");
    push_int(s, seq);
    if t.has(tcp_flags::ACK) {
        s.push_str(" Ack=");
        push_int(s, ack);
    }
    s.push_str(" Win=");
    push_int(s, win);
    if t.has(tcp_flags::URG) {
        s.push_str(" Urg=");
        push_int(s, t.urgent);
    }
    s.push_str(" Len=");
    push_int(s, t.payload_len);
    if let Some((tsval, tsecr)) = t.options.only_timestamp() {
        // Most segments: no need to read the frame (see `TcpOptions`).
        push_timestamp(s, tsval, tsecr);
    } else {
        tcp_option_info(view, t, s);
    }
    if pdu_continued {
        s.push_str(" [TCP segment of a reassembled PDU]");
    }
}

fn push_timestamp(s: &mut String, tsval: u32, tsecr: u32) {
    s.push_str(" TSval=");
    push_int(s, tsval);
    s.push_str(" TSecr=");
    push_int(s, tsecr);
}

/// The options in TCP's Info, in the order they appear.
fn tcp_option_info(view: &PacketView<'_>, t: &Tcp, s: &mut String) {
    let sack_base = view.state.tcp.as_ref().map(|i| i.sack_base);
    for o in t.options.items(view.data) {
        match o {
            TcpOption::Mss(m) => {
                s.push_str(" MSS=");
                push_int(s, m);
            }
            TcpOption::SackPermitted => s.push_str(" SACK_PERM"),
            TcpOption::WindowScale(w) => {
                s.push_str(" WS=");
                push_int(s, 1u32 << w.min(14));
            }
            TcpOption::Timestamp { tsval, tsecr } => push_timestamp(s, tsval, tsecr),
            TcpOption::Sack { count, blocks } => {
                for (l, r) in blocks.iter().take(usize::from(count)) {
                    let (l, r) =
                        sack_base.map_or((*l, *r), |b| (l.wrapping_sub(b), r.wrapping_sub(b)));
                    let _ = write!(s, " SLE={l} SRE={r}");
                }
            }
            _ => {}
        }
    }
}

fn icmp_type_name(t: u8) -> &'static str {
    match t {
        0 => "Echo (ping) reply",
        3 => "Destination unreachable",
        4 => "Source quench (flow control)",
        5 => "Redirect",
        8 => "Echo (ping) request",
        9 => "Router advertisement",
        10 => "Router solicitation",
        11 => "Time-to-live exceeded",
        12 => "Parameter problem",
        13 => "Timestamp request",
        14 => "Timestamp reply",
        15 => "Information request",
        16 => "Information reply",
        17 => "Address mask request",
        18 => "Address mask reply",
        _ => "Unknown ICMP (obsolete or malformed?)",
    }
}

fn icmp_code_name(t: u8, c: u8) -> Option<&'static str> {
    const UNREACH: [&str; 16] = [
        "Network unreachable",
        "Host unreachable",
        "Protocol unreachable",
        "Port unreachable",
        "Fragmentation needed",
        "Source route failed",
        "Destination network unknown",
        "Destination host unknown",
        "Source host isolated",
        "Network administratively prohibited",
        "Host administratively prohibited",
        "Network unreachable for TOS",
        "Host unreachable for TOS",
        "Communication administratively filtered",
        "Host precedence violation",
        "Precedence cutoff in effect",
    ];
    const REDIRECT: [&str; 4] = [
        "Redirect for network",
        "Redirect for host",
        "Redirect for TOS and network",
        "Redirect for TOS and host",
    ];
    const TTL: [&str; 2] = [
        "Time to live exceeded in transit",
        "Fragment reassembly time exceeded",
    ];
    const PARAM: [&str; 3] = [
        "Pointer indicates the error",
        "Required option missing",
        "Bad length",
    ];
    let c = usize::from(c);
    match t {
        3 => UNREACH.get(c).copied(),
        5 => REDIRECT.get(c).copied(),
        11 => TTL.get(c).copied(),
        12 => PARAM.get(c).copied(),
        9 => match c {
            0 => Some("Normal router advertisement"),
            16 => Some("Does not route common traffic"),
            _ => None,
        },
        _ => None,
    }
}

fn icmp_info(view: &PacketView<'_>, i: &Icmp, s: &mut String) {
    let _ = write!(s, "{:<20}", icmp_type_name(i.icmp_type));
    if let Some(code) = icmp_code_name(i.icmp_type, i.code) {
        let _ = write!(s, " ({code})");
    }
    if i.has_id_seq() {
        let ttl = view.rec.ipv4().map(|ip| ip.ttl).unwrap_or(0);
        let _ = write!(
            s,
            " id=0x{:04x}, seq={}/{}, ttl={ttl}",
            i.ident(),
            i.seq(),
            i.seq().swap_bytes()
        );
        echo_links(view, i.icmp_type == 8, s);
    }
}

/// What tshark appends to an echo's Info: the request of a reply; with a first pass (-2), the
/// reply of a request.
fn echo_links(view: &PacketView<'_>, request: bool, s: &mut String) {
    let later = &view.state.later;
    if let Some(req) = view.state.pairs.echo_reply_to.map(|m| m.request_frame) {
        let _ = write!(s, " (request in {req})");
    } else if request && later.resolved {
        match later.echo_reply_in {
            Some(reply) => {
                let _ = write!(s, " (reply in {reply})");
            }
            None => s.push_str(" (no response found!)"),
        }
    }
}

fn icmpv6_info(view: &PacketView<'_>, i: &Icmpv6, s: &mut String) {
    let name = match i.icmp_type {
        1 => "Destination Unreachable",
        2 => "Packet Too Big",
        3 => "Time Exceeded",
        4 => "Parameter Problem",
        128 => "Echo (ping) request",
        129 => "Echo (ping) reply",
        130 => "Multicast Listener Query",
        131 => "Multicast Listener Report",
        132 => "Multicast Listener Done",
        133 => "Router Solicitation",
        134 => "Router Advertisement",
        135 => "Neighbor Solicitation",
        136 => "Neighbor Advertisement",
        137 => "Redirect",
        143 => "Multicast Listener Report Message v2",
        _ => "Unknown ICMPv6 type",
    };
    s.push_str(name);
    if i.is_echo() {
        let hlim = view.rec.ipv6().map(|ip| ip.hop_limit).unwrap_or(0);
        let _ = write!(
            s,
            " id=0x{:04x}, seq={}, hop limit={hlim}",
            i.ident(),
            i.seq()
        );
        echo_links(view, i.icmp_type == 128, s);
    }
}

fn arp_info(a: &Arp, s: &mut String) {
    let ip = |x: Option<[u8; 4]>| x.map(|v| Ipv4Addr::from(v).to_string()).unwrap_or_default();
    let mac = |x: Option<[u8; 6]>| {
        let mut m = String::new();
        if let Some(v) = x {
            write_mac(&v, &mut m);
        }
        m
    };
    let (spa, tpa) = (ip(a.src_ip), ip(a.dst_ip));
    let _ = match a.opcode {
        1 if a.src_ip == Some([0, 0, 0, 0]) => write!(s, "Who has {tpa}? (ARP Probe)"),
        1 if a.src_ip == a.dst_ip => write!(s, "ARP Announcement for {spa}"),
        1 => write!(s, "Who has {tpa}? Tell {spa}"),
        2 if a.src_ip == a.dst_ip => write!(s, "Gratuitous ARP for {spa} (Reply)"),
        2 => write!(s, "{spa} is at {}", mac(a.src_hw)),
        3 => write!(s, "Who is {}? Tell {}", mac(a.dst_hw), mac(a.src_hw)),
        4 => write!(s, "{} is at {tpa}", mac(a.dst_hw)),
        op => write!(s, "Unknown ARP opcode 0x{op:04x}"),
    };
}

fn dns_info(m: &DnsMessage, s: &mut String) {
    s.push_str(dns::opcode_name(m.opcode()));
    if m.is_response() {
        s.push_str(" response");
    }
    let _ = write!(s, " 0x{:04x}", m.id);
    if m.is_response() && m.rcode() != 0 {
        let _ = write!(s, " {}", dns::rcode_name(m.rcode()));
    }
    for q in &m.questions {
        let _ = write!(s, " {} {}", dns::type_name(q.qtype), q.name);
    }
    for r in m.records() {
        let _ = write!(s, " {}", dns::type_name(r.rtype));
        match &r.data {
            RData::A(a) => {
                let _ = write!(s, " {}", Ipv4Addr::from(*a));
            }
            RData::Aaaa(a) => {
                let _ = write!(s, " {}", Ipv6Addr::from(*a));
            }
            RData::Name(n) => {
                let _ = write!(s, " {n}");
            }
            RData::Mx {
                preference,
                exchange,
            } => {
                let _ = write!(s, " {preference} {exchange}");
            }
            RData::Soa { mname, .. } => {
                let _ = write!(s, " {mname}");
            }
            RData::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                let _ = write!(s, " {priority} {weight} {port} {target}");
            }
            RData::Txt(_) | RData::Other | RData::Bad => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows come out in order and whole, below, at and past one task's worth, and when rows
    /// are of uneven length and some write nothing.
    #[test]
    fn rows_come_out_as_one_thread_writes_them() {
        let row = |s: &mut String, n: &usize| {
            if n % 7 != 3 {
                s.push_str(&"x".repeat(n % 13));
                push_int(s, *n);
                s.push('\n');
            }
        };
        for len in [
            0,
            1,
            ROWS_PER_TASK,
            ROWS_PER_TASK + 1,
            5 * ROWS_PER_TASK + 17,
        ] {
            let items: Vec<usize> = (0..len).collect();
            let mut one = String::from("head\n");
            items.iter().for_each(|n| row(&mut one, n));
            let mut rows = String::from("head\n");
            push_rows(&mut rows, &items, row);
            assert_eq!(rows, one, "{len} rows");
        }
    }

    #[test]
    fn flag_texts() {
        assert_eq!(tcp_flag_names(0x012), "SYN, ACK");
        assert_eq!(tcp_flag_names(0x0c2), "SYN, ECE, CWR");
        assert_eq!(tcp_flag_names(0), "<None>");
        assert_eq!(tcp_flags_str(0x012), "·······A··S·");
    }

    #[test]
    fn milliseconds_have_three_decimals() {
        assert_eq!(ms(1_500_000), "1.500");
        assert_eq!(ms(123_456_789), "123.457");
        assert_eq!(ms(999), "0.001");
        assert_eq!(ms(0), "0.000");
        assert_eq!(ms(-2_000_000), "-2.000");
    }

    #[test]
    fn milliseconds_in_integers_are_what_the_float_gives() {
        let float = |ns: i64| format!("{:.3}", ns as f64 / 1e6);
        // Ties (a remainder of 500 ns), values rounding to zero either side, carries into the
        // integer part, and both ends of the integer route.
        let mut cases = vec![
            0, 1, 499, 500, 501, 999, 1000, 2500, 999_499, 999_500, 999_999,
        ];
        cases.extend([1 << 50, (1 << 50) - 1, (1 << 50) + 1, i64::MAX, i64::MIN]);
        // Ties: their doubles fall either side (0.0045 is a little less, 0.0025 a little more).
        cases.extend((0..2000).map(|k| k * 1000 + 500));
        // And a spread of magnitudes, each with its neighbours.
        let mut x: i64 = 7;
        while x < (1 << 52) {
            cases.extend([x - 1, x, x + 1]);
            x = x * 3 + 11;
        }
        for ns in cases.clone() {
            for ns in [ns, ns.saturating_neg()] {
                assert_eq!(ms(ns), float(ns), "{ns}");
            }
        }
    }

    #[test]
    fn table_lines_pad_as_format_would() {
        let columns = [
            Column::right("n", 4),
            Column::left("name→", 8).wide_gap(),
            Column::left("last", 0),
        ];
        let mut s = String::new();
        header_line(&mut s, &columns);
        // Titles pad by characters, as `format!` does ("→" is three bytes).
        assert_eq!(s, format!("{:>4}  {:<8} {}\n", "n", "name→", "last"));
        s.clear();
        let mut row = Row::new(&mut s, &columns);
        row.cell(|s| push_int(s, 12345)); // wider than its column: not cut
        row.text("é");
        row.text(""); // the unpadded last column, empty
        row.text("extra"); // past the last column: after a space
        row.end();
        assert_eq!(s, format!("{:>4}  {:<8} {} {}\n", 12345, "é", "", "extra"));
        // Wider pads than the 32 spaces kept ready (stats' address column is 40).
        let wide = [Column::left("A <-> B", 40), Column::right("n", 41)];
        s.clear();
        header_line(&mut s, &wide);
        assert_eq!(s, format!("{:<40} {:>41}\n", "A <-> B", "n"));
    }

    /// Every octet value in every position, and addresses whose octets vary in length.
    #[test]
    fn ipv4_addresses_are_written_as_display_writes_them() {
        let mut s = String::new();
        let mut check = |addr: [u8; 4]| {
            s.clear();
            s.push('x');
            push_ipv4(&mut s, addr);
            assert_eq!(s, format!("x{}", std::net::Ipv4Addr::from(addr)));
        };
        for v in 0..=255u8 {
            for at in 0..4 {
                for fill in [0, 9, 10, 99, 100, 255] {
                    let mut addr = [fill; 4];
                    addr[at] = v;
                    check(addr);
                }
            }
        }
        let mut x = 0x1234_5678u32;
        for _ in 0..10_000 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            check(x.to_be_bytes());
        }
    }

    #[test]
    fn ipv4_width_is_what_push_ipv4_writes() {
        for addr in [
            [0, 0, 0, 0],
            [10, 0, 1, 10],
            [9, 10, 99, 100],
            [255; 4],
            [192, 168, 1, 255],
        ] {
            let mut s = String::new();
            push_ipv4(&mut s, addr);
            assert_eq!(s, std::net::Ipv4Addr::from(addr).to_string());
            assert_eq!(ipv4_width(addr), s.len(), "{s}");
        }
    }
}
