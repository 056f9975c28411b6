//! A capture built to exhaust reassembly memory: 400 connections, each missing its first data
//! segment, so every later segment would be held forever. The run must finish within the
//! configured cap, declare the holes as gaps, and report that the cap was reached.

use wirelite::capture::Reader;
use wirelite::engine::{self, MatchAll, Options, Sink};
use wirelite::field::PacketView;
use wirelite::tcp::Reassembly;

const STREAMS: u16 = 400;
const SEGMENTS: u32 = 40;
const MSS: usize = 1400;

/// A classic pcap (Ethernet) of `STREAMS` connections with a hole at the start of each.
fn hostile_capture() -> Vec<u8> {
    let payload = vec![b'x'; MSS];
    let mut frames = Vec::new();
    for s in 0..STREAMS {
        let port = 10_000 + s;
        let conn = crate::support::TcpConn::new(([10, 0, 0, 1], port), ([10, 0, 0, 2], 80));
        frames.push(conn.segment(true, 1000, 0, "S", &[]));
        // Segment 0 (seq 1001) is never sent: everything after it waits for it.
        for i in 1..SEGMENTS {
            let seq = 1001 + i * MSS as u32;
            frames.push(conn.segment(true, seq, 1, "A", &payload));
        }
    }
    crate::support::pcap(1, frames)
}

struct Nothing;

impl Sink for Nothing {
    fn packet(&mut self, _: &PacketView<'_>) -> std::io::Result<()> {
        Ok(())
    }
}

fn run(cap: usize) -> engine::Report {
    let bytes = hostile_capture();
    let reader = Reader::from_read("hostile.pcap", Box::new(std::io::Cursor::new(bytes))).unwrap();
    let opts = Options {
        reassembly: Reassembly::All,
        limits: wirelite::limits::Limits {
            reassembly_bytes: cap,
            ..Default::default()
        },
        ..Options::default()
    };
    engine::run(reader, &opts, &MatchAll, &mut Nothing, &mut |_, _| {}).unwrap()
}

#[test]
fn reassembly_memory_stays_within_the_cap_and_says_so() {
    let unbounded = (STREAMS as usize) * (SEGMENTS as usize - 1) * MSS;
    // Without a binding cap, every held byte stays held: the test does exhaust memory.
    let free = run(usize::MAX);
    assert_eq!(free.reassembly_peak_held, unbounded);
    assert_eq!(free.reassembly_cap_hits, 0);

    let cap = 2 << 20;
    let capped = run(cap);
    assert!(
        capped.reassembly_peak_held <= cap,
        "{} > {cap}",
        capped.reassembly_peak_held
    );
    assert!(capped.reassembly_cap_hits > 0, "the cap hit is reported");
    // Each flush declares that stream's missing first segment a gap, and only that.
    assert_eq!(
        capped.reassembly_missed_bytes,
        capped.reassembly_gaps * MSS as u64
    );
    assert_eq!(capped.frames_read, u64::from(STREAMS) * u64::from(SEGMENTS));
}
