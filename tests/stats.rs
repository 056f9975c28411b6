//! `stats` against capinfos and tshark 4.0's `-q -z io,phs` (references in tests/data/stats, made
//! by make-stats-refs.sh): packets, bytes, first and last time, duration and rates equal
//! capinfos'; the protocol hierarchy's frames and bytes equal tshark's for every node whose path
//! holds only protocols wirelite decodes.

use std::collections::BTreeMap;

use crate::support::{self, AllowList};

/// Protocols wirelite decodes, by their hierarchy names. A node is compared when every protocol
/// on its path is one of these (`data` is left out: tshark has dissectors for payloads wirelite
/// leaves undissected). After `http` come the dissectors tshark hands bodies to, named by their
/// media type, and `tcp.segments` for a message TCP reassembled.
const DECODED: [&str; 25] = [
    "eth",
    "sll",
    "null",
    "raw",
    "vlan",
    "ieee8021ad",
    "arp",
    "ip",
    "ipv6",
    "icmp",
    "icmpv6",
    "udp",
    "tcp",
    "dns",
    "http",
    "data-text-lines",
    "json",
    "xml",
    "png",
    "image-jfif",
    "image-gif",
    "urlencoded-form",
    "mime_multipart",
    "media",
    "tcp.segments",
];

type Tree = BTreeMap<Vec<String>, (u64, u64)>;

fn reference(cap: &str) -> Option<(BTreeMap<String, String>, Tree)> {
    let text =
        std::fs::read_to_string(support::data().join(format!("stats/expected/{cap}.txt"))).ok()?;
    let mut info = BTreeMap::new();
    let mut tree = Tree::new();
    let mut stack: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(':')
            && !line.starts_with(' ')
            && !line.contains("frames:")
        {
            info.insert(k.trim().to_string(), v.trim().to_string());
            continue;
        }
        let Some((name_part, counts)) = line.split_once("frames:") else {
            continue;
        };
        let depth = (line.len() - line.trim_start().len()) / 2;
        let name = name_part.trim().to_string();
        let (frames, bytes) = counts.split_once(" bytes:").unwrap();
        stack.truncate(depth);
        stack.push(name);
        tree.insert(
            stack.clone(),
            (
                frames.trim().parse().unwrap(),
                bytes.trim().parse().unwrap(),
            ),
        );
    }
    Some((info, tree))
}

fn ours(node: &serde_json::Value, path: &mut Vec<String>, out: &mut Tree) {
    path.push(node["protocol"].as_str().unwrap().to_string());
    out.insert(
        path.clone(),
        (
            node["frames"].as_u64().unwrap(),
            node["bytes"].as_u64().unwrap(),
        ),
    );
    for c in node["children"].as_array().unwrap() {
        ours(c, path, out);
    }
    path.pop();
}

/// capinfos' number without its unit ("59004.63 bytes/sec" → "59004.63").
fn number(info: &BTreeMap<String, String>, key: &str) -> String {
    info.get(key)
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("")
        .to_string()
}

#[test]
fn capinfos_figures_and_protocol_hierarchy_equal_the_references() {
    let allow = AllowList::load("allow/stats.tsv");
    let mut figures = 0;
    let mut nodes = 0;
    let mut differ = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for cap in support::captures() {
        let Some((info, theirs)) = reference(&cap) else {
            continue;
        };
        let path = support::capture_path(&cap);
        let out = support::wirelite(&["stats", path.to_str().unwrap(), "-T", "json"]);
        if out.stdout.is_empty() && !info.contains_key("Number of packets") {
            continue; // neither tool can read it
        }
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{cap}: {e}: {}", support::stderr(&out)));
        let rate = |k: &str| {
            doc[k]
                .as_f64()
                .map_or("n/a".to_string(), |v| format!("{v:.2}"))
        };
        let text = |k: &str| doc[k].as_str().unwrap_or("n/a").to_string();
        let pairs = [
            ("Number of packets", doc["packets"].to_string()),
            ("Data size", doc["bytes"].to_string()),
            ("First packet time", text("first_time")),
            ("Last packet time", text("last_time")),
            ("Capture duration", text("duration")),
            ("Data byte rate", rate("data_byte_rate")),
            ("Data bit rate", rate("data_bit_rate")),
            ("Average packet size", rate("average_packet_size")),
            ("Average packet rate", rate("average_packet_rate")),
        ];
        for (key, have) in pairs {
            let want = number(&info, key);
            figures += 1;
            if want != have && allow.covers(&cap, 0, key) {
                used.insert((cap.clone(), key.to_string()));
            } else if want != have {
                differ.push(format!("{cap} {key}: capinfos {want}, wirelite {have}"));
            }
        }
        let mut mine = Tree::new();
        for n in doc["protocol_hierarchy"].as_array().unwrap() {
            ours(n, &mut Vec::new(), &mut mine);
        }
        let compared = |p: &Vec<String>| p.iter().all(|x| DECODED.contains(&x.as_str()));
        let paths: std::collections::BTreeSet<&Vec<String>> = theirs
            .keys()
            .chain(mine.keys())
            .filter(|p| compared(p))
            .collect();
        for p in paths {
            nodes += 1;
            let (want, have) = (theirs.get(p), mine.get(p));
            if want != have && allow.covers(&cap, 0, &p.join(":")) {
                used.insert((cap.clone(), p.join(":")));
            } else if want != have {
                differ.push(format!(
                    "{cap} {}: tshark {want:?}, wirelite {have:?}",
                    p.join(":")
                ));
            }
        }
    }
    for (cap, _, what) in allow.rows() {
        assert!(
            used.contains(&(cap.to_string(), what.to_string())),
            "allow/stats.tsv: {cap} {what} is no longer needed"
        );
    }
    eprintln!("stats: {figures} capinfos figures and {nodes} hierarchy nodes compared");
    assert!(figures > 500 && nodes > 200, "too little compared");
    assert!(
        differ.is_empty(),
        "not in allow/stats.tsv:\n{}",
        differ.join("\n")
    );
}
