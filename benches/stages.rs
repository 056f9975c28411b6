//! The reader, the TCP stage, TCP reassembly and HTTP's tracker, each alone, on real lab traffic
//! (samples/lab-mixed.pcapng: HTTP, DNS, ICMP, refused and dropped connections). Every stage is
//! measured twice, with throughput in bytes and in packets (criterion reports one unit per group).
//! Whole-program figures against tshark and tcpdump come from scripts/bench-peers.sh.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wirelite::app::http::{HttpTracker, SegmentInput};
use wirelite::capture::Reader;
use wirelite::decode::PacketRecord;
use wirelite::tcp::{self, Reassembly, Segment, SegmentInfo, Tracker};

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

/// Every TCP segment of the capture as the engine feeds it to the tracker, with its record's
/// index: the payload never past the IP header's length (no padding).
fn segments<'a>(
    arena: &'a [u8],
    recs: &'a [PacketRecord],
) -> impl Iterator<Item = (usize, Segment<'a>)> + 'a {
    recs.iter().enumerate().filter_map(move |(i, rec)| {
        let (layer, t) = rec.tcp()?;
        let (src, dst) = tcp::endpoints(rec, t.src_port, t.dst_port)?;
        let frame = &arena[rec.data.clone()];
        Some((
            i,
            Segment {
                src,
                dst,
                tcp: t,
                data: frame,
                payload: tcp::payload(layer, t, frame),
                frame: rec.meta.number,
                ts_ns: rec.meta.ts_ns.unwrap_or(0),
            },
        ))
    })
}

/// Feed every TCP segment of the capture to a fresh tracker.
fn track(arena: &[u8], recs: &[PacketRecord], reassembly: Reassembly) -> u32 {
    let mut tracker = Tracker::new().reassembling(reassembly, tcp::MAX_HELD_TOTAL);
    for (_, segment) in segments(arena, recs) {
        black_box(tracker.segment(&segment));
    }
    tracker.streams()
}

/// What reassembly delivers for every TCP segment, as the HTTP tracker is fed it: the
/// segment's record and the tracker's result.
fn delivered(arena: &[u8], recs: &[PacketRecord]) -> Vec<(usize, SegmentInfo)> {
    let mut tracker = Tracker::new().reassembling(Reassembly::All, tcp::MAX_HELD_TOTAL);
    segments(arena, recs)
        .map(|(i, segment)| (i, tracker.segment(&segment)))
        .collect()
}

/// Feed every TCP segment's delivered bytes to a fresh HTTP tracker: the messages completed.
fn parse_http(
    arena: &[u8],
    recs: &[PacketRecord],
    segments: &[(usize, SegmentInfo)],
    framing_only: bool,
) -> usize {
    let mut http = HttpTracker::default();
    if framing_only {
        http = http.framing_only();
    }
    let mut messages = 0;
    let mut got = Vec::new();
    for (i, info) in segments {
        let Some((rec, (layer, t))) = recs.get(*i).and_then(|r| Some((r, r.tcp()?))) else {
            continue;
        };
        let frame = &arena[rec.data.clone()];
        got.clear();
        let segmented = http.segment(
            &SegmentInput {
                stream: info.stream,
                dir: info.dir,
                delivered: &info.delivered,
                payload: tcp::payload(layer, t, frame),
                fin: t.has(wirelite::decode::tcp_flags::FIN),
                rst: t.has(wirelite::decode::tcp_flags::RST),
                frame: rec.meta.number,
                ts_ns: rec.meta.ts_ns.unwrap_or(0),
            },
            &mut got,
        );
        black_box(segmented);
        messages += black_box(&got).len();
    }
    messages
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
    let segments = delivered(&arena, &recs);
    assert!(
        parse_http(&arena, &recs, &segments, false) > 0,
        "{CAPTURE} carries HTTP messages"
    );
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
        g.throughput(tcp_tp.clone());
        g.bench_function("tracker", |b| {
            b.iter(|| track(&arena, &recs, Reassembly::Off))
        });
        g.bench_function("tracker_with_reassembly", |b| {
            b.iter(|| track(&arena, &recs, Reassembly::All))
        });
        g.finish();

        // HTTP's tracker alone, over what reassembly delivered (as the packet list and the
        // http table parse it, and as stats frames messages without their text).
        let mut g = c.benchmark_group(format!("http_stage_{unit}"));
        g.throughput(tcp_tp);
        for (name, framing_only) in [("messages", false), ("framing_only", true)] {
            g.bench_function(name, |b| {
                b.iter(|| parse_http(&arena, &recs, &segments, framing_only))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
