//! The bodies of the fuzz targets in `fuzz/` (one function each), kept in the library so that
//! the normal build compiles them and the test suite runs them: over seeds from tests/data,
//! and over every input in tests/data/regressions/TARGET/ (the inputs fuzzing once crashed).
//! Each function takes arbitrary bytes and panics only when an invariant is broken.

use std::sync::OnceLock;

use crate::capture::Reader;
use crate::decode::{FrameKind, FrameMeta, PacketRecord, Proto, decode_frame, linktype};
use crate::engine::{self, FrameState, MatchAll, Options};
use crate::field::{PacketView, Registry};
use crate::filter::Filter;
use crate::tcp::Reassembly;
use crate::wire::{dns, http1};

/// A target: arbitrary bytes in, a panic only when an invariant breaks.
pub type Target = fn(&[u8]);

/// The targets, by the names `cargo fuzz` knows them by.
pub const TARGETS: [(&str, Target); 6] = [
    ("reader", reader),
    ("decode", decode),
    ("dns", dns),
    ("http", http),
    ("tcp_reassembly", tcp_reassembly),
    ("filter", filter),
];

/// The capture reader on arbitrary bytes (pcap, pcapng, gzip, anything): every frame it yields
/// is decoded; the reader must end, with or without an error.
pub fn reader(data: &[u8]) {
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut reader) = Reader::from_read("fuzz", input) else {
        return;
    };
    // Small batches, so that records are split across batch boundaries as on big captures.
    let mut last = 0u64;
    while let Some(batch) = reader.next_batch(7, 4096) {
        for (meta, range) in &batch.frames {
            let bytes = batch
                .arena
                .get(range.clone())
                .expect("frame ranges lie in the arena");
            let rec = decode_frame(meta.clone(), bytes, range.clone());
            // Frame numbers only grow (pcapng blocks without packets take numbers, as in tshark).
            assert!(
                rec.meta.number > last,
                "frame {} after {last}",
                rec.meta.number
            );
            last = rec.meta.number;
        }
    }
    let _ = reader.take_error();
}

/// The link types [`decode`]'s first byte picks from.
pub const LINK_TYPES: [u16; 10] = [
    linktype::ETHERNET,
    linktype::NULL,
    linktype::LOOP,
    linktype::RAW,
    linktype::RAW_OPENBSD,
    linktype::RAW_BSDOS,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::IPV4,
    linktype::IPV6,
];

/// One frame of each link type wirelite decodes: the first byte picks the link type, the rest is
/// the frame. The packet is also rendered as the summary line, the detail tree and JSON, and
/// every registered field is extracted, so no output path can be driven into a panic.
pub fn decode(data: &[u8]) {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    let meta = FrameMeta {
        number: 1,
        ts_ns: Some(1_700_000_000_123_456_789),
        ts_digits: 9,
        caplen: len,
        origlen: len,
        linktype: LINK_TYPES[usize::from(pick) % LINK_TYPES.len()],
        interface_id: 0,
        file_offset: 0,
        kind: FrameKind::Packet,
    };
    let rec = decode_frame(meta, frame, 0..frame.len());
    // The outer headers the decoder noted are the first unquoted ones of the layers it wrote.
    let unquoted = |want: fn(&Proto) -> bool| {
        rec.layers
            .iter()
            .find(|l| !l.quoted && want(&l.proto))
            .map(|l| l as *const _)
    };
    assert_eq!(
        rec.tcp().map(|(l, _)| l as *const _),
        unquoted(|p| matches!(p, Proto::Tcp(_)))
    );
    assert_eq!(
        rec.outer_ip().map(|l| l as *const _),
        unquoted(|p| matches!(p, Proto::Ipv4(_) | Proto::Ipv6(_)))
    );
    let state = FrameState::default();
    let view = PacketView {
        rec: &rec,
        data: frame,
        state: &state,
    };
    let mut out = String::new();
    crate::output::summary::summary_line(&view, &mut out);
    crate::output::detail::render(&view, &mut out);
    let json = serde_json::Value::Object(crate::output::json::packet_layers(&view));
    serde_json::to_string(&json).expect("JSON serialises");
    let reg = Registry::get();
    for (id, _) in reg.iter() {
        reg.extract(id, &view, &mut |v| out.push_str(&format!("{v:?}")));
    }
}

/// The DNS message parser (compression loops, pointers past the end, counts that lie), and the
/// text names become: printable once made safe for the terminal.
pub fn dns(data: &[u8]) {
    if let Some(m) = dns::parse(data) {
        let mut text = String::new();
        for q in &m.questions {
            text.push_str(&q.name);
        }
        for r in m.records() {
            text.push_str(&format!("{r:?}"));
        }
        let safe = crate::output::safe_text(&text);
        assert!(!safe.chars().any(char::is_control));
    }
    // Every early position as the start of a name, as pointers may point anywhere.
    for pos in 0..data.len().min(64) {
        let _ = dns::read_name(data, pos);
    }
}

