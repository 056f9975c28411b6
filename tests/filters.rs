//! Display filters: the frames each filter selects equal tshark's on every capture, and every
//! malformed filter gets its pinned message (tshark 4.0's text and caret, see errors.txt).

use std::collections::BTreeSet;

use crate::support::{self, AllowList};

/// `FILTER<TAB>frames` lines: tshark's verdicts (tests/data/filters/make-filter-refs.sh and the
/// corpus's own filters.tsv).
fn references(cap: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let own = support::data()
        .join("filters/expected")
        .join(format!("{cap}.tsv"));
    let own = std::fs::read_to_string(&own)
        .unwrap_or_else(|_| panic!("no filter references for {cap}: run make-filter-refs.sh"));
    for text in [own, support::expected(cap, "filters.tsv")] {
        for line in text.lines() {
            let (f, frames) = line.split_once('\t').unwrap_or((line, ""));
            out.push((f.to_string(), frames.to_string()));
        }
    }
    out
}

#[test]
fn filters_select_the_frames_tshark_selects() {
    let allow = AllowList::load("allow/filters.tsv");
    let mut distinct = BTreeSet::new();
    let (mut pairs, mut same) = (0, 0);
    let mut unexplained = Vec::new();
    for cap in support::captures() {
        let path = support::capture_path(&cap);
        let refs = references(&cap);
        for (filter, want) in &refs {
            // tshark could not read this capture at all: nothing to compare.
            if support::expected(&cap, "status.txt").contains("## fields exit=2") && want.is_empty()
            {
                continue;
            }
            distinct.insert(filter.clone());
            let (got, out) = selected(&path, filter);
            pairs += 1;
            if &got == want {
                same += 1;
            } else if !allow.covers(&cap, 0, filter) {
                unexplained.push(format!(
                    "{cap} [{filter}]: tshark {want:?}, wirelite {got:?} {}",
                    support::stderr(&out).trim()
                ));
            }
        }
    }
    eprintln!(
        "filters: {same}/{pairs} (capture, filter) pairs select exactly tshark's frames; {} distinct filters",
        distinct.len()
    );
    assert!(
        distinct.len() >= 80,
        "only {} distinct filters compared",
        distinct.len()
    );
    assert!(
        unexplained.is_empty(),
        "not in tests/data/allow/filters.tsv:\n{}",
        unexplained.join("\n")
    );
}

/// errors.txt: `### FILTER`, optional `# differs:` comments, then the expected stderr lines.
fn pinned_errors() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(support::data().join("filters/errors.txt")).unwrap();
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("### ") {
            out.push((f.to_string(), Vec::new()));
        } else if line.starts_with('#') {
            continue;
        } else if let Some((_, lines)) = out.last_mut() {
            lines.push(line.to_string());
        }
    }
    out.into_iter().map(|(f, l)| (f, l.join("\n"))).collect()
}

#[test]
fn malformed_filters_get_their_pinned_messages() {
    let cases = pinned_errors();
    assert!(cases.len() >= 40, "{} pinned cases", cases.len());
    for (filter, want) in cases {
        let out = support::wirelite(&["filter-check", &filter]);
        assert_eq!(out.status.code(), Some(2), "{filter}");
        assert_eq!(
            support::stderr(&out),
            format!("wirelite: {want}\n"),
            "{filter}"
        );
        // `list` rejects it the same way before touching the capture.
        let out = support::wirelite(&["list", "/no/such/capture.pcap", "-Y", &filter]);
        assert_eq!(out.status.code(), Some(2), "{filter}");
        assert!(!support::stderr(&out).contains("cannot open"), "{filter}");
    }
}

/// The frame numbers a filter selects, comma-joined, and the run's output.
fn selected(path: &std::path::Path, filter: &str) -> (String, std::process::Output) {
    let out = support::wirelite(&[
        "list",
        path.to_str().unwrap(),
        "-Y",
        filter,
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    let frames = support::stdout(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(",");
    (frames, out)
}

fn frames(filter: &str) -> String {
    let (frames, out) = selected(
        &support::capture_path("zeek__tcp-retransmit-fast009.pcap"),
        filter,
    );
    assert!(out.status.success(), "{filter}: {}", support::stderr(&out));
    frames
}

/// Syntax newer Wireshark accepts and 4.0 does not, checked by equivalence.
#[test]
fn xor_and_space_separated_sets() {
    let a = "tcp.len > 0";
    let b = "tcp.flags.push == 1";
    assert_eq!(
        frames(&format!("{a} xor {b}")),
        frames(&format!("({a} && !({b})) || (!({a}) && {b})"))
    );
    assert_eq!(
        frames(&format!("{a} ^^ {b}")),
        frames(&format!("{a} xor {b}"))
    );
    assert_eq!(
        frames("tcp.srcport in {80 443 8000..8090}"),
        frames("tcp.srcport in {80, 443, 8000..8090}")
    );
    assert!(!frames("tcp.srcport in {80 443 8000..8090}").is_empty());
}

/// `--count` with a filter over packet fields counts on the decode pool (the ordered stage sees
/// only IP fragments); with a stream field it goes through the ordered stage. Both must count
/// what the list shows, on every capture.
#[test]
fn count_only_counts_what_the_list_shows() {
    let mut nonzero = 0;
    for cap in support::captures() {
        let p = support::capture_path(&cap);
        let p = p.to_str().unwrap();
        for filter in [
            "tcp.port == 80",
            "udp",
            "ip.len > 500",
            "tcp.stream == 1",
            "dns",
        ] {
            let listed = support::stdout(&support::wirelite(&["list", p, "-Y", filter]))
                .lines()
                .count();
            let out = support::wirelite(&["list", p, "-Y", filter, "--count"]);
            let counted = support::stdout(&out);
            if counted.is_empty() && !out.status.success() {
                // A capture that cannot be opened: nothing listed, nothing counted.
                assert_eq!(listed, 0, "{cap}");
                continue;
            }
            assert_eq!(counted.trim(), listed.to_string(), "{cap} [{filter}]");
            nonzero += usize::from(listed > 0);
        }
    }
    assert!(
        nonzero > 50,
        "only {nonzero} (capture, filter) pairs matched anything"
    );
}
