//! Deterministic mutations of every capture in tests/data, run in-process through `list -V`,
//! `list -T json`, `tcp`, `http`, `dns` and `stats` (`tcp` and `http` under `--max-memory 16`):
//! no panic, JSON that parses, no control character from the capture in text output, every run
//! ends within a hang watchdog, and the process's peak memory stays under 2 GB.
//!
//! The mutations, per capture: truncation at every block (record) boundary, and one byte and
//! nine bytes past it (inside the next header); a length field of each of the first blocks, and
//! of blocks spread over the file, set to 0, 1, one more, one less, 2^31 and 2^32-1; bit flips at
//! positions drawn from a fixed seed (a third of them in headers); adjacent records swapped.
//! Truncations at every boundary go through the reader alone, which must yield exactly the
//! blocks before the cut; a spread of them also goes through the six commands.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use wirelite::capture::Reader;
use wirelite::cli::args::Cli;

use crate::support;

/// Hang watchdog for one command on one small mutated capture (they take milliseconds).
const WATCHDOG: Duration = Duration::from_secs(30);
/// Blocks whose length fields are corrupted: the first ones and this many spread over the file.
const LENGTH_BLOCKS: usize = 6;
const BIT_FLIPS: usize = 24;
const SWAPS: usize = 3;
/// Truncations also run through the commands (the rest through the reader only).
const CUTS_THROUGH_COMMANDS: usize = 8;

/// Where each block of a capture starts, and where its length field lies (offset, big endian).
struct Layout {
    blocks: Vec<usize>,
    lengths: Vec<(usize, bool)>,
}

/// Walk the blocks of a classic pcap or pcapng file; `None` for other formats (gzip).
fn layout(b: &[u8]) -> Option<Layout> {
    let u32_at = |at: usize, be: bool| {
        let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if be {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        } as usize)
    };
    let magic = b.get(..4)?;
    let mut out = Layout {
        blocks: Vec::new(),
        lengths: Vec::new(),
    };
    if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        let be = b.get(8..12)? == [0x1a, 0x2b, 0x3c, 0x4d];
        let mut at = 0;
        while at < b.len() {
            let len = u32_at(at + 4, be)?;
            if len < 12 || at + len > b.len() {
                return None;
            }
            out.blocks.push(at);
            out.lengths.push((at + 4, be));
            at += len;
        }
        return Some(out);
    }
    let (be, rec_hdr) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => (false, 16),
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => (true, 16),
        [0x34, 0xcd, 0xb2, 0xa1] => (false, 24),
        [0xa1, 0xb2, 0xcd, 0x34] => (true, 24),
        _ => return None,
    };
    let mut at = 24;
    out.blocks.push(0);
    while at + rec_hdr <= b.len() {
        let caplen = u32_at(at + 8, be)?;
        out.blocks.push(at);
        out.lengths.push((at + 8, be));
        at = at.checked_add(rec_hdr + caplen)?;
    }
    Some(out)
}

/// A small deterministic generator (splitmix64), seeded per capture.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// `n` indexes of `0..len`: the first `n / 2` and the rest spread evenly.
fn spread(len: usize, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..len.min(n / 2)).collect();
    let rest = n - v.len();
    v.extend((1..=rest).map(|i| i * len / (rest + 1)));
    v.sort_unstable();
    v.dedup();
    v.retain(|&i| i < len);
    v
}

fn mutations(name: &str, b: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rng = Rng(name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, c| {
        (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3)
    }));
    let lay = layout(b);
    if let Some(lay) = &lay {
        for i in spread(lay.blocks.len(), CUTS_THROUGH_COMMANDS) {
            let at = lay.blocks[i];
            for cut in [at, at + 1, at + 9] {
                if cut < b.len() {
                    out.push((format!("cut at {cut}"), b[..cut].to_vec()));
                }
            }
        }
        for i in spread(lay.lengths.len(), LENGTH_BLOCKS) {
            let (at, be) = lay.lengths[i];
            let old = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
            let old = if be { old.swap_bytes() } else { old };
            for v in [
                0,
                1,
                old.wrapping_add(1),
                old.wrapping_sub(1),
                1 << 31,
                u32::MAX,
            ] {
                let mut m = b.to_vec();
                let bytes = if be { v.to_be_bytes() } else { v.to_le_bytes() };
                m[at..at + 4].copy_from_slice(&bytes);
                out.push((format!("length at {at} = {v}"), m));
            }
        }
        for _ in 0..SWAPS {
            let n = lay.blocks.len();
            if n < 4 {
                break;
            }
            let i = 1 + rng.below(n - 3);
            let (s, m, e) = (
                lay.blocks[i],
                lay.blocks[i + 1],
                lay.blocks.get(i + 2).copied().unwrap_or(b.len()),
            );
            let mut v = b[..s].to_vec();
            v.extend_from_slice(&b[m..e]);
            v.extend_from_slice(&b[s..m]);
            v.extend_from_slice(&b[e..]);
            out.push((format!("blocks at {s} and {m} swapped"), v));
        }
    } else {
        for frac in [1, 2, 3, 5, 8] {
            let cut = b.len() * frac / 9;
            out.push((format!("cut at {cut}"), b[..cut].to_vec()));
        }
    }
    for k in 0..BIT_FLIPS {
        let at = match (&lay, k % 3) {
            (Some(lay), 0) => lay.blocks[rng.below(lay.blocks.len())] + rng.below(32),
            _ => rng.below(b.len()),
        }
        .min(b.len().saturating_sub(1));
        let mut m = b.to_vec();
        if let Some(byte) = m.get_mut(at) {
            *byte ^= 1 << rng.below(8);
        }
        out.push((format!("bit flip at {at}"), m));
    }
    out
}

