//! The field table. Names, types and display bases follow `tshark -G fields` of Wireshark 4.0;
//! each entry says how to find its values in a decoded packet.

use std::borrow::Cow;

use super::{Display, Emit, Extract, FieldDef, FieldType, PacketView, ProtoTag, Stage, Value};
use crate::app::http::HttpMessage;
use crate::decode::{Layer, Proto, TcpOption, tcp_flags};
use crate::wire::dns::{DnsMessage, RData, Record};
use crate::wire::http1::StartLine;

/// A field read from one layer. `$p` binds the layer's repr (the `Proto` variant's content).
macro_rules! layer {
    ($abbrev:literal, $label:literal, $ty:expr, $disp:expr, $tag:ident, $variant:ident,
     |$p:ident, $l:ident, $v:ident, $emit:ident| $body:expr) => {{
        fn ex<'a>($l: &'a Layer, $v: &PacketView<'a>, $emit: Emit<'_, 'a>) {
            let _ = &$v;
            if let Proto::$variant($p) = &$l.proto {
                $body
            }
        }
        FieldDef {
            abbrev: $abbrev,
            label: $label,
            ty: $ty,
            display: $disp,
            proto: ProtoTag::$tag,
            stage: Stage::Packet,
            extract: Extract::Layer(ex),
        }
    }};
}

/// A field computed once per frame; `$stage` says whether it needs the ordered stage.
macro_rules! frame {
    ($abbrev:literal, $label:literal, $ty:expr, $disp:expr, $tag:ident, $stage:ident,
     |$v:ident, $emit:ident| $body:expr) => {{
        fn ex<'a>($v: &PacketView<'a>, $emit: Emit<'_, 'a>) {
            $body
        }
        FieldDef {
            abbrev: $abbrev,
            label: $label,
            ty: $ty,
            display: $disp,
            proto: ProtoTag::$tag,
            stage: Stage::$stage,
            extract: Extract::Frame(ex),
        }
    }};
}

/// A field of an application message (HTTP) completed on the frame. `$m` binds the message.
macro_rules! message {
    ($abbrev:literal, $label:literal, $ty:expr, $stage:ident, |$m:ident, $v:ident, $emit:ident| $body:expr) => {{
        fn ex<'a>($m: &'a HttpMessage, $v: &PacketView<'a>, $emit: Emit<'_, 'a>) {
            let _ = &$v;
            $body
        }
        FieldDef {
            abbrev: $abbrev,
            label: $label,
            ty: $ty,
            display: Display::Dec,
            proto: ProtoTag::Http,
            stage: Stage::$stage,
            extract: Extract::Message(ex),
        }
    }};
}

use Display::{Dec, Hex};
use FieldType as T;

const U8: T = T::Uint(8);
const U16: T = T::Uint(16);
const U32: T = T::Uint(32);

fn uint(v: impl Into<u64>) -> Value<'static> {
    Value::Uint(v.into())
}

fn flag(word: u16, bit: u16) -> Value<'static> {
    Value::Bool(word & bit != 0)
}

fn ipv4_text(a: &[u8; 4]) -> Value<'static> {
    Value::Str(Cow::Owned(std::net::Ipv4Addr::from(*a).to_string()))
}

fn ipv6_text(a: &[u8; 16]) -> Value<'static> {
    Value::Str(Cow::Owned(std::net::Ipv6Addr::from(*a).to_string()))
}

fn dns_records<'a>(m: &'a DnsMessage, emit: Emit<'_, 'a>, f: fn(&'a Record) -> Option<Value<'a>>) {
    for r in m.records() {
        if let Some(v) = f(r) {
            emit(v);
        }
    }
}

/// The `frame.protocols` string, e.g. `eth:ethertype:ip:tcp`.
pub fn protocols(view: &PacketView<'_>) -> String {
    let mut s = String::new();
    let mut push = |p: &str| {
        if !s.is_empty() {
            s.push(':');
        }
        s.push_str(p);
    };
    let mut prev: Option<&Proto> = None;
    for l in view.rec.layers.iter() {
        let proto = &l.proto;
        match proto {
            Proto::Ethernet(e) => {
                push("eth");
                if e.ethertype.is_some() {
                    push("ethertype");
                }
            }
            Proto::Sll(_) => {
                push("sll");
                push("ethertype");
            }
            Proto::Vlan(v) => {
                push(if v.is_8021ad() { "ieee8021ad" } else { "vlan" });
                push("ethertype");
            }
            Proto::Ipv6Ext(x) => push(x.proto_name()),
            // tshark hands TCP payload to a subdissector (or to reassembly) and lists no `data`.
            Proto::Data if matches!(prev, Some(Proto::Tcp(_))) => {}
            p => {
                if let Some(tag) = ProtoTag::of(p) {
                    push(tag.abbrev());
                }
            }
        }
        prev = Some(proto);
    }
    // HTTP, on the frames that complete its messages, and each body's dissector after it.
    if view.state.http_continuation {
        push("http");
        push("data");
    } else if !view.state.http.is_empty() {
        push("http");
        for m in &view.state.http {
            if let Some(body) = crate::wire::http1::Body::of(&m.msg) {
                push(body.abbrev());
            }
        }
    }
    let custom = view.rec.meta.kind != crate::decode::FrameKind::Packet;
    if custom {
        push("data");
    }
    s
}

/// `tcp.analysis.*`: one presence field per analysis flag, from [`crate::tcp::analysis::TABLE`].
fn tcp_analysis_fields() -> Vec<FieldDef> {
    use crate::tcp::analysis as a;
    // A fn pointer cannot capture the flag, so each flag gets its own monomorphic extractor.
    fn ex<'a, const FLAG: u32>(v: &PacketView<'a>, e: Emit<'_, 'a>) {
        if let Some(t) = &v.state.tcp {
            // Wireshark adds `retransmission` to fast and spurious retransmissions too.
            let also = if FLAG == a::RETRANSMISSION {
                a::FAST_RETRANSMISSION | a::SPURIOUS_RETRANSMISSION
            } else {
                0
            };
            if t.analysis & (FLAG | also) != 0 {
                e(Value::Present);
                // tshark's tree holds the duplicate-ACK item twice (the flag and its expert
                // item), so `-T fields` prints `1,1`; we list the same occurrences.
                if FLAG == a::DUPLICATE_ACK {
                    e(Value::Present)
                }
            }
        }
    }
    macro_rules! flag_field {
        ($flag:expr, $name:literal, $label:literal) => {
            FieldDef {
                abbrev: concat!("tcp.analysis.", $name),
                label: $label,
                ty: T::None,
                display: Dec,
                proto: ProtoTag::Tcp,
                stage: Stage::Flow,
                extract: Extract::Frame(ex::<{ $flag }>),
            }
        };
    }
    let defs = vec![
        flag_field!(
            a::RETRANSMISSION,
            "retransmission",
            "This frame is a (suspected) retransmission"
        ),
        flag_field!(
            a::FAST_RETRANSMISSION,
            "fast_retransmission",
            "This frame is a (suspected) fast retransmission"
        ),
        flag_field!(
            a::SPURIOUS_RETRANSMISSION,
            "spurious_retransmission",
            "This frame is a (suspected) spurious retransmission"
        ),
        flag_field!(
            a::OUT_OF_ORDER,
            "out_of_order",
            "This frame is a (suspected) out-of-order segment"
        ),
        flag_field!(
            a::LOST_SEGMENT,
            "lost_segment",
            "Previous segment(s) not captured (common at capture start)"
        ),
        flag_field!(
            a::ACK_LOST_SEGMENT,
            "ack_lost_segment",
            "ACKed segment that wasn't captured (common at capture start)"
        ),
        flag_field!(
            a::WINDOW_UPDATE,
            "window_update",
            "This is a TCP window update"
        ),
        flag_field!(
            a::WINDOW_FULL,
            "window_full",
            "The transmission window is now completely full"
        ),
        flag_field!(
            a::KEEP_ALIVE,
            "keep_alive",
            "This is a TCP keep-alive segment"
        ),
        flag_field!(
            a::KEEP_ALIVE_ACK,
            "keep_alive_ack",
            "This is an ACK to a TCP keep-alive segment"
        ),
        flag_field!(
            a::DUPLICATE_ACK,
            "duplicate_ack",
            "This is a TCP duplicate ack"
        ),
        flag_field!(
            a::ZERO_WINDOW_PROBE,
            "zero_window_probe",
            "This is a TCP zero-window-probe"
        ),
        flag_field!(
            a::ZERO_WINDOW,
            "zero_window",
            "This is a ZeroWindow segment"
        ),
        flag_field!(
            a::ZERO_WINDOW_PROBE_ACK,
            "zero_window_probe_ack",
            "This is an ACK to a TCP zero-window-probe"
        ),
        flag_field!(
            a::REUSED_PORTS,
            "reused_ports",
            "A new tcp session is started with the same ports as an earlier session in this trace"
        ),
    ];
    debug_assert_eq!(defs.len(), a::TABLE.len());
    defs
}

