//! `io`: per-interval counts against tshark 4.0's `-z io,stat,1,frame,tcp,udp` (references in
//! tests/data/io for the captures longer than one interval; tshark shrinks the interval of a
//! shorter capture to its duration), a golden terminal chart, and an SVG that is well-formed XML.

use std::process::Command;

use crate::support;

fn io_in_repo(args: &[&str]) -> String {
    let out = Command::new(support::bin())
        .arg("io")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    support::stdout(&out)
}

#[test]
fn interval_counts_equal_tsharks_io_stat() {
    let dir = support::data().join("io/expected");
    let mut rows = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        let Some(cap) = name.strip_suffix(".txt") else {
            continue;
        };
        let reference = std::fs::read_to_string(&path).unwrap();
        // "|  12 <>  13 |  26 |  2595 | ..." → the six numbers.
        let theirs: Vec<Vec<u64>> = reference
            .lines()
            .filter(|l| l.contains("<>"))
            .map(|l| {
                l.split('|')
                    .skip(2)
                    .filter_map(|c| c.trim().parse().ok())
                    .collect()
            })
            .collect();
        let capture = support::capture_path(cap);
        let csv = io_in_repo(&[
            capture.to_str().unwrap(),
            "--interval",
            "1s",
            "--format",
            "csv",
            "-Y",
            "frame",
            "-Y",
            "tcp",
            "-Y",
            "udp",
        ]);
        let ours: Vec<Vec<u64>> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').skip(2).map(|x| x.parse().unwrap()).collect())
            .collect();
        for (i, want) in theirs.iter().enumerate() {
            let zero = vec![0; 6];
            let have = ours.get(i).unwrap_or(&zero);
            assert_eq!(have, want, "{cap}: interval {i}");
            rows += 1;
        }
        assert!(
            ours.len() <= theirs.len(),
            "{cap}: more intervals than tshark"
        );
    }
    assert!(rows > 150, "only {rows} intervals compared");
}

/// A series whose filter reads what the TCP tracker computes (stream numbers, analysis flags,
/// what reassembly delivers) counts the frames the packet list's filter picks, on every capture:
/// the chart runs the tracker only for such filters, and must not miss one. One filter a run:
/// one that turns HTTP parsing on would run the tracker for the others.
#[test]
fn series_that_read_the_tcp_tracker_count_what_the_list_picks() {
    let filters = [
        "tcp.stream==1",
        "tcp.analysis.flags",
        "tcp.analysis.retransmission or tcp.analysis.duplicate_ack",
        "dns",
        "http",
        "tcp.port==80",
    ];
    let mut matched = 0u64;
    for cap in support::captures() {
        let path = support::capture_path(&cap);
        let path = path.to_str().unwrap();
        for f in filters {
            let io = ["io", path, "--format", "csv", "--interval", "24h", "-Y", f];
            let csv = support::stdout(&support::wirelite(&io));
            if csv.is_empty() {
                continue; // not a capture wirelite reads (tests/broken.rs covers those)
            }
            // start_s,end_s,packets,bytes
            let ours: u64 = (csv.lines().skip(1))
                .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
                .sum();
            let out = support::wirelite(&["list", path, "-Y", f, "--count"]);
            let listed: u64 = support::stdout(&out)
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .unwrap();
            assert_eq!(ours, listed, "{cap}: -Y {f}");
            matched += ours;
        }
    }
    assert!(matched > 1000, "only {matched} frames matched");
}

#[test]
fn terminal_chart_is_golden() {
    let got = io_in_repo(&[
        "samples/lab-mixed.pcapng",
        "--interval",
        "30s",
        "-Y",
        "tcp.port==80",
        "-Y",
        "dns",
    ]);
    let want =
        std::fs::read_to_string(support::data().join("golden/io-lab-mixed-30s.txt")).unwrap();
    assert_eq!(
        got, want,
        "regenerate only after checking against tshark -z io,stat,30"
    );
}

#[test]
fn svg_is_well_formed_xml_with_one_line_per_series() {
    let svg = io_in_repo(&[
        "samples/lab-mixed.pcapng",
        "--interval",
        "10s",
        "--format",
        "svg",
        "--metric",
        "bytes",
        "-Y",
        "frame.len < 100 && tcp",
        "-Y",
        "udp",
    ]);
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let lines = root
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .count();
    assert_eq!(lines, 2);
    let texts: Vec<&str> = root.descendants().filter_map(|n| n.text()).collect();
    assert!(texts.contains(&"frame.len < 100 && tcp"), "{texts:?}");
}

#[test]
fn bad_intervals_and_formats_are_usage_errors() {
    for args in [
        ["--interval", "0s"],
        ["--interval", "fast"],
        ["--format", "pdf"],
        ["--metric", "bits"],
    ] {
        let out = support::wirelite(&["io", "samples/lab-http.pcap", args[0], args[1]]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
