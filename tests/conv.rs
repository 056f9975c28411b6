//! `conv` and `endpoints` against tshark 4.0's `-z conv,X` and `-z endpoints,X` (references in
//! tests/data/conv, made by make-conv-refs.sh), row for row: addresses, ports, frames and bytes
//! each way, relative start and duration, in tshark's order.

use std::collections::BTreeMap;

use crate::support::{self, AllowList};

const KINDS: [(&str, &str); 5] = [
    ("eth", "Ethernet"),
    ("ip", "IPv4"),
    ("ipv6", "IPv6"),
    ("tcp", "TCP"),
    ("udp", "UDP"),
];

/// The tables of a reference file by title ("TCP Conversations"): their data rows, split on blanks.
fn tables(cap: &str) -> Option<BTreeMap<String, Vec<Vec<String>>>> {
    let text =
        std::fs::read_to_string(support::data().join(format!("conv/expected/{cap}.txt"))).ok()?;
    let mut out = BTreeMap::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if !l.starts_with("====") {
            continue;
        }
        // A rule ends one table and another starts the next: the title follows the second.
        let Some(title) = lines.next_if(|t| !t.starts_with("====")) else {
            continue;
        };
        let mut rows = Vec::new();
        while let Some(l) = lines.next_if(|l| !l.starts_with("====")) {
            if l.starts_with("Filter:") || l.trim_start().starts_with('|') || l.trim().is_empty() {
                continue;
            }
            rows.push(l.split_whitespace().map(str::to_string).collect());
        }
        out.insert(title.to_string(), rows);
    }
    Some(out)
}

/// Wireshark's format_size with SI prefixes: "N bytes" below 10 kB, else whole kB, MB, ...
fn size(n: u64) -> String {
    let mut v = n;
    for unit in ["bytes", "kB", "MB", "GB", "TB"] {
        if v / 1000 < 10 || unit == "TB" {
            return format!("{v} {unit}");
        }
        v /= 1000;
    }
    unreachable!()
}

fn side(v: &serde_json::Value) -> String {
    match v["port"].as_u64() {
        Some(p) => format!("{}:{p}", v["address"].as_str().unwrap()),
        None => v["address"].as_str().unwrap().to_string(),
    }
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = support::wirelite(args);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", support::stderr(&out)))
}

#[test]
fn conversations_and_endpoints_equal_tsharks() {
    let allow = AllowList::load("allow/conv.tsv");
    let (mut rows, mut unexplained) = (0, Vec::new());
    let mut used = std::collections::BTreeSet::new();
    for cap in support::captures() {
        // tshark could not read some captures at all: no tables to compare.
        let Some(tables) = tables(&cap).filter(|t| !t.is_empty()) else {
            continue;
        };
        let path = support::capture_path(&cap);
        let p = path.to_str().unwrap();
        for (by, title) in KINDS {
            let allowed = allow.rows().any(|(c, _, w)| c == cap && w == by);
            // tshark (reading in its order) gives A <- (B to A) -> (A to B) and totals; wirelite
            // gives A, B, A to B, B to A.
            let want: Vec<String> = tables[&format!("{title} Conversations")]
                .iter()
                .map(|r| r.join(" "))
                .collect();
            let doc = json(&["conv", p, "--by", by, "-T", "json"]);
            let have: Vec<String> = doc["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let n = |k: &str| c[k].as_u64().unwrap();
                    format!(
                        "{} <-> {} {} {} {} {} {} {} {} {}",
                        side(&c["a"]),
                        side(&c["b"]),
                        n("frames_b_to_a"),
                        size(n("bytes_b_to_a")),
                        n("frames_a_to_b"),
                        size(n("bytes_a_to_b")),
                        n("frames"),
                        size(n("bytes")),
                        c["start"].as_str().unwrap(),
                        c["duration"].as_str().unwrap()
                    )
                })
                .collect();
            let mut compare = |table: &str, want: Vec<String>, have: Vec<String>| {
                rows += want.len();
                if want != have && allowed {
                    used.insert((cap.clone(), by));
                } else if want != have {
                    unexplained.push(format!(
                        "{cap} {table} {by}:\n  tshark   {want:?}\n  wirelite {have:?}"
                    ));
                }
            };
            compare("conv", want, have);
            let want: Vec<String> = tables[&format!("{title} Endpoints")]
                .iter()
                .map(|r| r.join(" "))
                .collect();
            let doc = json(&["endpoints", p, "--by", by, "-T", "json"]);
            let have: Vec<String> = doc["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let n = |k: &str| e[k].as_u64().unwrap().to_string();
                    let mut cells = vec![e["address"].as_str().unwrap().to_string()];
                    if let Some(port) = e["port"].as_u64() {
                        cells.push(port.to_string());
                    }
                    for k in [
                        "frames",
                        "bytes",
                        "tx_frames",
                        "tx_bytes",
                        "rx_frames",
                        "rx_bytes",
                    ] {
                        cells.push(n(k));
                    }
                    cells.join(" ")
                })
                .collect();
            compare("endpoints", want, have);
        }
    }
    eprintln!("conversation and endpoint rows compared: {rows}");
    assert!(rows >= 500, "only {rows} rows");
    assert!(
        unexplained.is_empty(),
        "{} tables differ:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    for (cap, _, by) in allow.rows() {
        assert!(
            used.contains(&(cap.to_string(), by)),
            "allow/conv.tsv: {cap} {by} is no longer needed"
        );
    }
}

