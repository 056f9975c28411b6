//! The reader, the TCP stage and TCP reassembly, each alone, on real lab traffic
//! (samples/lab-mixed.pcapng: HTTP, DNS, ICMP, refused and dropped connections). Every stage is
//! measured twice, with throughput in bytes and in packets (criterion reports one unit per group).
//! Whole-program figures against tshark and tcpdump come from scripts/bench-peers.sh.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wirelite::capture::Reader;
use wirelite::decode::PacketRecord;
use wirelite::tcp::{self, Reassembly, Segment, Tracker};

const CAPTURE: &str = "samples/lab-mixed.pcapng";

mod common;

fn path() -> String {
    common::path(CAPTURE)
}

fn read_all(batch_frames: usize) -> (u64, u64) {
    let mut reader = Reader::open(&path()).unwrap();
    let (mut frames, mut bytes) = (0u64, 0u64);
    while let Some(batch) = reader.next_batch(batch_frames, 2 << 20) {
        frames += batch.frames.len() as u64;
        bytes += batch
            .frames
            .iter()
            .map(|(_, r)| r.len() as u64)
            .sum::<u64>();
    }
    (frames, bytes)
}

/// Feed every TCP segment of the capture to a fresh tracker.
fn track(arena: &[u8], recs: &[PacketRecord], reassembly: Reassembly) -> u32 {
    let mut tracker = Tracker::new().reassembling(reassembly, tcp::MAX_HELD_TOTAL);
    for rec in recs {
        let Some((layer, t)) = rec.tcp() else {
            continue;
        };
        let Some((src, dst)) = tcp::endpoints(rec, t.src_port, t.dst_port) else {
            continue;
        };
        let frame = &arena[rec.data.clone()];
        // What the engine feeds the tracker: never past the IP header's length (no padding).
        let payload = tcp::payload(layer, t, frame);
        black_box(tracker.segment(&Segment {
            src,
            dst,
            tcp: t,
            data: frame,
            payload,
            frame: rec.meta.number,
            ts_ns: rec.meta.ts_ns.unwrap_or(0),
        }));
    }
    tracker.streams()
}

fn stages(c: &mut Criterion) {
    let file_len = std::fs::metadata(path()).unwrap().len();
    let (arena, recs) = common::decoded(CAPTURE);
    let packets = recs.len() as u64;
    let tcp_bytes: u64 = recs
        .iter()
        .filter(|r| r.tcp().is_some())
        .map(|r| r.data.len() as u64)
        .sum();
    let tcp_packets = recs.iter().filter(|r| r.tcp().is_some()).count() as u64;
    for (unit, reader_tp, tcp_tp) in [
        (
            "bytes",
            Throughput::Bytes(file_len),
            Throughput::Bytes(tcp_bytes),
        ),
        (
            "packets",
            Throughput::Elements(packets),
            Throughput::Elements(tcp_packets),
        ),
    ] {
        let mut g = c.benchmark_group(format!("reader_{unit}"));
        g.throughput(reader_tp);
        g.bench_function("batches_of_2048", |b| b.iter(|| read_all(2048)));
        g.finish();

        let mut g = c.benchmark_group(format!("tcp_stage_{unit}"));
        g.throughput(tcp_tp);
        g.bench_function("tracker", |b| {
            b.iter(|| track(&arena, &recs, Reassembly::Off))
        });
        g.bench_function("tracker_with_reassembly", |b| {
            b.iter(|| track(&arena, &recs, Reassembly::All))
        });
        g.finish();
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
