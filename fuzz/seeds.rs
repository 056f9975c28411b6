//! Writes the seed corpora of the fuzz targets (fuzz/corpus/TARGET/) from the captures in
//! tests/data and samples/ (see `wirelite::fuzzing::seeds`), and the display filters the tests
//! use (`filter`):
//!
//!     cargo +nightly run --release --manifest-path fuzz/Cargo.toml --bin seeds

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ is in the repository")
        .to_path_buf();
    let mut seen = HashSet::new();
    let mut written: BTreeMap<&str, usize> = BTreeMap::new();
    let mut put = |target: &'static str, bytes: Vec<u8>| {
        if bytes.is_empty() || !seen.insert((target, bytes.clone())) {
            return;
        }
        let n = written.entry(target).or_default();
        *n += 1;
        let dir = root.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        std::fs::write(dir.join(format!("seed-{n:05}")), bytes).expect("seed written");
    };
    let mut captures = Vec::new();
    for dir in ["tests/data/corpus/captures", "samples"] {
        for e in std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if [".pcap", ".pcapng", ".cap", ".gz", ".ntar"]
                .iter()
                .any(|s| name.ends_with(s))
            {
                captures.push(e.path());
            }
        }
    }
    captures.sort();
    for path in captures {
        let bytes = std::fs::read(&path).expect("capture readable");
        for (target, seed) in wirelite::fuzzing::seeds(&bytes) {
            if target != "reader" || seed.len() < 1 << 20 {
                put(target, seed);
            }
        }
    }
    let filters = root.join("tests/data/filters/expected");
    for e in std::fs::read_dir(filters).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for line in text.lines() {
            put(
                "filter",
                line.split('\t').next().unwrap_or("").as_bytes().to_vec(),
            );
        }
    }
    for (target, n) in written {
        println!("{target}: {n} seeds");
    }
}