/// The request an ICMP (or, with `v6`, ICMPv6) echo reply answers, if this frame is one.
fn echo_reply(v: &PacketView<'_>, v6: bool) -> Option<crate::app::Matched> {
    let is_echo_proto = |p: &Proto| {
        if v6 {
            matches!(p, Proto::Icmpv6(_))
        } else {
            matches!(p, Proto::Icmp(_))
        }
    };
    v.rec
        .layers
        .iter()
        .any(|l| is_echo_proto(&l.proto))
        .then_some(v.state.pairs.echo_reply_to)
        .flatten()
}

/// A frame-level field of protocol `tag`, read by `f`: for the families of fields below whose
/// IPv4 and IPv6 (or ICMP and ICMPv6) members share one const-generic extractor.
fn frame_def(
    tag: ProtoTag,
    (abbrev, label): (&'static str, &'static str),
    ty: FieldType,
    stage: Stage,
    f: for<'a> fn(&PacketView<'a>, Emit<'_, 'a>),
) -> FieldDef {
    FieldDef {
        abbrev,
        label,
        ty,
        display: Dec,
        proto: tag,
        stage,
        extract: Extract::Frame(f),
    }
}

/// An ICMP (with `v6`, ICMPv6) echo-pairing field read from one of the extractors below.
fn echo_def(
    names: (&'static str, &'static str),
    ty: FieldType,
    v6: bool,
    stage: Stage,
    f: for<'a> fn(&PacketView<'a>, Emit<'_, 'a>),
) -> FieldDef {
    let tag = if v6 { ProtoTag::Icmpv6 } else { ProtoTag::Icmp };
    frame_def(tag, names, ty, stage, f)
}

/// The IPv4 (with `V6`, IPv6) datagram this frame's fragment completed.
fn reassembly<'a, const V6: bool>(v: &PacketView<'a>) -> Option<&'a crate::engine::IpReassembly> {
    v.state.ip_reassembly.as_ref().filter(|r| r.v6 == V6)
}

/// `ip.fragment`: the frames of the datagram's fragments, in offset order.
fn fragment_frames<'a, const V6: bool>(v: &PacketView<'a>, e: Emit<'_, 'a>) {
    for p in reassembly::<V6>(v).map_or(&[][..], |r| &r.pieces) {
        e(uint(p.frame))
    }
}

/// `ip.fragment.count`.
fn fragment_count<'a, const V6: bool>(v: &PacketView<'a>, e: Emit<'_, 'a>) {
    if let Some(r) = reassembly::<V6>(v) {
        e(uint(r.pieces.len() as u64))
    }
}

/// `ip.reassembled.length`: the reassembled payload's length.
fn reassembled_length<'a, const V6: bool>(v: &PacketView<'a>, e: Emit<'_, 'a>) {
    if let Some(r) = reassembly::<V6>(v) {
        e(uint(r.length))
    }
}

/// `ip.reassembled_in`: on an earlier fragment, the frame that completed its datagram (from a
/// first pass).
fn reassembled_in<'a, const V6: bool>(v: &PacketView<'a>, e: Emit<'_, 'a>) {
    let is_fragment = v.rec.layers.iter().any(|l| match &l.proto {
        Proto::Ipv4(ip) => !V6 && !l.quoted && ip.is_fragment(),
        Proto::Ipv6(ip) => V6 && !l.quoted && ip.fragment.is_some(),
        _ => false,
    });
    if let Some(f) = v.state.later.reassembled_in.filter(|_| is_fragment) {
        e(uint(f))
    }
}

/// IP fragment reassembly: tshark's `ip.fragment` tree on the completing frame.
fn reassembly_fields() -> Vec<FieldDef> {
    use ProtoTag::{Ip, Ipv6};
    use Stage::{Flow, Later};
    vec![
        frame_def(
            Ip,
            ("ip.fragment", "IPv4 Fragment"),
            T::FrameNum,
            Flow,
            fragment_frames::<false>,
        ),
        frame_def(
            Ip,
            ("ip.fragment.count", "Fragment count"),
            U32,
            Flow,
            fragment_count::<false>,
        ),
        frame_def(
            Ip,
            ("ip.reassembled.length", "Reassembled IPv4 length"),
            U32,
            Flow,
            reassembled_length::<false>,
        ),
        frame_def(
            Ip,
            ("ip.reassembled_in", "Reassembled IPv4 in frame"),
            T::FrameNum,
            Later,
            reassembled_in::<false>,
        ),
        frame_def(
            Ipv6,
            ("ipv6.fragment", "IPv6 Fragment"),
            T::FrameNum,
            Flow,
            fragment_frames::<true>,
        ),
        frame_def(
            Ipv6,
            ("ipv6.fragment.count", "Fragment count"),
            U32,
            Flow,
            fragment_count::<true>,
        ),
        frame_def(
            Ipv6,
            ("ipv6.reassembled.length", "Reassembled IPv6 length"),
            U32,
            Flow,
            reassembled_length::<true>,
        ),
        frame_def(
            Ipv6,
            ("ipv6.reassembled.in", "Reassembled IPv6 in frame"),
            T::FrameNum,
            Later,
            reassembled_in::<true>,
        ),
    ]
}

/// `icmp.resp_to`: the request an echo reply answers.
fn resp_to<'a, const V6: bool>(v: &PacketView<'a>, e: Emit<'_, 'a>) {
    if let Some(m) = echo_reply(v, V6) {
        e(uint(m.request_frame))
    }
}

/// `icmp.resptime`: milliseconds since that request.
fn resptime<'a, const V6: bool>(v: &PacketView<'a>, e: Emit<'_, 'a>) {
    if let Some(m) = echo_reply(v, V6) {
        e(Value::Double(m.elapsed_ns as f64 / 1e6))
    }
}

