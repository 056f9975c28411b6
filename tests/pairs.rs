//! Request/response pairing against tshark 4.0 with two passes (tests/data/pairs, made by
//! make-pair-refs.sh): echo requests with their replies, DNS queries with their responses.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{self, AllowList};

/// Reference rows of a capture: column index by name, and the rows.
fn pair_reference(cap: &str) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let text = std::fs::read_to_string(
        support::data()
            .join("pairs/expected")
            .join(format!("{cap}.tsv")),
    )
    .ok()?;
    let mut lines = text.lines();
    let header = lines.next()?.split('\t').map(str::to_string).collect();
    Some((
        header,
        lines
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect(),
    ))
}

fn cell<'a>(header: &[String], row: &'a [String], name: &str) -> Vec<&'a str> {
    header
        .iter()
        .position(|h| h == name)
        .and_then(|i| row.get(i))
        .map(|v| v.split(',').filter(|x| !x.is_empty()).collect())
        .unwrap_or_default()
}

fn json_of(args: &[&str]) -> serde_json::Value {
    let out = support::wirelite(args);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", support::stderr(&out)))
}

#[test]
fn echo_pairs_equal_tsharks() {
    let allow = AllowList::load("allow/pairs.tsv");
    let (mut total, mut unexplained) = (0, Vec::new());
    for cap in support::captures() {
        let Some((h, rows)) = pair_reference(&cap) else {
            continue;
        };
        // (request frame, reply frame) as tshark -2 pairs them.
        let mut want = BTreeSet::new();
        for r in &rows {
            let frame: u64 = r[0].parse().unwrap();
            let v4 = cell(&h, r, "icmp.type").first() == Some(&"8");
            let v6 = cell(&h, r, "icmpv6.type").first() == Some(&"128");
            if v4 || v6 {
                let resp = if v4 { "icmp.resp_in" } else { "icmpv6.resp_in" };
                let reply = cell(&h, r, resp).first().map(|f| f.parse::<u64>().unwrap());
                want.insert((frame, reply));
            }
        }
        if want.is_empty() {
            continue;
        }
        let path = support::capture_path(&cap);
        let doc = json_of(&["ping", path.to_str().unwrap(), "-T", "json"]);
        let have: BTreeSet<(u64, Option<u64>)> = doc["echoes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["request_frame"].as_u64().unwrap(),
                    e["reply_frame"].as_u64(),
                )
            })
            .collect();
        total += want.len();
        for diff in want.symmetric_difference(&have) {
            if !allow.covers(&cap, diff.0, "echo") {
                unexplained.push(format!(
                    "{cap}: tshark {:?}, wirelite {:?}",
                    want.get(diff),
                    have.get(diff)
                ));
            }
        }
    }
    eprintln!("echo requests compared: {total}");
    assert!(total >= 20, "only {total} echo requests");
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
}

/// A DNS transaction: (query frame, name, type) -> (response frame, rcode, A/AAAA/CNAME answers).
type Txn = BTreeMap<(u64, String, String), Option<(u64, String, Vec<String>)>>;

