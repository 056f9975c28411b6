//! HTTP against tshark 4.0 with two passes (tests/data/http, made by make-http-refs.sh): every
//! message on the frame tshark shows it on, with its fields and tshark's pairing; and the `http`
//! table's exchanges.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{self, AllowList};

const FILTER: &str = "http.request || http.response";

/// The reference of a capture: header and rows by frame number.
fn reference(cap: &str) -> Option<(String, BTreeMap<u64, String>)> {
    let text =
        std::fs::read_to_string(support::data().join(format!("http/expected/{cap}.tsv"))).ok()?;
    let mut lines = text.lines();
    let header = lines.next()?.to_string();
    let rows = lines
        .map(|l| {
            (
                l.split('\t').next().unwrap().parse().unwrap(),
                l.to_string(),
            )
        })
        .collect();
    Some((header, rows))
}

fn fields() -> Vec<String> {
    std::fs::read_to_string(support::data().join("http/FIELDS.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// wirelite's rows for the reference's fields, by frame number.
fn ours(cap: &str) -> (String, BTreeMap<u64, String>) {
    let path = support::capture_path(cap);
    let mut args = vec![
        "list".to_string(),
        path.to_str().unwrap().to_string(),
        "-T".into(),
        "fields".into(),
        "-E".into(),
        "header=y".into(),
        "-E".into(),
        "occurrence=a".into(),
        "-Y".into(),
        FILTER.into(),
    ];
    for f in fields() {
        args.push("-e".into());
        args.push(f);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = support::wirelite(&args);
    let text = support::stdout(&out);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let rows = lines
        .map(|l| {
            (
                l.split('\t').next().unwrap().parse().unwrap(),
                l.to_string(),
            )
        })
        .collect();
    (header, rows)
}

#[test]
fn http_messages_and_fields_equal_tsharks() {
    let allow = AllowList::load("allow/http.tsv");
    let (mut messages, mut unexplained, mut used) = (0, Vec::new(), BTreeSet::new());
    for cap in support::captures() {
        let Some((header, want)) = reference(&cap) else {
            continue;
        };
        let (our_header, have) = ours(&cap);
        assert_eq!(our_header, header, "{cap}: header");
        messages += want.len();
        let frames: BTreeSet<u64> = want.keys().chain(have.keys()).copied().collect();
        for f in frames {
            if want.get(&f) == have.get(&f) {
                continue;
            }
            if allow.covers(&cap, f, "fields") {
                used.insert((cap.clone(), f));
                continue;
            }
            unexplained.push(format!(
                "{cap} frame {f}:\n  tshark   {:?}\n  wirelite {:?}",
                want.get(&f),
                have.get(&f)
            ));
        }
    }
    eprintln!("HTTP message frames compared: {messages}");
    assert!(messages >= 300, "only {messages} frames with HTTP messages");
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
    for (cap, f, what) in allow.rows().filter(|r| r.2 == "fields") {
        assert!(
            used.contains(&(cap.to_string(), f)),
            "allow/http.tsv: {cap} {f} {what} is no longer needed"
        );
    }
}

/// (request frame, method, URI) -> (response frame, status code), from a reference or a table.
type Pairs = BTreeMap<(u64, String, String), Option<(u64, String)>>;

fn tshark_pairs(header: &str, rows: &BTreeMap<u64, String>) -> Pairs {
    let h: Vec<&str> = header.split('\t').collect();
    let col = |row: &str, name: &str| -> Vec<String> {
        let i = h.iter().position(|x| *x == name).unwrap();
        let v = row.split('\t').nth(i).unwrap_or("");
        v.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut pairs = Pairs::new();
    for (frame, row) in rows {
        let methods = col(row, "http.request.method");
        // URIs may hold commas, the occurrence separator: one request means one whole URI.
        let mut uris = col(row, "http.request.uri");
        if methods.len() == 1 {
            uris = vec![uris.join(",")];
        }
        let resp = col(row, "http.response_in");
        for (k, m) in methods.iter().enumerate() {
            let answer = resp.get(k).map(|r| {
                let r: u64 = r.parse().unwrap();
                let code = rows
                    .get(&r)
                    .map(|rr| col(rr, "http.response.code").join(","))
                    .unwrap_or_default();
                (r, code)
            });
            pairs.insert(
                (*frame, m.clone(), uris.get(k).cloned().unwrap_or_default()),
                answer,
            );
        }
    }
    pairs
}

#[test]
fn http_exchanges_equal_tsharks() {
    let allow = AllowList::load("allow/http.tsv");
    let (mut total, mut unexplained, mut used) = (0, Vec::new(), BTreeSet::new());
    for cap in support::captures() {
        let Some((header, rows)) = reference(&cap) else {
            continue;
        };
        let want = tshark_pairs(&header, &rows);
        if want.is_empty() {
            continue;
        }
        let path = support::capture_path(&cap);
        let out = support::wirelite(&["http", path.to_str().unwrap(), "-T", "json"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut have = Pairs::new();
        for x in doc["exchanges"].as_array().unwrap() {
            let Some(req) = x["request"]["frame"].as_u64() else {
                continue;
            };
            let resp = x["response"]["frame"]
                .as_u64()
                .map(|f| (f, x["status"].as_u64().unwrap().to_string()));
            let key = (
                req,
                x["method"].as_str().unwrap().to_string(),
                x["uri"].as_str().unwrap().to_string(),
            );
            have.insert(key, resp);
        }
        total += want.len();
        let keys: BTreeSet<_> = want.keys().chain(have.keys()).cloned().collect();
        for k in keys {
            if want.get(&k) == have.get(&k) {
                continue;
            }
            if allow.covers(&cap, k.0, "pair") {
                used.insert((cap.clone(), k.0));
                continue;
            }
            unexplained.push(format!(
                "{cap} request {k:?}: tshark {:?}, wirelite {:?}",
                want.get(&k),
                have.get(&k)
            ));
        }
    }
    eprintln!("HTTP requests compared: {total}");
    assert!(total >= 100, "only {total} requests");
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
    for (cap, f, _) in allow.rows().filter(|r| r.2 == "pair") {
        assert!(
            used.contains(&(cap.to_string(), f)),
            "allow/http.tsv: {cap} {f} pair is no longer needed"
        );
    }
}

#[test]
fn table_commands_filter_on_http_and_second_pass_fields() {
    let p = support::capture_path("lab-keepalive.pcapng");
    let p = p.to_str().unwrap();
    // The one 404 response: its connection, and its frame counted as a conversation.
    let tcp = support::stdout(&support::wirelite(&[
        "tcp",
        p,
        "-Y",
        "http.response.code==404",
    ]));
    assert!(tcp.contains("1 connection:"), "{tcp}");
    let conv: serde_json::Value = serde_json::from_slice(
        &support::wirelite(&[
            "conv",
            p,
            "--by",
            "tcp",
            "-Y",
            "http.response.code==404",
            "-T",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(conv["conversations"][0]["frames"], 1);
    // Requests whose response a later frame carries (a first pass finds them).
    let conv: serde_json::Value = serde_json::from_slice(
        &support::wirelite(&[
            "conv",
            p,
            "--by",
            "ip",
            "-Y",
            "http.response_in",
            "-T",
            "json",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(conv["conversations"][0]["frames"], 4);
}

/// A proxy connection switched to a tunnel by CONNECT, and a keep-alive connection that gets a
/// stray line end typed after its exchange. tshark 4.0.17 (`tshark -n -r`) shows the lines
/// pinned here; the tunnel's bytes it shows as TLS, which wirelite does not decode: they stay
/// TCP, and are not taken for HTTP's continuation.
#[test]
fn the_list_tells_a_tunnel_from_a_stray_line_end() {
    let conn = |port: u16, talk: &[(bool, &[u8])]| {
        let mut c = support::TcpConn::new(([10, 0, 1, 20], port), ([10, 0, 1, 10], 3128));
        c.handshake();
        for &(from_client, data) in talk {
            c.data(from_client, data);
        }
        c.frames
    };
    let mut frames = conn(
        40000,
        &[
            (
                true,
                b"CONNECT db.lab:443 HTTP/1.1\r\nHost: db.lab:443\r\n\r\n",
            ),
            (false, b"HTTP/1.1 200 Connection established\r\n\r\n"),
            (true, b"\x16\x03\x01\x00\x05hello"),
            (false, b"\x16\x03\x03\x00\x02hi"),
        ],
    );
    frames.extend(conn(
        40001,
        &[
            (true, b"GET / HTTP/1.1\r\nHost: web\r\n\r\n"),
            (false, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            (true, b"\r\n"),
        ],
    ));
    let p = support::temp_capture("proxy.pcap", &support::pcap(1, frames));
    let out = support::wirelite(&["list", p.to_str().unwrap()]);
    let lines: Vec<String> = support::stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>().join(" "))
        .collect();
    let line = |n: usize| lines.get(n - 1).map(String::as_str).unwrap_or("");
    assert_eq!(
        line(4),
        "10.0.1.20 → 10.0.1.10 HTTP 103 CONNECT db.lab:443 HTTP/1.1"
    );
    assert_eq!(
        line(5),
        "10.0.1.10 → 10.0.1.20 HTTP 93 HTTP/1.1 200 Connection established"
    );
    for n in [6, 7] {
        assert!(
            line(n).contains(" TCP ") && line(n).contains(" Len="),
            "{}",
            line(n)
        );
    }
    assert_eq!(line(11), "10.0.1.20 → 10.0.1.10 HTTP 83 GET / HTTP/1.1");
    assert_eq!(line(12), "10.0.1.10 → 10.0.1.20 HTTP 92 HTTP/1.1 200 OK");
    assert_eq!(line(13), "10.0.1.20 → 10.0.1.10 HTTP 56 Continuation");
}

/// `frame.protocols` names HTTP and the dissector of each message's body (`data-text-lines`,
/// `json`, `media`...) as tshark -2 does, on every frame where either lists `http`.
#[test]
fn frame_protocols_of_http_frames_equal_tsharks() {
    let mut check = support::Checked::new("allow/protocols.tsv");
    for cap in support::captures() {
        let text = support::expected(&cap, "fields.tsv");
        let mut lines = text.lines();
        let Some(col) = lines
            .next()
            .and_then(|h| h.split('\t').position(|c| c == "frame.protocols"))
        else {
            continue;
        };
        let theirs: Vec<&str> = lines
            .map(|l| l.split('\t').nth(col).unwrap_or(""))
            .collect();
        let path = support::capture_path(&cap);
        let out = support::wirelite(&[
            "list",
            path.to_str().unwrap(),
            "-2",
            "-T",
            "fields",
            "-e",
            "frame.protocols",
        ]);
        let text = support::stdout(&out);
        let ours: Vec<&str> = text.lines().collect();
        for (i, t) in theirs.iter().enumerate() {
            let w = ours.get(i).copied().unwrap_or("");
            if !t.contains("http") && !w.contains("http") {
                continue;
            }
            check.compare(&cap, i as u64 + 1, "frame.protocols", *t == w, || {
                format!("tshark {t}, wirelite {w}")
            });
        }
    }
    let (same, frames) = (check.same, check.total);
    eprintln!("frame.protocols: {same}/{frames} HTTP frames equal to tshark's");
    check.assert_explained();
    // The corpus and the samples hold 326 frames where tshark lists http.
    assert!(
        frames >= 320 && same * 100 >= frames * 97,
        "{same}/{frames}"
    );
}