/// `icmp.resp_in`: the reply to an echo request (from a first pass).
fn resp_in<'a, const V6: bool>(v: &PacketView<'a>, e: Emit<'_, 'a>) {
    if let Some(f) = v
        .state
        .later
        .echo_reply_in
        .filter(|_| is_echo_request(v, V6))
    {
        e(uint(f))
    }
}

/// Request/response pairing fields (single pass: the `*_to` side, as tshark without -2).
fn pairing_fields() -> Vec<FieldDef> {
    vec![
        echo_def(
            ("icmp.resp_to", "Response to"),
            T::FrameNum,
            false,
            Stage::Flow,
            resp_to::<false>,
        ),
        echo_def(
            ("icmp.resptime", "Response time (ms)"),
            T::Double,
            false,
            Stage::Flow,
            resptime::<false>,
        ),
        echo_def(
            ("icmpv6.resp_to", "Response To"),
            T::FrameNum,
            true,
            Stage::Flow,
            resp_to::<true>,
        ),
        echo_def(
            ("icmpv6.resptime", "Response Time (ms)"),
            T::Double,
            true,
            Stage::Flow,
            resptime::<true>,
        ),
        frame!(
            "dns.response_to",
            "Request In",
            T::FrameNum,
            Dec,
            Dns,
            Flow,
            |v, e| {
                if let Some(m) = v.state.pairs.dns_response_to {
                    e(uint(m.request_frame))
                }
            }
        ),
        frame!("dns.time", "Time", T::RelTime, Dec, Dns, Flow, |v, e| {
            if let Some(m) = v.state.pairs.dns_response_to {
                e(Value::RelTime(m.elapsed_ns))
            }
        }),
        frame!(
            "dns.retransmission",
            "Retransmission",
            T::Bool,
            Dec,
            Dns,
            Flow,
            |v, e| {
                if v.state.pairs.dns_retransmission_of.is_some() {
                    e(Value::Bool(true))
                }
            }
        ),
        frame!(
            "dns.retransmit_request_in",
            "Retransmitted request. Original request in",
            T::FrameNum,
            Dec,
            Dns,
            Flow,
            |v, e| {
                if let Some(f) = v.state.pairs.dns_retransmission_of {
                    e(uint(f))
                }
            }
        ),
        frame!(
            "dns.unsolicited",
            "Unsolicited",
            T::Bool,
            Dec,
            Dns,
            Flow,
            |v, e| {
                if v.state.pairs.dns_unsolicited {
                    e(Value::Bool(true))
                }
            }
        ),
    ]
}

fn text<'a>(s: Option<&'a str>, e: Emit<'_, 'a>) {
    if let Some(s) = s {
        e(Value::Str(Cow::Borrowed(s)))
    }
}

/// Part `i` of a request line (method, URI, version).
fn request_part<'a>(m: &'a HttpMessage, i: usize, e: Emit<'_, 'a>) {
    if let StartLine::Request { method, uri, .. } = m.msg.start {
        let part = match i {
            0 => method,
            1 => m.msg.get(uri),
            _ => m.msg.version(),
        };
        e(Value::Str(Cow::Borrowed(part)))
    }
}

/// HTTP fields, on the frame that completes each message (as tshark -2 shows them).
fn http_fields() -> Vec<FieldDef> {
    vec![
        message!("http.response", "Response", T::Bool, Flow, |m, v, e| {
            if !m.msg.is_request() {
                e(Value::Bool(true))
            }
        }),
        message!("http.request", "Request", T::Bool, Flow, |m, v, e| {
            if m.msg.is_request() {
                e(Value::Bool(true))
            }
        }),
        message!(
            "http.request.method",
            "Request Method",
            T::String,
            Flow,
            |m, v, e| request_part(m, 0, e)
        ),
        message!(
            "http.request.uri",
            "Request URI",
            T::String,
            Flow,
            |m, v, e| request_part(m, 1, e)
        ),
        message!(
            "http.request.version",
            "Request Version",
            T::String,
            Flow,
            |m, v, e| request_part(m, 2, e)
        ),
        message!(
            "http.response.version",
            "Response Version",
            T::String,
            Flow,
            |m, v, e| {
                if !m.msg.is_request() {
                    e(Value::Str(Cow::Borrowed(m.msg.version())))
                }
            }
        ),
        message!("http.response.code", "Status Code", U16, Flow, |m, v, e| {
            if let StartLine::Response { code, .. } = &m.msg.start {
                e(uint(*code))
            }
        }),
        message!(
            "http.response.phrase",
            "Response Phrase",
            T::String,
            Flow,
            |m, v, e| {
                if let Some((_, phrase)) = m.msg.status() {
                    e(Value::Str(Cow::Borrowed(phrase)))
                }
            }
        ),
        message!("http.host", "Host", T::String, Flow, |m, v, e| text(
            m.msg.host(),
            e
        )),
        message!(
            "http.user_agent",
            "User-Agent",
            T::String,
            Flow,
            |m, v, e| text(m.msg.user_agent(), e)
        ),
        message!(
            "http.content_type",
            "Content-Type",
            T::String,
            Flow,
            |m, v, e| text(m.msg.content_type(), e)
        ),
        message!(
            "http.content_length",
            "Content length",
            T::Uint(64),
            Flow,
            |m, v, e| {
                if let Some(n) = m.msg.content_length {
                    e(uint(n))
                }
            }
        ),
        message!(
            "http.request.full_uri",
            "Full request URI",
            T::String,
            Flow,
            |m, v, e| {
                if let (Some(method), Some(uri), Some(host)) =
                    (m.msg.method(), m.msg.uri(), m.msg.host())
                {
                    let absolute = uri
                        .get(..7)
                        .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
                        || uri
                            .get(..8)
                            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
                        || method == "CONNECT";
                    e(Value::Str(if absolute {
                        Cow::Borrowed(uri)
                    } else {
                        Cow::Owned(format!("http://{}{uri}", host.trim()))
                    }))
                }
            }
        ),
        message!(
            "http.time",
            "Time since request",
            T::RelTime,
            Flow,
            |m, v, e| {
                if let Some(r) = m.request_in {
                    let now = v.rec.meta.ts_ns.unwrap_or(0);
                    e(Value::RelTime(now.saturating_sub(r.ts_ns)))
                }
            }
        ),
        message!(
            "http.request_in",
            "Request in frame",
            T::FrameNum,
            Flow,
            |m, v, e| {
                if let Some(r) = m.request_in {
                    e(uint(r.frame))
                }
            }
        ),
        message!(
            "http.response_in",
            "Response in frame",
            T::FrameNum,
            Later,
            |m, v, e| {
                if m.msg.is_request()
                    && let Some(f) = v.state.later.http_response_in
                {
                    e(uint(f))
                }
            }
        ),
    ]
}

/// tshark's second-pass links from a request to its answer.
fn later_fields() -> Vec<FieldDef> {
    vec![
        echo_def(
            ("icmp.resp_in", "Response frame"),
            T::FrameNum,
            false,
            Stage::Later,
            resp_in::<false>,
        ),
        echo_def(
            ("icmpv6.resp_in", "Response In"),
            T::FrameNum,
            true,
            Stage::Later,
            resp_in::<true>,
        ),
        frame!(
            "dns.response_in",
            "Response In",
            T::FrameNum,
            Dec,
            Dns,
            Later,
            |v, e| {
                if let Some(f) = v.state.later.dns_response_in {
                    e(uint(f))
                }
            }
        ),
    ]
}