/// The HTTP/1.x parser on one direction of a stream cut into pieces (the first byte seeds the cut
/// points and whether some pieces are lost). The messages read must fit in the bytes fed.
pub fn http(data: &[u8]) {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let mut dir = http1::Direction::default();
    let mut last_method = None;
    let mut out = Vec::new();
    let mut rest = stream;
    let mut cut = usize::from(seed) + 1;
    let mut i = 0;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(cut.min(rest.len()));
        if seed & 0x80 != 0 && i % 5 == 4 {
            dir.gap(); // a hole in the stream, as after lost segments
        } else {
            dir.feed(piece, &mut last_method, &mut out);
        }
        rest = tail;
        cut = (cut * 7 + 3) % 97 + 1;
        i += 1;
    }
    dir.end(&mut out);
    let total: u64 = out.iter().map(|m| m.head_len + m.body_len).sum();
    assert!(
        total <= stream.len() as u64,
        "{total} bytes of messages from {}",
        stream.len()
    );
}

/// The initial sequence numbers of [`tcp_reassembly`]'s client and server (the server's wraps).
const ISN: [u32; 2] = [1_000_000, 4_294_960_000];

/// [`tcp_reassembly`]'s input as a pcap: segments of 4 header bytes then their payload.
/// `flags`: bit 0 the direction, bit 1 port 53 instead of 80, bits 2-6 SYN FIN RST ACK PSH; the
/// sequence offset (u16 LE, so segments overlap, repeat and come out of order); the payload
/// length (at most what is left).
pub fn segments_pcap(data: &[u8]) -> Vec<u8> {
    let mut frames = Vec::new();
    let mut rest = data;
    while let Some((&[flags, s0, s1, len], tail)) = rest.split_first_chunk::<4>() {
        let (payload, tail) = tail.split_at(usize::from(len).min(tail.len()));
        rest = tail;
        let dir = usize::from(flags & 1);
        let port = if flags & 2 != 0 { 53 } else { 80 };
        let (client, server) = ([10, 0, 1, 1], [10, 0, 1, 10]);
        let (src, dst, sport, dport) = if dir == 0 {
            (client, server, 40000, port)
        } else {
            (server, client, port, 40000)
        };
        let seq = ISN[dir].wrapping_add(u32::from(u16::from_le_bytes([s0, s1])));
        let mut b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .tcp(sport, dport, seq, 64240);
        if flags & 4 != 0 {
            b = b.syn();
        }
        if flags & 8 != 0 {
            b = b.fin();
        }
        if flags & 16 != 0 {
            b = b.rst();
        }
        if flags & 32 != 0 {
            b = b.ack(ISN[1 - dir].wrapping_add(1));
        }
        if flags & 64 != 0 {
            b = b.psh();
        }
        let mut frame = Vec::new();
        if b.write(&mut frame, payload).is_ok() {
            frames.push(frame);
        }
    }
    pcap(1, frames)
}

/// A classic pcap (microsecond timestamps, one millisecond apart) of `frames` on `linktype`.
pub fn pcap(linktype: u32, frames: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&linktype.to_le_bytes());
    for (i, f) in frames.into_iter().enumerate() {
        let t = i as u64 + 1;
        let len = u32::try_from(f.len()).unwrap_or(u32::MAX).to_le_bytes();
        out.extend_from_slice(&((t / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(((t % 1000) * 1000) as u32).to_le_bytes());
        out.extend_from_slice(&len);
        out.extend_from_slice(&len);
        out.extend_from_slice(&f);
    }
    out
}

/// TCP reassembly, HTTP over it and DNS over TCP on arbitrary segment sequences
/// ([`segments_pcap`]), through the whole pipeline with every connection reassembled under a
/// small cap, the detail tree as output, and the `tcp` table and explanations at the end.
pub fn tcp_reassembly(data: &[u8]) {
    const CAP: usize = 64 << 10;
    let bytes = segments_pcap(data);
    let reader = Reader::from_read("fuzz", Box::new(std::io::Cursor::new(bytes)))
        .expect("a pcap header was written");
    let opts = Options {
        threads: 1,
        http: true,
        reassembly: Reassembly::All,
        limits: crate::limits::Limits {
            reassembly_bytes: CAP,
            ..crate::limits::Limits::of(16 << 20)
        },
        collect_connections: true,
        batch_frames: 16,
        ..Options::default()
    };
    let mut sink = crate::output::DetailSink::new(std::io::sink());
    let report = engine::run(reader, &opts, &MatchAll, &mut sink, &mut |_, _| {})
        .expect("writing to io::sink cannot fail");
    assert!(report.capture_error.is_none(), "{:?}", report.capture_error);
    assert!(
        report.reassembly_peak_held <= CAP,
        "held {}",
        report.reassembly_peak_held
    );
    let conns: Vec<_> = report.connections.iter().collect();
    let _ = crate::output::tcp::table(&conns, 0, true, true);
    for c in &conns {
        let _ = crate::output::tcp::explain_conn(c);
        let _ = crate::output::tcp::conn_json(c, 0);
    }
}

/// Frames a filter is run over: a capture's, decoded once.
pub struct Frames {
    arena: Vec<u8>,
    records: Vec<PacketRecord>,
}

impl Frames {
    /// The first `max` frames of a capture given as bytes.
    pub fn load(capture: &[u8], max: usize) -> Frames {
        let input = Box::new(std::io::Cursor::new(capture.to_vec()));
        let (mut arena, mut records) = (Vec::new(), Vec::new());
        if let Ok(mut reader) = Reader::from_read("frames", input) {
            while let Some(batch) = reader.next_batch(1024, 1 << 20) {
                for (meta, range) in batch.frames.iter().take(max - records.len().min(max)) {
                    let bytes = batch.arena.get(range.clone()).unwrap_or(&[]);
                    let at = arena.len();
                    arena.extend_from_slice(bytes);
                    records.push(decode_frame(meta.clone(), bytes, at..arena.len()));
                }
            }
        }
        Frames { arena, records }
    }
}

/// The frames the `filter` target evaluates filters over: samples/lab-mixed.pcapng's first 300.
pub fn sample_frames() -> &'static Frames {
    static FRAMES: OnceLock<Frames> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/lab-mixed.pcapng");
        Frames::load(&std::fs::read(path).unwrap_or_default(), 300)
    })
}

