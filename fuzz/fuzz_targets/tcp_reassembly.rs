//! TCP reassembly, HTTP over it and DNS over TCP, fed arbitrary segment sequences: the input is
//! cut into segments, each given a direction, flags, a sequence number and a payload, written
//! as a pcap and run through the whole pipeline with reassembly on every connection, a small
//! reassembly cap, and the detail tree (which shows the HTTP messages) as the output.
//!
//! Each segment is 4 header bytes then its payload: `flags` (bit 0 the direction, bit 1 port
//! 53 instead of 80, bits 2-6 SYN FIN RST ACK PSH), the sequence offset (u16, so segments
//! overlap, repeat and arrive out of order), and the payload length (at most what is left).
#![no_main]

use etherparse::PacketBuilder;
use libfuzzer_sys::fuzz_target;
use wirelite::capture::Reader;
use wirelite::engine::{self, MatchAll, Options};
use wirelite::tcp::Reassembly;

const ISN: [u32; 2] = [1_000_000, 4_294_960_000]; // the server's wraps around 2^32

fn pcap(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let mut rest = data;
    let mut t = 0u32;
    while let Some((&[flags, s0, s1, len], tail)) = rest.split_first_chunk::<4>() {
        let n = usize::from(len).min(tail.len());
        let (payload, tail) = tail.split_at(n);
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
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
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
        if b.write(&mut frame, payload).is_err() {
            continue;
        }
        t += 1;
        out.extend_from_slice(&(t / 1000).to_le_bytes());
        out.extend_from_slice(&((t % 1000) * 1000).to_le_bytes());
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX).to_le_bytes();
        out.extend_from_slice(&len);
        out.extend_from_slice(&len);
        out.extend_from_slice(&frame);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let bytes = pcap(data);
    let reader = Reader::from_read("fuzz", Box::new(std::io::Cursor::new(bytes)))
        .expect("a pcap header was written");
    let opts = Options {
        threads: 1,
        http: true,
        reassembly: Reassembly::All,
        reassembly_cap: 64 << 10,
        collect_connections: true,
        batch_frames: 16,
        ..Options::default()
    };
    let mut sink = wirelite::output::DetailSink::new(std::io::sink());
    let report = engine::run(reader, &opts, &MatchAll, &mut sink, &mut |_, _| {})
        .expect("writing to io::sink cannot fail");
    assert!(report.capture_error.is_none(), "{:?}", report.capture_error);
    assert!(
        report.reassembly_peak_held <= 64 << 10,
        "held {}",
        report.reassembly_peak_held
    );
    let conns: Vec<_> = report.connections.iter().collect();
    let _ = wirelite::output::tcp::table(&conns, 0, true, true);
    for c in &conns {
        let _ = wirelite::output::tcp::explain_conn(c);
        let _ = wirelite::output::tcp::conn_json(c, 0);
    }
});
