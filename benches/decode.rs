//! Decode throughput on real frames: every frame of the corpus's largest captures, decoded alone
//! and through the whole pipeline (reader, parallel decode, ordered stage, summary formatting into
//! a sink that discards), on 1 thread and on all cores. Throughput is reported in bytes.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wirelite::capture::Reader;
use wirelite::decode::decode_frame;
use wirelite::engine::{self, MatchAll, Options};
use wirelite::output::SummarySink;

const CAPTURE: &str = "tests/data/corpus/captures/suricata__http-mime-truncated.pcap";

fn load() -> (
    Vec<u8>,
    Vec<(wirelite::decode::FrameMeta, std::ops::Range<usize>)>,
) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(CAPTURE);
    let mut reader = Reader::open(path.to_str().unwrap()).unwrap();
    let batch = reader.next_batch(usize::MAX, usize::MAX).unwrap();
    (batch.arena, batch.frames)
}

fn decode(c: &mut Criterion) {
    let (arena, frames) = load();
    let bytes: usize = frames.iter().map(|(_, r)| r.len()).sum();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("decode_frame", |b| {
        b.iter(|| {
            for (meta, range) in &frames {
                black_box(decode_frame(
                    meta.clone(),
                    &arena[range.clone()],
                    range.clone(),
                ));
            }
        })
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(CAPTURE);
    let file_len = std::fs::metadata(&path).unwrap().len();
    g.throughput(Throughput::Bytes(file_len));
    for threads in [1, 0] {
        let name = if threads == 1 {
            "pipeline_1_thread"
        } else {
            "pipeline_all_cores"
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let reader = Reader::open(path.to_str().unwrap()).unwrap();
                let opts = Options {
                    threads,
                    ..Options::default()
                };
                let mut sink = SummarySink::new(std::io::sink());
                engine::run(reader, &opts, &MatchAll, &mut sink, &mut |_, _| {}).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