#[test]
fn sorting_and_bad_arguments() {
    let p = support::capture_path("lab-mixed.pcapng");
    let p = p.to_str().unwrap();
    let doc = json(&["conv", p, "--by", "tcp", "--sort", "start", "-T", "json"]);
    let starts: Vec<f64> = doc["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["start"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(starts.len() > 5 && starts.windows(2).all(|w| w[0] <= w[1]));
    let doc = json(&[
        "endpoints",
        p,
        "--by",
        "ip",
        "--sort",
        "bytes",
        "-T",
        "json",
    ]);
    let bytes: Vec<u64> = doc["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["bytes"].as_u64().unwrap())
        .collect();
    assert!(bytes.len() > 2 && bytes.windows(2).all(|w| w[0] >= w[1]));
    for bad in [["--by", "ipx"], ["--sort", "size"]] {
        let out = support::wirelite(&["conv", p, bad[0], bad[1]]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

/// The IP tables find a TCP frame's conversation by its stream in a fixed cache of 4,096 slots
/// (stream mod 4,096). Here 4,200 connections from as many address pairs are opened, then their
/// data alternates between stream n and stream n + 4,096, which share a slot. Each IP
/// conversation's frames and bytes each way must be what the frames' own addresses add up to.
#[test]
fn ip_tables_count_streams_that_share_a_cache_slot_by_their_addresses() {
    use support::TcpConn;
    const N: usize = 4200;
    let mut conns: Vec<TcpConn> = (0..N)
        .map(|i| {
            let client = [10, 1, (i / 200) as u8, (i % 200) as u8 + 1];
            let server = [10, 0, 1, 10 + (i % 3) as u8];
            TcpConn::new((client, 40000 + (i % 1000) as u16), (server, 80))
        })
        .collect();
    for c in &mut conns {
        c.handshake();
    }
    let mut order: Vec<usize> = Vec::new();
    for i in 0..N {
        if i < N - 4096 {
            order.extend([i, i + 4096]);
        } else if i < 4096 {
            order.push(i);
        }
    }
    for &i in &order {
        let c = &mut conns[i];
        c.data(true, format!("request {i}\n").as_bytes());
        c.data(false, &vec![b'x'; i % 700]);
    }
    // Frames in the order written: handshakes first, then the interleaved data.
    let mut frames = Vec::new();
    for c in &conns {
        frames.extend(c.frames[..3].iter().cloned());
    }
    for &i in &order {
        frames.extend(conns[i].frames[3..].iter().cloned());
    }
    let p = support::temp_capture("stream-cache.pcap", &support::pcap(1, frames));
    let p = p.to_str().unwrap();

    // What the frames' addresses add up to: (a, b) -> [frames a->b, bytes a->b, b->a ...].
    let out = support::wirelite(&[
        "list",
        p,
        "-T",
        "fields",
        "-e",
        "ip.src",
        "-e",
        "ip.dst",
        "-e",
        "frame.len",
    ]);
    let mut want: BTreeMap<(String, String), [u64; 4]> = BTreeMap::new();
    for line in support::stdout(&out).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (src, dst, len) = (
            f[0].to_string(),
            f[1].to_string(),
            f[2].parse::<u64>().unwrap(),
        );
        if let Some(c) = want.get_mut(&(dst.clone(), src.clone())) {
            c[2] += 1;
            c[3] += len;
        } else {
            let c = want.entry((src, dst)).or_default();
            c[0] += 1;
            c[1] += len;
        }
    }
    assert_eq!(want.len(), N);

    let rows = |doc: &serde_json::Value| -> BTreeMap<(String, String), [u64; 4]> {
        doc["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let n = |k: &str| c[k].as_u64().unwrap();
                (
                    (side(&c["a"]), side(&c["b"])),
                    [
                        n("frames_a_to_b"),
                        n("bytes_a_to_b"),
                        n("frames_b_to_a"),
                        n("bytes_b_to_a"),
                    ],
                )
            })
            .collect()
    };
    assert_eq!(rows(&json(&["conv", p, "--by", "ip", "-T", "json"])), want);
    assert_eq!(rows(&json(&["stats", p, "-T", "json"])), want);
}

/// `stats` counts each frame in the IPv4 or the IPv6 table by its outer IP header, without
/// asking the other: its conversations must be `conv --by ip`'s and `conv --by ipv6`'s, on
/// every capture.
#[test]
fn stats_conversations_are_the_ip_and_ipv6_tables() {
    let mut with_v6 = 0;
    for cap in support::captures() {
        let p = support::capture_path(&cap);
        let p = p.to_str().unwrap();
        let rows = |doc: &serde_json::Value| -> Vec<String> {
            let mut r: Vec<String> = doc["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.to_string())
                .collect();
            r.sort();
            r
        };
        let out = support::wirelite(&["stats", p, "-T", "json"]);
        let Ok(doc) = serde_json::from_slice(&out.stdout) else {
            continue; // not a capture wirelite reads (the broken-file tests cover those)
        };
        let stats = rows(&doc);
        let v4 = rows(&json(&["conv", p, "--by", "ip", "-T", "json"]));
        let v6 = rows(&json(&["conv", p, "--by", "ipv6", "-T", "json"]));
        with_v6 += usize::from(!v6.is_empty() && !v4.is_empty());
        let mut both = [v4, v6].concat();
        both.sort();
        assert_eq!(stats, both, "{cap}");
    }
    assert!(
        with_v6 >= 3,
        "captures with both IPv4 and IPv6 conversations: {with_v6}"
    );
}