#[test]
fn dns_pairs_equal_tsharks() {
    let allow = AllowList::load("allow/pairs.tsv");
    let (mut total, mut unexplained) = (0, Vec::new());
    for cap in support::captures() {
        let Some((h, rows)) = pair_reference(&cap) else {
            continue;
        };
        let mut responses = BTreeMap::new();
        for r in &rows {
            let flags = cell(&h, r, "dns.flags.response");
            if flags.len() == 1 && flags[0] == "1" {
                let mut answers: Vec<String> = Vec::new();
                for (f, t) in [("dns.cname", "CNAME"), ("dns.a", "A"), ("dns.aaaa", "AAAA")] {
                    answers.extend(cell(&h, r, f).iter().map(|v| format!("{t} {v}")));
                }
                answers.sort();
                let rcode = cell(&h, r, "dns.flags.rcode")
                    .first()
                    .unwrap_or(&"")
                    .to_string();
                responses.insert(r[0].parse::<u64>().unwrap(), (rcode, answers));
            }
        }
        let mut want: Txn = BTreeMap::new();
        for r in &rows {
            let frame: u64 = r[0].parse().unwrap();
            let (flags, names, types) = (
                cell(&h, r, "dns.flags.response"),
                cell(&h, r, "dns.qry.name"),
                cell(&h, r, "dns.qry.type"),
            );
            let resp_in = cell(&h, r, "dns.response_in");
            for (k, f) in flags.iter().enumerate() {
                if *f != "0" {
                    continue;
                }
                let resp = resp_in.get(k).and_then(|x| x.parse::<u64>().ok());
                let value = resp.map(|rf| {
                    let (rc, ans) = responses.get(&rf).cloned().unwrap_or_default();
                    (rf, rc, ans)
                });
                let key = (
                    frame,
                    names.get(k).unwrap_or(&"").to_string(),
                    types.get(k).unwrap_or(&"").to_string(),
                );
                want.insert(key, value);
            }
        }
        if want.is_empty() {
            continue;
        }
        let path = support::capture_path(&cap);
        let doc = json_of(&["dns", path.to_str().unwrap(), "-T", "json"]);
        let mut have: Txn = BTreeMap::new();
        for q in doc["queries"].as_array().unwrap() {
            let key = (
                q["query_frame"].as_u64().unwrap(),
                q["name"].as_str().unwrap().to_string(),
                q["type"].to_string(),
            );
            let value = q["response_frame"].as_u64().map(|rf| {
                // tshark's dns.a/aaaa/cname hold the records of every section.
                let mut ans: Vec<String> = q["answers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .chain(q["authority_and_additional"].as_array().unwrap())
                    .filter_map(|a| a.as_str())
                    .filter(|a| {
                        a.starts_with("A ") || a.starts_with("AAAA ") || a.starts_with("CNAME ")
                    })
                    .map(str::to_string)
                    .collect();
                ans.sort();
                (rf, q["rcode"].to_string(), ans)
            });
            have.insert(key, value);
        }
        total += want.len();
        let keys: BTreeSet<_> = want.keys().chain(have.keys()).cloned().collect();
        for k in keys {
            if want.get(&k) != have.get(&k) && !allow.covers(&cap, k.0, "dns") {
                unexplained.push(format!(
                    "{cap} {k:?}: tshark {:?}, wirelite {:?}",
                    want.get(&k),
                    have.get(&k)
                ));
            }
        }
    }
    eprintln!("DNS queries compared: {total}");
    assert!(total >= 80, "only {total} queries");
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
}

#[test]
fn ping_statistics_like_ping() {
    let p = support::capture_path("lab-ping-any.pcap");
    let text = support::stdout(&support::wirelite(&["ping", p.to_str().unwrap()]));
    assert!(
        text.contains("--- 10.0.1.20 -> 10.0.2.10: 3 sent, 0 received, 100% loss\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "--- 10.0.1.10 -> 10.0.2.10: 3 sent, 3 received, 0% loss, rtt min/avg/max = "
        ),
        "{text}"
    );
    let only = support::stdout(&support::wirelite(&[
        "ping",
        p.to_str().unwrap(),
        "-Y",
        "ip.src==10.0.1.20",
    ]));
    assert!(
        !only.contains("10.0.1.10 -> "),
        "the filter keeps the NAT host's pings only: {only}"
    );
}

/// tshark's second-pass links (`icmp.resp_in`, `icmpv6.resp_in`, `dns.response_in`), which
/// wirelite computes with a first pass when a field or filter names them; and `udp.stream`.
#[test]
fn links_to_later_frames_equal_tsharks() {
    const LINKS: [&str; 4] = [
        "icmp.resp_in",
        "icmpv6.resp_in",
        "dns.response_in",
        "udp.stream",
    ];
    let allow = AllowList::load("allow/pairs.tsv");
    let (mut linked, mut unexplained) = (0, Vec::new());
    for cap in support::captures() {
        let Some((h, rows)) = pair_reference(&cap) else {
            continue;
        };
        let want: BTreeMap<String, Vec<String>> = rows
            .iter()
            .map(|r| {
                let cells = LINKS.iter().map(|f| cell(&h, r, f).join(",")).collect();
                (r[0].clone(), cells)
            })
            .collect();
        let path = support::capture_path(&cap);
        let mut args = vec!["list", path.to_str().unwrap(), "-T", "fields"];
        args.extend(["-E", "occurrence=a", "-e", "frame.number"]);
        for f in LINKS {
            args.extend(["-e", f]);
        }
        args.extend(["-Y", "icmp || icmpv6 || dns"]);
        let text = support::stdout(&support::wirelite(&args));
        let have: BTreeMap<String, Vec<String>> = text
            .lines()
            .map(|l| {
                let mut it = l.split('\t').map(str::to_string);
                (it.next().unwrap(), it.collect())
            })
            .collect();
        linked += want
            .values()
            .filter(|c| c.iter().any(|x| !x.is_empty()))
            .count();
        for frame in want.keys().chain(have.keys()).collect::<BTreeSet<_>>() {
            if want.get(frame) != have.get(frame)
                && !allow.covers(&cap, frame.parse().unwrap(), "later")
            {
                unexplained.push(format!(
                    "{cap} frame {frame}: tshark {:?}, wirelite {:?}",
                    want.get(frame),
                    have.get(frame)
                ));
            }
        }
    }
    eprintln!("requests with a link to their answer: {linked}");
    assert!(linked >= 100, "only {linked} linked requests");
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
}

/// `list -2` prints what only a second pass knows, as `tshark -n -2` does: "(reply in N)" and
/// "(no response found!)" on echo requests, "[Reassembled in #N]" on IPv4 fragments, and the
/// fragment lines themselves (tests/data/twopass, made by make-twopass-refs.sh).
#[test]
fn two_pass_info_equals_tsharks() {
    let allow = AllowList::load("allow/summary.tsv");
    let dir = support::data().join("twopass/expected");
    let mut compared = 0;
    let mut differ = Vec::new();
    for cap in support::captures() {
        let Ok(reference) = std::fs::read_to_string(dir.join(format!("{cap}.txt"))) else {
            continue;
        };
        let path = support::capture_path(&cap);
        let out = support::wirelite(&["list", "-2", path.to_str().unwrap()]);
        let ours: BTreeMap<u64, String> = support::stdout(&out)
            .lines()
            .filter_map(|l| Some((l.split_whitespace().next()?.parse().ok()?, l.to_string())))
            .collect();
        for line in reference.lines() {
            let frame: u64 = line.split_whitespace().next().unwrap().parse().unwrap();
            compared += 1;
            let have = ours.get(&frame).map(String::as_str).unwrap_or("");
            let same = have.split_whitespace().eq(line.split_whitespace());
            if !same && !allow.covers(&cap, frame, "line") {
                differ.push(format!(
                    "{cap} #{frame}\n  tshark -2: {line}\n  wirelite:  {have}"
                ));
            }
        }
    }
    eprintln!("two-pass Info lines compared: {compared}");
    assert!(compared >= 90, "only {compared} lines compared");
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// `conv`, `io` and the other commands that show no pairs skip pairing, unless their filter
/// reads a field it computes: then they select the frames the packet list selects.
#[test]
fn a_filter_on_a_pairing_field_turns_pairing_on() {
    for (cap, filter) in [
        ("lab-ping-any.pcap", "icmp.resp_to"),
        ("lab-dns.pcap", "dns.time >= 0"),
        ("lab-dns.pcap", "dns.response_to"),
    ] {
        let path = support::capture_path(cap);
        let path = path.to_str().unwrap();
        let listed = support::wirelite(&["list", path, "-Y", filter, "--count"]);
        let listed: u64 = support::stdout(&listed).trim().parse().unwrap();
        assert!(listed > 0, "{cap}: {filter} selects frames in the list");
        let conv = json_of(&["conv", path, "--by", "ip", "-Y", filter, "-T", "json"]);
        let frames: u64 = conv["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["frames"].as_u64().unwrap())
            .sum();
        assert_eq!(frames, listed, "{cap}: conv -Y {filter}");
        let io = support::stdout(&support::wirelite(&["io", path, "-Y", filter]));
        let total = format!("total {filter}: {listed} packets");
        assert!(io.contains(&total), "{cap}: io -Y {filter}:\n{io}");
    }
}

#[test]
fn the_dns_table_writes_an_ipv6_client_as_every_table_does() {
    // Real bytes: queries over IPv6 (with fragmented responses). An IPv6 address is bracketed
    // before its port, as in the tcp and http tables, so the port cannot be read as a group.
    let path = support::capture_path("zeek__ipv6-fragmented-dns.pcap");
    let out = support::wirelite(&["dns", path.to_str().unwrap()]);
    let text = support::stdout(&out);
    let row = text.lines().nth(1).unwrap_or_default();
    assert!(
        row.contains(" [2001:470:1f11:81f:d138:5f55:6d4:1fe2]:51850 "),
        "{row}"
    );
}