/// Is this frame an ICMP (with `v6`, ICMPv6) echo request?
fn is_echo_request(v: &PacketView<'_>, v6: bool) -> bool {
    v.rec
        .layers
        .iter()
        .filter(|l| !l.quoted)
        .any(|l| match &l.proto {
            Proto::Icmp(i) => !v6 && i.icmp_type == 8,
            Proto::Icmpv6(i) => v6 && i.icmp_type == 128,
            _ => false,
        })
}

pub fn fields() -> Vec<FieldDef> {
    let mut all = base_fields();
    all.extend(pairing_fields());
    all.extend(later_fields());
    all.extend(reassembly_fields());
    all.extend(http_fields());
    all.extend(tcp_analysis_fields());
    all.extend(vec![
        frame!(
            "tcp.analysis.flags",
            "TCP Analysis Flags",
            T::None,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if v.state.tcp.as_ref().is_some_and(|t| t.analysis != 0) {
                    e(Value::Present)
                }
            }
        ),
        frame!(
            "tcp.analysis.duplicate_ack_num",
            "Duplicate ACK #",
            U32,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if let Some((_, n)) = v.state.tcp.as_ref().and_then(|t| t.dup_ack) {
                    e(uint(n))
                }
            }
        ),
        frame!(
            "tcp.analysis.duplicate_ack_frame",
            "Duplicate to the ACK in frame",
            T::FrameNum,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if let Some((f, _)) = v.state.tcp.as_ref().and_then(|t| t.dup_ack) {
                    e(uint(f))
                }
            }
        ),
        frame!(
            "tcp.time_relative",
            "Time since first frame in this TCP stream",
            T::RelTime,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if let Some(t) = &v.state.tcp {
                    e(Value::RelTime(t.time_relative_ns))
                }
            }
        ),
        frame!(
            "tcp.time_delta",
            "Time since previous frame in this TCP stream",
            T::RelTime,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if let Some(t) = &v.state.tcp {
                    e(Value::RelTime(t.time_delta_ns))
                }
            }
        ),
        frame!(
            "tcp.analysis.acks_frame",
            "This is an ACK to the segment in frame",
            T::FrameNum,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if let Some((f, _)) = v.state.tcp.as_ref().and_then(|t| t.acked) {
                    e(uint(f))
                }
            }
        ),
        frame!(
            "tcp.analysis.ack_rtt",
            "The RTT to ACK the segment was",
            T::RelTime,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if let Some((_, ns)) = v.state.tcp.as_ref().and_then(|t| t.acked) {
                    e(Value::RelTime(ns))
                }
            }
        ),
        // tshark shows iRTT inside its SEQ/ACK analysis subtree, which a segment has only when it
        // acknowledges a segment, carries data or has an analysis flag.
        frame!(
            "tcp.analysis.initial_rtt",
            "iRTT",
            T::RelTime,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                let Some(t) = &v.state.tcp else { return };
                let has_tree = t.acked.is_some()
                    || t.analysis != 0
                    || v.rec.tcp().is_some_and(|(_, h)| h.payload_len > 0);
                if let (Some(ns), true) = (t.initial_rtt_ns, has_tree) {
                    e(Value::RelTime(ns))
                }
            }
        ),
    ]);
    all
}