/// The display-filter compiler on arbitrary text: an error is rendered with its caret; a filter
/// that compiles is explained and run over [`sample_frames`].
pub fn filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let filter = match Filter::compile(text) {
        Ok(f) => f,
        Err(e) => {
            let _ = e.render(text);
            return;
        }
    };
    let _ = filter.explain();
    let frames = sample_frames();
    let state = FrameState::default();
    for rec in &frames.records {
        let view = PacketView {
            rec,
            data: frames.arena.get(rec.data.clone()).unwrap_or(&[]),
            state: &state,
        };
        let _ = filter.matches(&view);
    }
}

/// Seed inputs for the targets from one capture: the capture itself (`reader`), each frame
/// behind its link-type selector (`decode`), every DNS message (`dns`), every TCP payload to or
/// from ports 80 and 8080 behind a cut seed (`http`), and each port 80 or 53 connection in
/// [`segments_pcap`]'s encoding (`tcp_reassembly`).
pub fn seeds(capture: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    use std::collections::HashMap;
    let mut out = vec![("reader", capture.to_vec())];
    let input = Box::new(std::io::Cursor::new(capture.to_vec()));
    let Ok(mut reader) = Reader::from_read("seeds", input) else {
        return out;
    };
    // Per connection (client port) and direction: the first sequence number seen.
    let mut isn: HashMap<(u16, usize), u32> = HashMap::new();
    let mut conns: std::collections::BTreeMap<u16, Vec<u8>> = Default::default();
    while let Some(batch) = reader.next_batch(1024, 1 << 20) {
        for (meta, range) in &batch.frames {
            let frame = batch.arena.get(range.clone()).unwrap_or(&[]);
            let rec = decode_frame(meta.clone(), frame, range.clone());
            if let Some(pick) = LINK_TYPES.iter().position(|&l| l == meta.linktype) {
                let mut seed = vec![pick as u8];
                seed.extend_from_slice(frame);
                out.push(("decode", seed));
            }
            for l in rec.layers.iter() {
                if matches!(l.proto, crate::decode::Proto::Dns(_)) {
                    out.push(("dns", frame.get(l.range()).unwrap_or(&[]).to_vec()));
                }
            }
            let Some((layer, t)) = rec.tcp() else {
                continue;
            };
            // What the engine hands the HTTP and DNS parsers: never past the IP length.
            let payload = crate::tcp::payload(layer, t, frame);
            let servers = [80, 8080, 53];
            if !servers.contains(&t.src_port) && !servers.contains(&t.dst_port) {
                continue;
            }
            let dns_port = t.src_port == 53 || t.dst_port == 53;
            if !payload.is_empty() && !dns_port {
                let mut seed = vec![payload.len().min(255) as u8];
                seed.extend_from_slice(payload);
                out.push(("http", seed));
            }
            let dir = usize::from(servers.contains(&t.src_port));
            let client = if dir == 0 { t.src_port } else { t.dst_port };
            let base = *isn.entry((client, dir)).or_insert(t.seq);
            let offset = t.seq.wrapping_sub(base) as u16;
            let mut flags = dir as u8 | if dns_port { 2 } else { 0 };
            for (flag, bit) in [
                (0x002, 4),
                (0x001, 8),
                (0x004, 16),
                (0x010, 32),
                (0x008, 64),
            ] {
                if t.flags & flag != 0 {
                    flags |= bit;
                }
            }
            let payload = payload.get(..payload.len().min(255)).unwrap_or(&[]);
            let seg = conns.entry(client).or_default();
            if seg.len() < 8192 {
                seg.push(flags);
                seg.extend_from_slice(&offset.to_le_bytes());
                seg.push(payload.len() as u8);
                seg.extend_from_slice(payload);
            }
        }
    }
    out.extend(conns.into_values().take(20).map(|s| ("tcp_reassembly", s)));
    out
}
