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
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..N {
        if i < N - 4096 {
            groups.push(vec![i, i + 4096]);
        } else if i < 4096 {
            groups.push(vec![i]);
        }
    }
    for (i, c) in conns.iter_mut().enumerate() {
        c.data(true, format!("request {i}\n").as_bytes());
        c.data(false, &vec![b'x'; i % 700]);
        c.data(true, b"thanks\n");
    }
    // Handshakes first, then the data of the streams that share a slot: a request each, then
    // each stream's response and next request. The response finds the other stream in the
    // slot and takes it back, from the stream's second direction; the request after it finds
    // its stream there.
    let mut frames = Vec::new();
    for c in &conns {
        frames.extend(c.frames[..3].iter().cloned());
    }
    for group in &groups {
        frames.extend(group.iter().map(|&i| conns[i].frames[3].clone()));
        for &i in group {
            frames.extend(conns[i].frames[4..].iter().cloned());
        }
    }
    let p = support::temp_capture("stream-cache.pcap", &support::pcap(1, frames));
    let p = p.to_str().unwrap();

    let want = address_sums(p);
    assert_eq!(want.len(), N);
    assert_eq!(
        ip_rows(&json(&["conv", p, "--by", "ip", "-T", "json"])),
        want
    );
    assert_eq!(ip_rows(&json(&["stats", p, "-T", "json"])), want);
}

/// The IP tables remember, for a TCP stream, which of its two directions goes from side A to
/// side B. Here the second connection between two hosts is opened by side B (its first segment
/// goes from B to A), and a third runs between two ports of one address, all of whose frames
/// tshark counts from A to B. Each frame must count the way its addresses say.
#[test]
fn ip_tables_count_a_streams_directions_by_their_addresses() {
    use support::TcpConn;
    let (a, b) = ([10, 0, 1, 10], [10, 0, 1, 21]);
    let mut conns = [
        TcpConn::new((a, 40000), (b, 80)),
        TcpConn::new((b, 40001), (a, 22)),
        TcpConn::new((a, 40002), (a, 8080)),
    ];
    let mut frames = Vec::new();
    for (i, c) in conns.iter_mut().enumerate() {
        c.handshake();
        for round in 0..3 {
            c.data(true, &vec![b'q'; 10 + i + round]);
            c.data(false, &vec![b'r'; 100 + 7 * i + round]);
        }
        frames.extend(c.frames.iter().cloned());
    }
    let p = support::temp_capture("stream-directions.pcap", &support::pcap(1, frames));
    let p = p.to_str().unwrap();
    let want = address_sums(p);
    let (a, b) = ("10.0.1.10".to_string(), "10.0.1.21".to_string());
    // Frames both ways between the two hosts; from the address to itself, all from A to B.
    assert_eq!(want.len(), 2, "{want:?}");
    assert!(want[&(a.clone(), b)].iter().all(|&n| n > 0), "{want:?}");
    assert_eq!(want[&(a.clone(), a)][2], 0, "{want:?}");
    assert_eq!(
        ip_rows(&json(&["conv", p, "--by", "ip", "-T", "json"])),
        want
    );
    assert_eq!(ip_rows(&json(&["stats", p, "-T", "json"])), want);
}

/// What the frames' IP addresses add up to, conversation by conversation: (a, b) -> [frames a
/// to b, bytes a to b, frames b to a, bytes b to a], side A being the first frame's source. A
/// frame from an address to itself counts from A to B, as in tshark's tables.
fn address_sums(p: &str) -> BTreeMap<(String, String), [u64; 4]> {
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
    let mut sums: BTreeMap<(String, String), [u64; 4]> = BTreeMap::new();
    for line in support::stdout(&out).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (src, dst, len) = (
            f[0].to_string(),
            f[1].to_string(),
            f[2].parse::<u64>().unwrap(),
        );
        if src != dst
            && let Some(c) = sums.get_mut(&(dst.clone(), src.clone()))
        {
            c[2] += 1;
            c[3] += len;
        } else {
            let c = sums.entry((src, dst)).or_default();
            c[0] += 1;
            c[1] += len;
        }
    }
    sums
}

/// A JSON table's IP conversations, as [`address_sums`] gives them.
fn ip_rows(doc: &serde_json::Value) -> BTreeMap<(String, String), [u64; 4]> {
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