/// Run one command line in-process; its stdout, or what went wrong.
fn run(args: &[&str]) -> Result<Vec<u8>, String> {
    let mut argv = vec!["wirelite"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(&argv).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| wirelite::cli::run_with(cli, &mut out)));
    if result.is_err() {
        return Err("panicked".into());
    }
    if started.elapsed() > WATCHDOG {
        return Err(format!("took {:?}", started.elapsed()));
    }
    Ok(out)
}

/// Control characters other than line ends and tabs, which only capture bytes could bring.
fn control_chars(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
}

fn check(path: &Path, what: &str, problems: &mut Vec<String>) {
    let p = path.to_str().unwrap();
    let runs: [&[&str]; 7] = [
        // The packet list shows capture text too (HTTP first lines in the Info column).
        &["list", p],
        &["list", p, "-V"],
        &["list", p, "-T", "json"],
        &["tcp", p, "--max-memory", "16"],
        &["http", p, "--max-memory", "16"],
        &["dns", p],
        &["stats", p],
    ];
    for args in runs {
        let shown = args
            .iter()
            .filter(|a| **a != p)
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        match run(args) {
            Err(e) => problems.push(format!("{what}: {shown}: {e}")),
            Ok(out) => {
                let text = String::from_utf8_lossy(&out);
                if args.contains(&"json") {
                    // Nothing at all (a file that is no capture) is no JSON, not broken JSON.
                    if out.is_empty() {
                        continue;
                    }
                    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&out) {
                        problems.push(format!("{what}: {shown}: invalid JSON: {e}"));
                    }
                } else if let Some(c) = control_chars(&text) {
                    problems.push(format!(
                        "{what}: {shown}: control character {c:?} in output"
                    ));
                }
            }
        }
    }
}

/// The process's peak resident memory (Linux), in kB.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Frames the reader yields from a file, and whether it ended with an error.
fn read_all(path: &Path) -> (usize, bool) {
    let Ok(mut r) = Reader::open(path.to_str().unwrap()) else {
        return (0, true);
    };
    let mut n = 0;
    while let Some(batch) = r.next_batch(64, 1 << 16) {
        n += batch.frames.len();
    }
    (n, r.take_error().is_some())
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelite-mutations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn mutated_captures_never_panic_hang_or_corrupt_output() {
    let dir = temp_dir();
    let mut problems = Vec::new();
    let (mut files, mut runs) = (0, 0);
    for cap in support::captures() {
        let bytes = std::fs::read(support::capture_path(&cap)).unwrap();
        for (i, (what, m)) in mutations(&cap, &bytes).into_iter().enumerate() {
            let path = dir.join(format!("m{i}"));
            std::fs::write(&path, &m).unwrap();
            check(&path, &format!("{cap} ({what})"), &mut problems);
            files += 1;
            runs += 6;
        }
        assert!(problems.len() < 50, "{}", problems.join("\n"));
    }
    eprintln!("mutations: {files} mutated captures, {runs} in-process runs");
    // Memory: the whole test process (other tests run beside this one) stays far below what a
    // length field trusted blindly would allocate.
    if let Some(peak) = peak_rss_kb() {
        eprintln!(
            "mutations: peak resident memory of the test process {} MB",
            peak / 1024
        );
        assert!(peak < 2 << 20, "peak resident memory {peak} kB");
    }
    assert!(files > 3000, "only {files} mutated captures");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A capture cut at a block boundary reads as the blocks before the cut; cut inside a block, it
/// yields the same frames and then an error. Every boundary of every capture.
#[test]
fn truncation_at_every_block_boundary() {
    let dir = temp_dir();
    let mut cuts = 0;
    for cap in support::captures() {
        let bytes = std::fs::read(support::capture_path(&cap)).unwrap();
        let Some(lay) = layout(&bytes) else { continue };
        let whole = dir.join("whole");
        std::fs::write(&whole, &bytes).unwrap();
        if read_all(&whole).1 {
            continue; // a capture that is damaged already
        }
        for (i, &at) in lay.blocks.iter().enumerate().skip(1) {
            let frames_before = {
                let p = dir.join("before");
                std::fs::write(&p, &bytes[..at]).unwrap();
                read_all(&p)
            };
            assert!(
                !frames_before.1,
                "{cap}: cut at block {i} (byte {at}) is an error"
            );
            let inside = dir.join("inside");
            std::fs::write(&inside, &bytes[..at + 1]).unwrap();
            let (n, err) = read_all(&inside);
            assert!(
                err,
                "{cap}: cut 1 byte into block {i} (byte {at}) is not reported"
            );
            assert_eq!(n, frames_before.0, "{cap}: cut into block {i}");
            cuts += 1;
        }
    }
    eprintln!("truncations: {cuts} block boundaries");
    assert!(cuts > 4000, "only {cuts} boundaries");
}

#[test]
fn the_layout_walker_finds_every_frame() {
    // The walker above is test code: check it against the reader on one pcap and one pcapng.
    for cap in ["zeek__http-get.pcap", "lab-mixed.pcapng"] {
        let bytes = std::fs::read(support::capture_path(cap)).unwrap();
        let lay = layout(&bytes).unwrap();
        let (frames, err) = read_all(&support::capture_path(cap));
        assert!(!err);
        let packets = if cap.ends_with("pcapng") {
            frames // pcapng: the reader's frames are a subset of the blocks
        } else {
            lay.blocks.len() - 1
        };
        assert_eq!(frames, packets, "{cap}");
        assert!(lay.blocks.len() > frames / 2, "{cap}");
    }
}