fn base_fields() -> Vec<FieldDef> {
    vec![
        // ---- frame
        frame!(
            "frame.number",
            "Frame Number",
            T::FrameNum,
            Dec,
            Frame,
            Packet,
            |v, e| e(uint(v.rec.meta.number))
        ),
        frame!(
            "frame.len",
            "Frame Length",
            U32,
            Dec,
            Frame,
            Packet,
            |v, e| e(uint(v.rec.meta.origlen))
        ),
        frame!(
            "frame.cap_len",
            "Capture Length",
            U32,
            Dec,
            Frame,
            Packet,
            |v, e| e(uint(v.rec.meta.caplen))
        ),
        frame!(
            "frame.time_epoch",
            "Epoch Time",
            T::AbsTime,
            Dec,
            Frame,
            Packet,
            |v, e| {
                if let Some(ts) = v.rec.meta.ts_ns {
                    e(Value::AbsTime(ts))
                }
            }
        ),
        frame!(
            "frame.time_relative",
            "Time since reference or first frame",
            T::RelTime,
            Dec,
            Frame,
            Flow,
            |v, e| {
                if let Some(t) = v.state.time_relative_ns {
                    e(Value::RelTime(t))
                }
            }
        ),
        frame!(
            "frame.time_delta",
            "Time delta from previous captured frame",
            T::RelTime,
            Dec,
            Frame,
            Flow,
            |v, e| {
                if let Some(t) = v.state.time_delta_ns {
                    e(Value::RelTime(t))
                }
            }
        ),
        frame!(
            "frame.interface_id",
            "Interface id",
            U32,
            Dec,
            Frame,
            Packet,
            |v, e| e(uint(v.rec.meta.interface_id))
        ),
        frame!(
            "frame.encap_type",
            "Encapsulation type (link type)",
            U16,
            Dec,
            Frame,
            Packet,
            |v, e| e(uint(v.rec.meta.linktype))
        ),
        frame!(
            "frame.protocols",
            "Protocols in frame",
            T::String,
            Dec,
            Frame,
            Packet,
            |v, e| e(Value::Str(Cow::Owned(protocols(v))))
        ),
        frame!(
            "_ws.malformed",
            "Malformed Packet",
            T::None,
            Dec,
            Frame,
            Packet,
            |v, e| {
                if v.rec.malformed.is_some_and(|m| !m.is_truncation()) {
                    e(Value::Present)
                }
            }
        ),
        frame!(
            "_ws.malformed.reason",
            "Malformed Packet reason",
            T::String,
            Dec,
            Frame,
            Packet,
            |v, e| {
                if let Some(m) = v.rec.malformed {
                    e(Value::Str(Cow::Owned(m.to_string())))
                }
            }
        ),
        // ---- Ethernet
        // tshark shows no Ethernet field when the 14-byte header was cut by the snaplen (its
        // type is then unknown); the summary still shows the destination.
        layer!(
            "eth.dst",
            "Destination",
            T::Ether,
            Dec,
            Eth,
            Ethernet,
            |p, _l, _v, e| {
                if p.ethertype.is_some() {
                    e(Value::Ether(p.dst))
                }
            }
        ),
        layer!(
            "eth.src",
            "Source",
            T::Ether,
            Dec,
            Eth,
            Ethernet,
            |p, _l, _v, e| {
                if let Some(src) = p.src {
                    e(Value::Ether(src))
                }
            }
        ),
        layer!(
            "eth.addr",
            "Address",
            T::Ether,
            Dec,
            Eth,
            Ethernet,
            |p, _l, _v, e| {
                e(Value::Ether(p.dst));
                if let Some(src) = p.src {
                    e(Value::Ether(src))
                }
            }
        ),
        layer!(
            "eth.type",
            "Type",
            U16,
            Hex(4),
            Eth,
            Ethernet,
            |p, _l, _v, e| {
                if let Some(t) = p.ethertype {
                    e(uint(t))
                }
            }
        ),
        layer!(
            "eth.dst.ig",
            "IG bit",
            T::Bool,
            Dec,
            Eth,
            Ethernet,
            |p, _l, _v, e| e(Value::Bool(p.dst[0] & 1 != 0))
        ),
        layer!(
            "eth.dst.lg",
            "LG bit",
            T::Bool,
            Dec,
            Eth,
            Ethernet,
            |p, _l, _v, e| e(Value::Bool(p.dst[0] & 2 != 0))
        ),
        // ---- Linux cooked capture
        layer!(
            "sll.pkttype",
            "Packet type",
            U16,
            Dec,
            Sll,
            Sll,
            |p, _l, _v, e| e(uint(p.pkttype))
        ),
        layer!(
            "sll.hatype",
            "Link-layer address type",
            U16,
            Dec,
            Sll,
            Sll,
            |p, _l, _v, e| e(uint(p.hatype))
        ),
        layer!(
            "sll.halen",
            "Link-layer address length",
            U8,
            Dec,
            Sll,
            Sll,
            |p, _l, _v, e| e(uint(p.halen))
        ),
        layer!(
            "sll.src.eth",
            "Source",
            T::Ether,
            Dec,
            Sll,
            Sll,
            |p, _l, _v, e| {
                if let Some(mac) = p.src_addr().first_chunk::<6>().filter(|_| p.halen == 6) {
                    e(Value::Ether(*mac))
                }
            }
        ),
        layer!(
            "sll.etype",
            "Protocol",
            U16,
            Hex(4),
            Sll,
            Sll,
            |p, _l, _v, e| e(uint(p.protocol))
        ),
        layer!(
            "sll.ifindex",
            "Interface index",
            U32,
            Dec,
            Sll,
            Sll,
            |p, _l, _v, e| {
                if p.version == 2 {
                    e(uint(p.ifindex))
                }
            }
        ),
        // ---- BSD loopback
        {
            fn ex<'a>(l: &'a Layer, _v: &PacketView<'a>, e: Emit<'_, 'a>) {
                if let Proto::Null { family } = &l.proto {
                    e(uint(*family))
                }
            }
            FieldDef {
                abbrev: "null.family",
                label: "Family",
                ty: U32,
                display: Dec,
                proto: ProtoTag::Null,
                stage: Stage::Packet,
                extract: Extract::Layer(ex),
            }
        },
        // ---- VLAN
        layer!(
            "vlan.priority",
            "Priority",
            U16,
            Dec,
            Vlan,
            Vlan,
            |p, _l, _v, e| e(uint(p.priority()))
        ),
        layer!(
            "vlan.dei",
            "DEI",
            T::Bool,
            Dec,
            Vlan,
            Vlan,
            |p, _l, _v, e| e(Value::Bool(p.dei()))
        ),
        layer!("vlan.id", "ID", U16, Dec, Vlan, Vlan, |p, _l, _v, e| e(
            uint(p.id())
        )),
        layer!(
            "vlan.etype",
            "Type",
            U16,
            Hex(4),
            Vlan,
            Vlan,
            |p, _l, _v, e| e(uint(p.ethertype))
        ),
        layer!(
            "ieee8021ad.id",
            "ID",
            U16,
            Dec,
            Ieee8021ad,
            Vlan,
            |p, _l, _v, e| e(uint(p.id()))
        ),
        // ---- ARP
        layer!(
            "arp.hw.type",
            "Hardware type",
            U16,
            Dec,
            Arp,
            Arp,
            |p, _l, _v, e| e(uint(p.hw_type))
        ),
        layer!(
            "arp.proto.type",
            "Protocol type",
            U16,
            Hex(4),
            Arp,
            Arp,
            |p, _l, _v, e| e(uint(p.proto_type))
        ),
        layer!(
            "arp.hw.size",
            "Hardware size",
            U8,
            Dec,
            Arp,
            Arp,
            |p, _l, _v, e| e(uint(p.hw_size))
        ),
        layer!(
            "arp.proto.size",
            "Protocol size",
            U8,
            Dec,
            Arp,
            Arp,
            |p, _l, _v, e| e(uint(p.proto_size))
        ),
        layer!(
            "arp.opcode",
            "Opcode",
            U16,
            Dec,
            Arp,
            Arp,
            |p, _l, _v, e| e(uint(p.opcode))
        ),
        layer!(
            "arp.src.hw_mac",
            "Sender MAC address",
            T::Ether,
            Dec,
            Arp,
            Arp,
            |p, _l, _v, e| {
                if let Some(m) = p.src_hw {
                    e(Value::Ether(m))
                }
            }
        ),
        layer!(
            "arp.src.proto_ipv4",
            "Sender IP address",
            T::Ipv4,
            Dec,
            Arp,
            Arp,
            |p, _l, _v, e| {
                if let Some(a) = p.src_ip {
                    e(Value::Ipv4(a))
                }
            }
        ),
        layer!(
            "arp.dst.hw_mac",
            "Target MAC address",
            T::Ether,
            Dec,
            Arp,
            Arp,
            |p, _l, _v, e| {
                if let Some(m) = p.dst_hw {
                    e(Value::Ether(m))
                }
            }
        ),
        layer!(
            "arp.dst.proto_ipv4",
            "Target IP address",
            T::Ipv4,
            Dec,
            Arp,
            Arp,
            |p, _l, _v, e| {
                if let Some(a) = p.dst_ip {
                    e(Value::Ipv4(a))
                }
            }
        ),
        // ---- IPv4
        layer!(
            "ip.version",
            "Version",
            U8,
            Dec,
            Ip,
            Ipv4,
            |_p, _l, _v, e| e(uint(4u8))
        ),
        layer!(
            "ip.hdr_len",
            "Header Length",
            U8,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(uint(p.hdr_len))
        ),
        layer!(
            "ip.dsfield",
            "Differentiated Services Field",
            U8,
            Hex(2),
            Ip,
            Ipv4,
            |p, _l, _v, e| e(uint(p.dsfield))
        ),
        layer!(
            "ip.dsfield.dscp",
            "Differentiated Services Codepoint",
            U8,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(uint(p.dsfield >> 2))
        ),
        layer!(
            "ip.dsfield.ecn",
            "Explicit Congestion Notification",
            U8,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(uint(p.dsfield & 3))
        ),
        layer!(
            "ip.len",
            "Total Length",
            U16,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(uint(p.total_len))
        ),
        layer!(
            "ip.id",
            "Identification",
            U16,
            Hex(4),
            Ip,
            Ipv4,
            |p, _l, _v, e| e(uint(p.id))
        ),
        layer!("ip.flags", "Flags", U8, Hex(2), Ip, Ipv4, |p, _l, _v, e| e(
            uint(p.flags)
        )),
        layer!(
            "ip.flags.rb",
            "Reserved bit",
            T::Bool,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(Value::Bool(p.flags & 4 != 0))
        ),
        layer!(
            "ip.flags.df",
            "Don't fragment",
            T::Bool,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(Value::Bool(p.dont_fragment()))
        ),
        layer!(
            "ip.flags.mf",
            "More fragments",
            T::Bool,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(Value::Bool(p.more_fragments()))
        ),
        layer!(
            "ip.frag_offset",
            "Fragment Offset",
            U16,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(uint(p.frag_offset))
        ),
        layer!(
            "ip.ttl",
            "Time to Live",
            U8,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(uint(p.ttl))
        ),
        layer!("ip.proto", "Protocol", U8, Dec, Ip, Ipv4, |p, _l, _v, e| e(
            uint(p.proto)
        )),
        layer!(
            "ip.checksum",
            "Header Checksum",
            U16,
            Hex(4),
            Ip,
            Ipv4,
            |p, _l, _v, e| e(uint(p.checksum))
        ),
        layer!(
            "ip.src",
            "Source Address",
            T::Ipv4,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(Value::Ipv4(p.src))
        ),
        layer!(
            "ip.dst",
            "Destination Address",
            T::Ipv4,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(Value::Ipv4(p.dst))
        ),
        layer!(
            "ip.addr",
            "Source or Destination Address",
            T::Ipv4,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| {
                e(Value::Ipv4(p.src));
                e(Value::Ipv4(p.dst))
            }
        ),
        // Name resolution is off, so host names are the address text (as tshark -n).
        layer!(
            "ip.src_host",
            "Source Host",
            T::String,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(ipv4_text(&p.src))
        ),
        layer!(
            "ip.dst_host",
            "Destination Host",
            T::String,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| e(ipv4_text(&p.dst))
        ),
        layer!(
            "ip.host",
            "Source or Destination Host",
            T::String,
            Dec,
            Ip,
            Ipv4,
            |p, _l, _v, e| {
                e(ipv4_text(&p.src));
                e(ipv4_text(&p.dst))
            }
        ),
        // ---- IPv6
        layer!(
            "ipv6.version",
            "Version",
            U8,
            Dec,
            Ipv6,
            Ipv6,
            |_p, _l, _v, e| e(uint(6u8))
        ),
        layer!(
            "ipv6.tclass",
            "Traffic Class",
            U32,
            Hex(2),
            Ipv6,
            Ipv6,
            |p, _l, _v, e| e(uint(p.tclass))
        ),
        layer!(
            "ipv6.flow",
            "Flow Label",
            U32,
            Hex(5),
            Ipv6,
            Ipv6,
            |p, _l, _v, e| e(uint(p.flow))
        ),
        layer!(
            "ipv6.plen",
            "Payload Length",
            U16,
            Dec,
            Ipv6,
            Ipv6,
            |p, _l, _v, e| e(uint(p.payload_len))
        ),
        layer!(
            "ipv6.nxt",
            "Next Header",
            U8,
            Dec,
            Ipv6,
            Ipv6,
            |p, _l, _v, e| e(uint(p.next_header))
        ),
        layer!(
            "ipv6.hlim",
            "Hop Limit",
            U8,
            Dec,
            Ipv6,
            Ipv6,
            |p, _l, _v, e| e(uint(p.hop_limit))
        ),
        layer!(
            "ipv6.src",
            "Source Address",
            T::Ipv6,
            Dec,
            Ipv6,
            Ipv6,
            |p, _l, _v, e| e(Value::Ipv6(p.src))
        ),
        layer!(
            "ipv6.dst",
            "Destination Address",
            T::Ipv6,
            Dec,
            Ipv6,
            Ipv6,
            |p, _l, _v, e| e(Value::Ipv6(p.dst))
        ),
        layer!(
            "ipv6.addr",
            "Source or Destination Address",
            T::Ipv6,
            Dec,
            Ipv6,
            Ipv6,
            |p, _l, _v, e| {
                e(Value::Ipv6(p.src));
                e(Value::Ipv6(p.dst))
            }
        ),
        layer!(
            "ipv6.src_host",
            "Source Host",
            T::String,
            Dec,
            Ipv6,
            Ipv6,
            |p, _l, _v, e| e(ipv6_text(&p.src))
        ),
        layer!(
            "ipv6.dst_host",
            "Destination Host",
            T::String,
            Dec,
            Ipv6,
            Ipv6,
            |p, _l, _v, e| e(ipv6_text(&p.dst))
        ),
        layer!(
            "ipv6.host",
            "Source or Destination Host",
            T::String,
            Dec,
            Ipv6,
            Ipv6,
            |p, _l, _v, e| {
                e(ipv6_text(&p.src));
                e(ipv6_text(&p.dst))
            }
        ),
        // ---- ICMP
        layer!("icmp.type", "Type", U8, Dec, Icmp, Icmp, |p, _l, _v, e| e(
            uint(p.icmp_type)
        )),
        layer!("icmp.code", "Code", U8, Dec, Icmp, Icmp, |p, _l, _v, e| e(
            uint(p.code)
        )),
        layer!(
            "icmp.checksum",
            "Checksum",
            U16,
            Hex(4),
            Icmp,
            Icmp,
            |p, _l, _v, e| e(uint(p.checksum))
        ),
        layer!(
            "icmp.ident",
            "Identifier (BE)",
            U16,
            Dec,
            Icmp,
            Icmp,
            |p, _l, _v, e| {
                if p.has_id_seq() {
                    e(uint(p.ident()))
                }
            }
        ),
        layer!(
            "icmp.ident_le",
            "Identifier (LE)",
            U16,
            Dec,
            Icmp,
            Icmp,
            |p, _l, _v, e| {
                if p.has_id_seq() {
                    e(uint(p.ident().swap_bytes()))
                }
            }
        ),
        layer!(
            "icmp.seq",
            "Sequence Number (BE)",
            U16,
            Dec,
            Icmp,
            Icmp,
            |p, _l, _v, e| {
                if p.has_id_seq() {
                    e(uint(p.seq()))
                }
            }
        ),
        layer!(
            "icmp.seq_le",
            "Sequence Number (LE)",
            U16,
            Dec,
            Icmp,
            Icmp,
            |p, _l, _v, e| {
                if p.has_id_seq() {
                    e(uint(p.seq().swap_bytes()))
                }
            }
        ),
        // ---- ICMPv6
        layer!(
            "icmpv6.type",
            "Type",
            U8,
            Dec,
            Icmpv6,
            Icmpv6,
            |p, _l, _v, e| e(uint(p.icmp_type))
        ),
        layer!(
            "icmpv6.code",
            "Code",
            U8,
            Dec,
            Icmpv6,
            Icmpv6,
            |p, _l, _v, e| e(uint(p.code))
        ),
        layer!(
            "icmpv6.checksum",
            "Checksum",
            U16,
            Hex(4),
            Icmpv6,
            Icmpv6,
            |p, _l, _v, e| e(uint(p.checksum))
        ),
        layer!(
            "icmpv6.echo.identifier",
            "Identifier",
            U16,
            Hex(4),
            Icmpv6,
            Icmpv6,
            |p, _l, _v, e| {
                if p.is_echo() {
                    e(uint(p.ident()))
                }
            }
        ),
        layer!(
            "icmpv6.echo.sequence_number",
            "Sequence",
            U16,
            Dec,
            Icmpv6,
            Icmpv6,
            |p, _l, _v, e| {
                if p.is_echo() {
                    e(uint(p.seq()))
                }
            }
        ),
        // ---- UDP
        layer!(
            "udp.srcport",
            "Source Port",
            U16,
            Dec,
            Udp,
            Udp,
            |p, _l, _v, e| e(uint(p.src_port))
        ),
        layer!(
            "udp.dstport",
            "Destination Port",
            U16,
            Dec,
            Udp,
            Udp,
            |p, _l, _v, e| e(uint(p.dst_port))
        ),
        layer!(
            "udp.port",
            "Source or Destination Port",
            U16,
            Dec,
            Udp,
            Udp,
            |p, _l, _v, e| {
                e(uint(p.src_port));
                e(uint(p.dst_port))
            }
        ),
        layer!(
            "udp.length",
            "Length",
            U16,
            Dec,
            Udp,
            Udp,
            |p, _l, _v, e| e(uint(p.length))
        ),
        frame!("udp.stream", "Stream index", U32, Dec, Udp, Flow, |v, e| {
            if let Some(n) = v.state.udp_stream {
                e(uint(n))
            }
        }),
        layer!(
            "udp.checksum",
            "Checksum",
            U16,
            Hex(4),
            Udp,
            Udp,
            |p, _l, _v, e| e(uint(p.checksum))
        ),
        layer!(
            "udp.payload",
            "Payload",
            T::Bytes,
            Dec,
            Udp,
            Udp,
            |_p, l, v, e| {
                if !l.quoted {
                    e(Value::Bytes(v.data.get(l.payload_range()).unwrap_or(&[])))
                }
            }
        ),
        // ---- TCP
        layer!(
            "tcp.srcport",
            "Source Port",
            U16,
            Dec,
            Tcp,
            Tcp,
            |p, _l, _v, e| e(uint(p.src_port))
        ),
        layer!(
            "tcp.dstport",
            "Destination Port",
            U16,
            Dec,
            Tcp,
            Tcp,
            |p, _l, _v, e| e(uint(p.dst_port))
        ),
        layer!(
            "tcp.port",
            "Source or Destination Port",
            U16,
            Dec,
            Tcp,
            Tcp,
            |p, _l, _v, e| {
                e(uint(p.src_port));
                e(uint(p.dst_port))
            }
        ),
        frame!("tcp.stream", "Stream index", U32, Dec, Tcp, Flow, |v, e| {
            if let Some(t) = &v.state.tcp {
                e(uint(t.stream))
            }
        }),
        frame!(
            "tcp.len",
            "TCP Segment Len",
            U32,
            Dec,
            Tcp,
            Packet,
            |v, e| {
                if let Some((_, t)) = v.rec.tcp() {
                    e(uint(t.payload_len))
                }
            }
        ),
        // Relative sequence numbers need the connection's state; inside an ICMP error tshark
        // shows the quoted sequence number as it is.
        layer!(
            "tcp.seq",
            "Sequence Number",
            U32,
            Dec,
            Tcp,
            Tcp,
            |p, l, v, e| {
                match (&v.state.tcp, l.quoted) {
                    (Some(t), false) => e(uint(t.rel_seq)),
                    (_, true) => e(uint(p.seq)),
                    _ => {}
                }
            }
        ),
        frame!(
            "tcp.nxtseq",
            "Next Sequence Number",
            U32,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if let Some(t) = &v.state.tcp {
                    e(uint(t.next_rel_seq))
                }
            }
        ),
        layer!(
            "tcp.seq_raw",
            "Sequence Number (raw)",
            U32,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(uint(p.seq))
                }
            }
        ),
        frame!(
            "tcp.ack",
            "Acknowledgment Number",
            U32,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if let Some(t) = &v.state.tcp {
                    e(uint(t.rel_ack))
                }
            }
        ),
        layer!(
            "tcp.ack_raw",
            "Acknowledgment number (raw)",
            U32,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(uint(p.ack))
                }
            }
        ),
        layer!(
            "tcp.hdr_len",
            "Header Length",
            U8,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(uint(p.hdr_len))
                }
            }
        ),
        layer!(
            "tcp.flags",
            "Flags",
            U16,
            Hex(4),
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(uint(p.flags))
                }
            }
        ),
        layer!(
            "tcp.flags.res",
            "Reserved",
            T::Bool,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(flag(p.flags, 0xe00))
                }
            }
        ),
        layer!(
            "tcp.flags.ae",
            "Accurate ECN",
            T::Bool,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(flag(p.flags, tcp_flags::AE))
                }
            }
        ),
        layer!(
            "tcp.flags.cwr",
            "Congestion Window Reduced",
            T::Bool,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(flag(p.flags, tcp_flags::CWR))
                }
            }
        ),
        layer!(
            "tcp.flags.ece",
            "ECN-Echo",
            T::Bool,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(flag(p.flags, tcp_flags::ECE))
                }
            }
        ),
        layer!(
            "tcp.flags.urg",
            "Urgent",
            T::Bool,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(flag(p.flags, tcp_flags::URG))
                }
            }
        ),
        layer!(
            "tcp.flags.ack",
            "Acknowledgment",
            T::Bool,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(flag(p.flags, tcp_flags::ACK))
                }
            }
        ),
        layer!(
            "tcp.flags.push",
            "Push",
            T::Bool,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(flag(p.flags, tcp_flags::PSH))
                }
            }
        ),
        layer!(
            "tcp.flags.reset",
            "Reset",
            T::Bool,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(flag(p.flags, tcp_flags::RST))
                }
            }
        ),
        layer!(
            "tcp.flags.syn",
            "Syn",
            T::Bool,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(flag(p.flags, tcp_flags::SYN))
                }
            }
        ),
        layer!(
            "tcp.flags.fin",
            "Fin",
            T::Bool,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(flag(p.flags, tcp_flags::FIN))
                }
            }
        ),
        layer!(
            "tcp.flags.str",
            "TCP Flags",
            T::String,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(Value::Str(Cow::Owned(crate::output::text::tcp_flags_str(
                        p.flags,
                    ))))
                }
            }
        ),
        layer!(
            "tcp.window_size_value",
            "Window",
            U16,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(uint(p.window))
                }
            }
        ),
        frame!(
            "tcp.window_size",
            "Calculated window size",
            U32,
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if let Some(t) = &v.state.tcp {
                    e(uint(t.window))
                }
            }
        ),
        frame!(
            "tcp.window_size_scalefactor",
            "Window size scaling factor",
            T::Int(32),
            Dec,
            Tcp,
            Flow,
            |v, e| {
                if let Some(t) = &v.state.tcp {
                    e(Value::Int(i64::from(t.scale_factor())))
                }
            }
        ),
        layer!(
            "tcp.checksum",
            "Checksum",
            U16,
            Hex(4),
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(uint(p.checksum))
                }
            }
        ),
        layer!(
            "tcp.urgent_pointer",
            "Urgent Pointer",
            U16,
            Dec,
            Tcp,
            Tcp,
            |p, l, _v, e| {
                if !l.quoted {
                    e(uint(p.urgent))
                }
            }
        ),
        layer!(
            "tcp.options.mss_val",
            "MSS Value",
            U16,
            Dec,
            Tcp,
            Tcp,
            |p, _l, v, e| {
                if let Some(m) = p.mss(v.data) {
                    e(uint(m))
                }
            }
        ),
        layer!(
            "tcp.options.wscale.shift",
            "Shift count",
            U8,
            Dec,
            Tcp,
            Tcp,
            |p, _l, v, e| {
                if let Some(s) = p.window_scale(v.data) {
                    e(uint(s))
                }
            }
        ),
        layer!(
            "tcp.options.wscale.multiplier",
            "Multiplier",
            U16,
            Dec,
            Tcp,
            Tcp,
            |p, _l, v, e| {
                if let Some(s) = p.window_scale(v.data) {
                    e(uint(1u64 << s.min(14)))
                }
            }
        ),
        layer!(
            "tcp.options.sack_perm",
            "TCP SACK Permitted Option",
            T::None,
            Dec,
            Tcp,
            Tcp,
            |p, _l, v, e| {
                if p.sack_permitted(v.data) {
                    e(Value::Present)
                }
            }
        ),
        layer!(
            "tcp.options.timestamp.tsval",
            "Timestamp value",
            U32,
            Dec,
            Tcp,
            Tcp,
            |p, _l, v, e| {
                for o in p.options.items(v.data) {
                    if let TcpOption::Timestamp { tsval, .. } = o {
                        e(uint(tsval))
                    }
                }
            }
        ),
        layer!(
            "tcp.options.timestamp.tsecr",
            "Timestamp echo reply",
            U32,
            Dec,
            Tcp,
            Tcp,
            |p, _l, v, e| {
                for o in p.options.items(v.data) {
                    if let TcpOption::Timestamp { tsecr, .. } = o {
                        e(uint(tsecr))
                    }
                }
            }
        ),
        layer!(
            "tcp.payload",
            "TCP payload",
            T::Bytes,
            Dec,
            Tcp,
            Tcp,
            |p, l, v, e| {
                if !l.quoted && p.payload_len > 0 {
                    e(Value::Bytes(v.data.get(l.payload_range()).unwrap_or(&[])))
                }
            }
        ),
        // ---- DNS
        layer!(
            "dns.id",
            "Transaction ID",
            U16,
            Hex(4),
            Dns,
            Dns,
            |m, _l, _v, e| e(uint(m.id))
        ),
        layer!(
            "dns.flags",
            "Flags",
            U16,
            Hex(4),
            Dns,
            Dns,
            |m, _l, _v, e| e(uint(m.flags))
        ),
        layer!(
            "dns.flags.response",
            "Response",
            T::Bool,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| e(Value::Bool(m.is_response()))
        ),
        layer!(
            "dns.flags.opcode",
            "Opcode",
            U16,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| e(uint(m.opcode()))
        ),
        layer!(
            "dns.flags.authoritative",
            "Authoritative",
            T::Bool,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                if m.is_response() {
                    e(flag(m.flags, 0x0400))
                }
            }
        ),
        layer!(
            "dns.flags.truncated",
            "Truncated",
            T::Bool,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| e(flag(m.flags, 0x0200))
        ),
        layer!(
            "dns.flags.recdesired",
            "Recursion desired",
            T::Bool,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| e(flag(m.flags, 0x0100))
        ),
        layer!(
            "dns.flags.recavail",
            "Recursion available",
            T::Bool,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                if m.is_response() {
                    e(flag(m.flags, 0x0080))
                }
            }
        ),
        layer!(
            "dns.flags.rcode",
            "Reply code",
            U16,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                if m.is_response() {
                    e(uint(m.rcode()))
                }
            }
        ),
        layer!(
            "dns.count.queries",
            "Questions",
            U16,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| e(uint(m.qdcount))
        ),
        layer!(
            "dns.count.answers",
            "Answer RRs",
            U16,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| e(uint(m.ancount))
        ),
        layer!(
            "dns.count.auth_rr",
            "Authority RRs",
            U16,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| e(uint(m.nscount))
        ),
        layer!(
            "dns.count.add_rr",
            "Additional RRs",
            U16,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| e(uint(m.arcount))
        ),
        layer!(
            "dns.qry.name",
            "Name",
            T::String,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                for q in &m.questions {
                    e(Value::Str(Cow::Borrowed(q.name.as_str())))
                }
            }
        ),
        layer!(
            "dns.qry.type",
            "Type",
            U16,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                for q in &m.questions {
                    e(uint(q.qtype))
                }
            }
        ),
        layer!(
            "dns.qry.class",
            "Class",
            U16,
            Hex(4),
            Dns,
            Dns,
            |m, _l, _v, e| {
                for q in &m.questions {
                    e(uint(q.qclass))
                }
            }
        ),
        layer!(
            "dns.resp.name",
            "Name",
            T::String,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| dns_records(m, e, |r| Some(Value::Str(Cow::Borrowed(r.name.as_str()))))
        ),
        layer!(
            "dns.resp.type",
            "Type",
            U16,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| dns_records(m, e, |r| Some(uint(r.rtype)))
        ),
        layer!(
            "dns.resp.ttl",
            "Time to live",
            U32,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| dns_records(m, e, |r| Some(uint(r.ttl)))
        ),
        layer!(
            "dns.resp.len",
            "Data length",
            U32,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| dns_records(m, e, |r| Some(uint(r.rdlength)))
        ),
        layer!(
            "dns.a",
            "Address",
            T::Ipv4,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| dns_records(m, e, |r| {
                match r.data {
                    RData::A(a) => Some(Value::Ipv4(a)),
                    _ => None,
                }
            })
        ),
        layer!(
            "dns.aaaa",
            "AAAA Address",
            T::Ipv6,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| dns_records(m, e, |r| match r.data {
                RData::Aaaa(a) => Some(Value::Ipv6(a)),
                _ => None,
            })
        ),
        layer!(
            "dns.cname",
            "CNAME",
            T::String,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| dns_records(m, e, |r| rdata_name(r, crate::wire::dns::rtype::CNAME))
        ),
        layer!(
            "dns.ns",
            "Name Server",
            T::String,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| dns_records(m, e, |r| rdata_name(r, crate::wire::dns::rtype::NS))
        ),
        layer!(
            "dns.ptr.domain_name",
            "Domain Name",
            T::String,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| dns_records(m, e, |r| rdata_name(r, crate::wire::dns::rtype::PTR))
        ),
        layer!(
            "dns.mx.preference",
            "Preference",
            U16,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                dns_records(m, e, |r| match &r.data {
                    RData::Mx { preference, .. } => Some(uint(*preference)),
                    _ => None,
                })
            }
        ),
        layer!(
            "dns.mx.mail_exchange",
            "Mail Exchange",
            T::String,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                dns_records(m, e, |r| match &r.data {
                    RData::Mx { exchange, .. } => {
                        Some(Value::Str(Cow::Borrowed(exchange.as_str())))
                    }
                    _ => None,
                })
            }
        ),
        layer!(
            "dns.txt",
            "TXT",
            T::String,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                for r in m.records() {
                    if let RData::Txt(strings) = &r.data {
                        for s in strings {
                            e(Value::Str(Cow::Borrowed(s.as_str())))
                        }
                    }
                }
            }
        ),
        layer!(
            "dns.soa.mname",
            "Primary name server",
            T::String,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                dns_records(m, e, |r| match &r.data {
                    RData::Soa { mname, .. } => Some(Value::Str(Cow::Borrowed(mname.as_str()))),
                    _ => None,
                })
            }
        ),
        layer!(
            "dns.srv.target",
            "Target",
            T::String,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                dns_records(m, e, |r| match &r.data {
                    RData::Srv { target, .. } => Some(Value::Str(Cow::Borrowed(target.as_str()))),
                    _ => None,
                })
            }
        ),
        layer!(
            "dns.srv.port",
            "Port",
            U16,
            Dec,
            Dns,
            Dns,
            |m, _l, _v, e| {
                dns_records(m, e, |r| match &r.data {
                    RData::Srv { port, .. } => Some(uint(*port)),
                    _ => None,
                })
            }
        ),
    ]
}

fn rdata_name(r: &Record, want: u16) -> Option<Value<'_>> {
    match &r.data {
        RData::Name(n) if r.rtype == want => Some(Value::Str(Cow::Borrowed(n.as_str()))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_wireshark_shaped() {
        let mut seen = std::collections::HashSet::new();
        for f in fields() {
            assert!(seen.insert(f.abbrev), "duplicate field {}", f.abbrev);
            let proto = f.abbrev.split('.').next().unwrap_or("");
            assert!(
                f.abbrev.starts_with('_') || proto == f.proto.abbrev(),
                "{} is registered under {:?}",
                f.abbrev,
                f.proto
            );
        }
    }
}
