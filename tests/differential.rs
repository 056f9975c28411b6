//! wirelite against tshark 4.0.17, cell by cell and line by line, over the whole corpus.

use std::collections::{BTreeMap, HashMap};

use crate::support;

/// The fields issue #2 compares, in the order of the reference dump's columns.
const FIELDS: &[&str] = &[
    "frame.number",
    "frame.len",
    "frame.cap_len",
    "frame.time_epoch",
    "eth.src",
    "eth.dst",
    "eth.type",
    "vlan.id",
    "arp.opcode",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ip.ttl",
    "ip.len",
    "ip.id",
    "ip.flags.mf",
    "ip.frag_offset",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.nxt",
    "icmp.type",
    "icmp.code",
    "icmp.seq",
    "icmpv6.type",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.len",
    "tcp.window_size_value",
    "dns.id",
    "dns.flags.response",
    "dns.flags.rcode",
    "dns.qry.name",
    "dns.qry.type",
    "dns.a",
    "dns.aaaa",
    "dns.cname",
    // Not in the list, but the same reference holds them: the ordered stage's work.
    "tcp.stream",
    "tcp.seq",
    "tcp.ack",
    "tcp.analysis.retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.duplicate_ack",
    // Issue #6: HTTP messages on the frame that completes them.
    "http.request.method",
    "http.request.uri",
    "http.host",
    "http.response.code",
];

/// A capture's tshark fields dump: column of each field name, then one row of cells per frame.
type Reference = (HashMap<String, usize>, Vec<Vec<String>>);

fn reference(cap: &str) -> Option<Reference> {
    let text = support::expected(cap, "fields.tsv");
    let mut lines = text.lines();
    let header: HashMap<String, usize> = lines
        .next()?
        .split('\t')
        .enumerate()
        .map(|(i, h)| (h.to_string(), i))
        .collect();
    let rows = lines
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    Some((header, rows))
}

#[test]
fn fields_agree_with_tshark() {
    let mut check = support::Checked::new("allow/fields.tsv");
    assert!(
        support::captures().iter().any(|c| c == "lab-http.pcap"),
        "the shipped sample must be compared too"
    );
    let mut per_field: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for cap in support::captures() {
        let Some((header, rows)) = reference(&cap) else {
            continue; // tshark refused the file: nothing to compare
        };
        let path = support::capture_path(&cap);
        let mut args = vec!["list", path.to_str().unwrap(), "-T", "fields"];
        for f in FIELDS {
            args.push("-e");
            args.push(f);
        }
        let out = support::wirelite(&args);
        let got: Vec<Vec<String>> = support::stdout(&out)
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect();
        for (n, row) in rows.iter().enumerate() {
            let frame = n as u64 + 1;
            for (i, field) in FIELDS.iter().enumerate() {
                let want = header
                    .get(*field)
                    .and_then(|&c| row.get(c))
                    .map(String::as_str)
                    .unwrap_or("");
                let have = got
                    .get(n)
                    .and_then(|g| g.get(i))
                    .map(String::as_str)
                    .unwrap_or("");
                if want.is_empty() && have.is_empty() {
                    continue;
                }
                let equal = check.compare(&cap, frame, field, want == have, || {
                    format!("tshark {want:?}, wirelite {have:?}")
                });
                let e = per_field.entry(field).or_default();
                e.0 += u64::from(equal);
                e.1 += 1;
            }
        }
    }
    let (same, total) = (check.same, check.total);
    let pct = 100.0 * same as f64 / total as f64;
    eprintln!("fields: {same}/{total} non-empty cells equal to tshark ({pct:.3}%)");
    for (f, (s, t)) in &per_field {
        if s < t {
            eprintln!("  {f}: {s}/{t}");
        }
    }
    check.assert_explained();
    assert!(pct >= 99.5, "agreement {pct:.3}% is below 99.5%");
}

/// The Protocol column of a tshark summary line, and its text after the arrow.
fn protocol_of(line: &str) -> Option<String> {
    let (_, rest) = line.split_once('→')?;
    let toks: Vec<&str> = rest.split_whitespace().collect();
    // destination (maybe empty), protocol, length, info...: the protocol precedes the length.
    (0..toks.len().saturating_sub(1))
        .find(|&k| {
            toks[k + 1].chars().all(|c| c.is_ascii_digit())
                && !toks[k].chars().all(|c| c.is_ascii_digit())
        })
        .map(|k| toks[k].to_string())
}

fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How the packet list's lines agree with tshark's summaries, over every capture with one: the
/// lines `select` picks (by tshark's Protocol column and the frame's `tcp.len`), checked against
/// `allow_file`; and of those, how many are HTTP lines (tshark's Protocol column starts with
/// "HTTP").
fn summary_agreement(
    allow_file: &str,
    select: impl Fn(&str, Option<&str>) -> bool,
) -> (support::Checked, u64) {
    let mut check = support::Checked::new(allow_file);
    let mut http = 0;
    for cap in support::captures() {
        let reference = support::expected(&cap, "summary.txt");
        if reference.is_empty() {
            continue;
        }
        // tcp.len from the fields dump tells which TCP frames carry payload.
        let tcp_len: HashMap<usize, String> = reference_tcp_len(&cap);
        let path = support::capture_path(&cap);
        let out = support::wirelite(&["list", path.to_str().unwrap()]);
        let got: Vec<String> = support::stdout(&out).lines().map(str::to_string).collect();
        for (n, line) in reference.lines().enumerate() {
            let Some(proto) = protocol_of(line) else {
                continue;
            };
            if !select(&proto, tcp_len.get(&(n + 1)).map(String::as_str)) {
                continue;
            }
            http += u64::from(proto.starts_with("HTTP"));
            let have = got.get(n).map(String::as_str).unwrap_or("");
            let equal = normalize(have) == normalize(line);
            check.compare(&cap, n as u64 + 1, "line", equal, || {
                format!("\n  tshark:   {line}\n  wirelite: {have}")
            });
        }
    }
    check.assert_explained();
    (check, http)
}

/// A TCP frame's `tcp.len` says it carries payload.
fn has_payload(tcp_len: Option<&str>) -> bool {
    tcp_len.is_some_and(|l| !l.is_empty() && l != "0")
}

#[test]
fn summary_lines_agree_with_tshark() {
    let (a, _) = summary_agreement("allow/summary.tsv", |proto, tcp_len| match proto {
        "ARP" | "ICMP" | "DNS" => true,
        "TCP" => !has_payload(tcp_len),
        _ => false,
    });
    let pct = 100.0 * a.same as f64 / a.total as f64;
    eprintln!(
        "summary: {}/{} ARP/ICMP/DNS/TCP-without-payload lines equal to tshark ({pct:.2}%)",
        a.same, a.total
    );
    assert!(pct >= 95.0, "agreement {pct:.2}% is below 95%");
}

/// The lines the test above leaves out: HTTP (its messages on the frames that complete them,
/// "Continuation") and TCP segments with payload, marked "[TCP segment of a reassembled PDU]"
/// when their bytes wait in a message a later segment completes. tshark's single pass prints
/// these as the packet list shows them (the corpus README's "Two passes").
#[test]
fn http_and_tcp_payload_lines_agree_with_tshark() {
    let (a, http) = summary_agreement("allow/summary-payload.tsv", |proto, tcp_len| {
        proto.starts_with("HTTP") || (proto == "TCP" && has_payload(tcp_len))
    });
    let pct = 100.0 * a.same as f64 / a.total as f64;
    eprintln!(
        "summary: {}/{} HTTP and TCP-with-payload lines equal to tshark ({pct:.2}%), {} of them \
         HTTP",
        a.same, a.total, http
    );
    // The corpus and the samples hold 325 HTTP lines and about 3,150 TCP lines with payload.
    assert!(
        http >= 300 && a.total >= 3000,
        "{http} HTTP lines, {} in all",
        a.total
    );
    assert!(pct >= 96.0, "agreement {pct:.2}% is below 96%");
}

fn reference_tcp_len(cap: &str) -> HashMap<usize, String> {
    let Some((header, rows)) = reference(cap) else {
        return HashMap::new();
    };
    let Some(&col) = header.get("tcp.len") else {
        return HashMap::new();
    };
    rows.iter()
        .enumerate()
        .filter_map(|(n, r)| {
            r.get(col)
                .map(|v| (n + 1, v.split(',').next().unwrap_or("").to_string()))
        })
        .collect()
}

/// Real bytes through the decoder into a summary line: the first frames of three captures,
/// exactly as tshark printed them.
#[test]
fn table_of_summary_lines() {
    let cases = [
        (
            "tcpdump__tcp-handshake-nano.pcap",
            1,
            "    1 0.000000000 131.155.215.69 → 137.116.81.94 TCP 76 46656 → 80 [SYN] Seq=0 Win=27200 Len=0 MSS=1360 SACK_PERM TSval=1131021154 TSecr=0 WS=128",
        ),
        (
            "zeek__linux_dlt_sll2.pcap",
            5,
            "    5 1543.706702 8e:36:06:44:ac:af →              ARP 48 Who has 192.0.2.2? Tell 192.0.2.1",
        ),
        (
            "arkime__dns-wiresharkrepo.pcap",
            2,
            "    2   0.000530 192.168.170.20 → 192.168.170.8 DNS 98 Standard query response 0x1032 TXT google.com TXT",
        ),
        (
            "zeek__icmp-destunreach-udp.pcap",
            1,
            "    1   0.000000 192.168.1.102 → 192.168.1.1  ICMP 194 Destination unreachable (Port unreachable)",
        ),
    ];
    for (cap, frame, want) in cases {
        let path = support::capture_path(cap);
        let out = support::wirelite(&["list", path.to_str().unwrap()]);
        let text = support::stdout(&out);
        let got = text.lines().nth(frame - 1).unwrap_or("");
        assert_eq!(got, want, "{cap} frame {frame}");
    }
}
