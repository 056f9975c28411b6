//! Writes the seed corpora of the fuzz targets (fuzz/corpus/TARGET/) from the captures in
//! tests/data and samples/, and the display filters the tests use:
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --bin seeds
//!
//! reader: every capture under 1 MiB as it is; decode: each distinct frame behind its link-type
//! selector; dns: every DNS message; http: every TCP payload to or from ports 80 and 8080;
//! tcp_reassembly: the segments of each connection to port 80 or 53, in the target's encoding;
//! filter: every filter of tests/data/filters.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use wirelite::capture::Reader;
use wirelite::decode::{Proto, decode_frame, linktype};

const LINK_TYPES: [u16; 10] = [
    linktype::ETHERNET,
    linktype::NULL,
    linktype::LOOP,
    linktype::RAW,
    linktype::RAW_OPENBSD,
    linktype::RAW_BSDOS,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::IPV4,
    linktype::IPV6,
];

fn captures(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["tests/data/corpus/captures", "samples"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.to_string_lossy().into_owned();
            if [".pcap", ".pcapng", ".cap", ".gz", ".ntar"]
                .iter()
                .any(|s| name.ends_with(s))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

struct Out {
    root: PathBuf,
    seen: HashSet<(&'static str, Vec<u8>)>,
    written: HashMap<&'static str, usize>,
}

impl Out {
    fn put(&mut self, target: &'static str, bytes: &[u8]) {
        if bytes.is_empty() || !self.seen.insert((target, bytes.to_vec())) {
            return;
        }
        let n = self.written.entry(target).or_default();
        *n += 1;
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        std::fs::write(dir.join(format!("seed-{n:05}")), bytes).expect("seed written");
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ is in the repo")
        .to_path_buf();
    let mut out = Out {
        root: root.join("fuzz/corpus"),
        seen: HashSet::new(),
        written: HashMap::new(),
    };
    for path in captures(&root) {
        let bytes = std::fs::read(&path).expect("capture readable");
        if bytes.len() < 1 << 20 {
            out.put("reader", &bytes);
        }
        let Ok(mut reader) = Reader::open(&path.to_string_lossy()) else {
            continue;
        };
        // Per connection (client port) and direction: the first sequence number seen.
        let mut isn: HashMap<(u16, usize), u32> = HashMap::new();
        let mut segments: HashMap<u16, Vec<u8>> = HashMap::new();
        while let Some(batch) = reader.next_batch(1024, 1 << 20) {
            for (meta, range) in &batch.frames {
                let frame = &batch.arena[range.clone()];
                let rec = decode_frame(meta.clone(), frame, range.clone());
                if let Some(pick) = LINK_TYPES.iter().position(|&l| l == meta.linktype) {
                    let mut seed = vec![pick as u8];
                    seed.extend_from_slice(frame);
                    out.put("decode", &seed);
                }
                for l in rec.layers.iter() {
                    let bytes = frame.get(l.range()).unwrap_or(&[]);
                    if matches!(l.proto, Proto::Dns(_)) {
                        out.put("dns", bytes);
                    }
                }
                let Some((layer, t)) = rec.tcp() else {
                    continue;
                };
                let payload = frame.get(layer.payload_range()).unwrap_or(&[]);
                let server = [80, 8080, 53];
                if server.contains(&t.src_port) || server.contains(&t.dst_port) {
                    if !payload.is_empty() && t.src_port != 53 && t.dst_port != 53 {
                        let mut seed = vec![payload.len().min(255) as u8];
                        seed.extend_from_slice(payload);
                        out.put("http", &seed);
                    }
                    let dir = usize::from(server.contains(&t.src_port));
                    let client = if dir == 0 { t.src_port } else { t.dst_port };
                    let base = *isn.entry((client, dir)).or_insert(t.seq);
                    let offset = t.seq.wrapping_sub(base) as u16;
                    let f = t.flags;
                    let bits = [
                        (0x002, 4),
                        (0x001, 8),
                        (0x004, 16),
                        (0x010, 32),
                        (0x008, 64),
                    ];
                    let mut flags = dir as u8
                        | if t.src_port == 53 || t.dst_port == 53 {
                            2
                        } else {
                            0
                        };
                    for (flag, bit) in bits {
                        if f & flag != 0 {
                            flags |= bit;
                        }
                    }
                    let payload = &payload[..payload.len().min(255)];
                    let seg = segments.entry(client).or_default();
                    seg.extend_from_slice(&[flags]);
                    seg.extend_from_slice(&offset.to_le_bytes());
                    seg.push(payload.len() as u8);
                    seg.extend_from_slice(payload);
                }
            }
        }
        let mut conns: Vec<_> = segments.into_iter().collect();
        conns.sort();
        for (_, seg) in conns.into_iter().take(20) {
            out.put("tcp_reassembly", &seg[..seg.len().min(8192)]);
        }
    }
    let filters = root.join("tests/data/filters/expected");
    for e in std::fs::read_dir(filters).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for line in text.lines() {
            let filter = line.split('\t').next().unwrap_or("");
            out.put("filter", filter.as_bytes());
        }
    }
    let mut written: Vec<_> = out.written.into_iter().collect();
    written.sort();
    for (target, n) in written {
        println!("{target}: {n} seeds");
    }
}
