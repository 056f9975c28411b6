//! Display-filter cost: parsing+checking, and evaluation per decoded packet, on the real frames of
//! a corpus capture (HTTP over TCP with ACKs: many packets match `tcp.port==80`, some do not).
//! Reported per element = per packet.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wirelite::engine::FrameState;
use wirelite::field::PacketView;
use wirelite::filter::Filter;

const CAPTURE: &str = "tests/data/corpus/captures/suricata__http-mime-truncated.pcap";
const SIMPLE: &str = "tcp.port==80";
/// Every clause holds for nearly every packet of the capture, so all five are evaluated.
const FIVE: &str = "ip.addr==1.8.31.0/24 && tcp.port in {80, 443} && tcp.len >= 0 && tcp.flags.reset == 0 && frame.len >= 40";

mod common;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parsing");
    for (name, text) in [("simple", SIMPLE), ("five_clauses", FIVE)] {
        g.bench_function(name, |b| {
            b.iter(|| Filter::compile(black_box(text)).unwrap())
        });
    }
    g.finish();

    let (arena, recs) = common::decoded(CAPTURE);
    let state = FrameState::default();
    let mut g = c.benchmark_group("execution");
    g.throughput(Throughput::Elements(recs.len() as u64));
    for (name, text) in [("tcp_port_80", SIMPLE), ("five_clauses", FIVE)] {
        let f = Filter::compile(text).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0u32;
                for r in &recs {
                    let view = PacketView {
                        rec: r,
                        data: &arena[r.data.clone()],
                        state: &state,
                    };
                    n += u32::from(f.matches(black_box(&view)));
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
