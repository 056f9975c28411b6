//! The fuzz targets' bodies (`wirelite::fuzzing`, run by `cargo fuzz` from fuzz/) over their
//! seeds from every capture in tests/data and every filter the tests use, and over every input in
//! tests/data/regressions/TARGET/: what fuzzing once crashed on stays fixed, and the targets
//! keep compiling and running with the rest of the code.

use std::collections::BTreeMap;

use wirelite::fuzzing::{TARGETS, seeds};

use crate::support;

fn target(name: &str) -> wirelite::fuzzing::Target {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
        .1
}

#[test]
fn fuzz_targets_run_over_their_seeds() {
    let mut runs: BTreeMap<&str, usize> = BTreeMap::new();
    for cap in support::captures() {
        let bytes = std::fs::read(support::capture_path(&cap)).unwrap();
        let mut per_target: BTreeMap<&str, usize> = BTreeMap::new();
        for (name, seed) in seeds(&bytes) {
            // A sample of each capture's seeds keeps the suite fast; fuzzing uses them all.
            let n = per_target.entry(name).or_default();
            *n += 1;
            if *n > 40 {
                continue;
            }
            target(name)(&seed);
            *runs.entry(name).or_default() += 1;
        }
    }
    let filters = support::data().join("filters/expected");
    for e in std::fs::read_dir(filters).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        for line in text.lines().take(20) {
            target("filter")(line.split('\t').next().unwrap_or("").as_bytes());
            *runs.entry("filter").or_default() += 1;
        }
    }
    eprintln!("fuzz targets over their seeds: {runs:?}");
    for (name, _) in TARGETS {
        assert!(
            runs.get(name).copied().unwrap_or(0) >= 20,
            "{name}: {runs:?}"
        );
    }
}

#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = support::data().join("regressions");
    let mut inputs = 0;
    for t in std::fs::read_dir(&dir).unwrap().flatten() {
        if !t.path().is_dir() {
            continue; // the README
        }
        let name = t.file_name().to_string_lossy().into_owned();
        let run = target(&name);
        for input in std::fs::read_dir(t.path()).unwrap().flatten() {
            run(&std::fs::read(input.path()).unwrap());
            inputs += 1;
        }
    }
    eprintln!("fuzz regressions: {inputs} inputs");
}
