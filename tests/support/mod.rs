//! Helpers shared by the integration tests: running the binary, reading the corpus and its
//! tshark references, and allow-lists of known differences.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn corpus() -> PathBuf {
    data().join("corpus")
}

/// Every capture with tshark references: the corpus, then the shipped samples (whose references,
/// made by the corpus's make-expected.sh, live in tests/data/samples). Sorted by name.
pub fn captures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(corpus().join("captures"))
        .expect("tests/data/corpus/captures exists")
        .map(|e| {
            e.expect("readable dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.extend(samples());
    v.sort();
    v
}

/// Shipped samples that have tshark references.
pub fn samples() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut v: Vec<String> = std::fs::read_dir(root)
        .expect("samples/ exists")
        .map(|e| {
            e.expect("readable dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| is_sample(n))
        .collect();
    v.sort();
    v
}

fn is_sample(name: &str) -> bool {
    data()
        .join("samples")
        .join(format!("{name}.summary.txt"))
        .exists()
}

pub fn capture_path(name: &str) -> PathBuf {
    if is_sample(name) {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name)
    } else {
        corpus().join("captures").join(name)
    }
}

pub fn expected(name: &str, kind: &str) -> String {
    let dir = if is_sample(name) {
        data().join("samples")
    } else {
        corpus().join("expected")
    };
    std::fs::read_to_string(dir.join(format!("{name}.{kind}"))).unwrap_or_default()
}

/// The wirelite binary under test: cargo's, or the one `WIRELITE_BIN` names.
/// `scripts/build-pgo.sh --test` runs the tests against its BOLT-optimized binary this way:
/// cargo does not build that one, and puts its own back in its place on every build.
pub fn bin() -> PathBuf {
    std::env::var_os("WIRELITE_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_wirelite")),
        PathBuf::from,
    )
}

pub fn wirelite(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("the wirelite binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An allow-list: tab-separated rows `capture  frame  what  reason`, `#` comments.
pub struct AllowList {
    rows: Vec<(String, u64, String, String)>,
}

impl AllowList {
    pub fn load(file: &str) -> AllowList {
        let text = std::fs::read_to_string(data().join(file)).expect("allow-list exists");
        let rows = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let mut it = l.splitn(4, '\t');
                let cap = it.next().unwrap_or_default().to_string();
                let frame = it.next().unwrap_or_default().parse().expect("frame number");
                let what = it.next().unwrap_or_default().to_string();
                let why = it.next().unwrap_or_default().to_string();
                assert!(
                    !why.trim().is_empty(),
                    "allow-list row without a reason: {l}"
                );
                (cap, frame, what, why)
            })
            .collect();
        AllowList { rows }
    }

    /// Does a row cover this difference? `what` `*` covers every field of the frame.
    pub fn covers(&self, cap: &str, frame: u64, what: &str) -> bool {
        self.rows
            .iter()
            .any(|(c, f, w, _)| c == cap && *f == frame && (w == what || w == "*"))
    }

    pub fn rows(&self) -> impl Iterator<Item = (&str, u64, &str)> {
        self.rows
            .iter()
            .map(|(c, f, w, _)| (c.as_str(), *f, w.as_str()))
    }
}

/// Values compared with tshark's against an allow-list: every difference must be explained by
/// one of its rows, and every row naming a value must still be needed (a value equal now makes
/// its row stale).
pub struct Checked {
    allow: AllowList,
    file: String,
    /// Values compared, and of those, values equal.
    pub total: u64,
    pub same: u64,
    unexplained: Vec<String>,
    stale: Vec<String>,
}

impl Checked {
    /// Compare against the allow-list in `tests/data/{file}`.
    pub fn new(file: &str) -> Checked {
        Checked {
            allow: AllowList::load(file),
            file: file.to_string(),
            total: 0,
            same: 0,
            unexplained: Vec::new(),
            stale: Vec::new(),
        }
    }

    /// One value of `what` in frame `frame` of `cap`: equal or not, and how to tell the
    /// difference when it is not explained. Whether it was equal is given back.
    pub fn compare(
        &mut self,
        cap: &str,
        frame: u64,
        what: &str,
        equal: bool,
        difference: impl FnOnce() -> String,
    ) -> bool {
        self.total += 1;
        if equal {
            self.same += 1;
            if (self.allow.rows()).any(|(c, f, w)| c == cap && f == frame && w == what) {
                self.stale.push(format!("{cap} #{frame} {what}"));
            }
        } else if !self.allow.covers(cap, frame, what) {
            self.unexplained
                .push(format!("{cap} #{frame} {what}: {}", difference()));
        }
        equal
    }

    /// Fails on a difference no row explains, then on a row no difference needs.
    pub fn assert_explained(&self) {
        assert!(
            self.unexplained.is_empty(),
            "differences not in tests/data/{}:\n{}",
            self.file,
            self.unexplained.join("\n")
        );
        assert!(
            self.stale.is_empty(),
            "rows of tests/data/{} for values that now agree (remove them):\n{}",
            self.file,
            self.stale.join("\n")
        );
    }
}

/// A classic pcap of `frames` on `linktype` (1 for Ethernet), one millisecond apart.
pub fn pcap(linktype: u32, frames: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    wirelite::fuzzing::pcap(linktype, frames)
}

/// The frames of a capture file, as captured, read by wirelite's reader.
pub fn frames_of(path: &std::path::Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).expect("capture read");
    let input = Box::new(std::io::Cursor::new(bytes));
    let mut reader = wirelite::capture::Reader::from_read("frames", input).expect("a capture");
    let mut frames = Vec::new();
    while let Some(batch) = reader.next_batch(1024, 1 << 20) {
        for (_, range) in &batch.frames {
            frames.push(batch.arena[range.clone()].to_vec());
        }
    }
    frames
}

/// Write `bytes` to a file of this test process's temporary directory.
pub fn temp_capture(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelite-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("temp capture written");
    p
}

/// One TCP connection over Ethernet and IPv4, built frame by frame with etherparse: each
/// side's sequence number follows what it has sent, and each segment acknowledges all the
/// other side has sent.
pub struct TcpConn {
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    /// The next sequence number of the client, then of the server.
    next: [u32; 2],
    pub frames: Vec<Vec<u8>>,
}

impl TcpConn {
    /// A connection not opened yet, with initial sequence numbers 1000 (client) and 5000.
    pub fn new(client: ([u8; 4], u16), server: ([u8; 4], u16)) -> TcpConn {
        TcpConn {
            client,
            server,
            next: [1000, 5000],
            frames: Vec::new(),
        }
    }

    /// One segment's frame: `flags` holds S, A, P, F or R for each flag set.
    pub fn segment(
        &self,
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: &str,
        data: &[u8],
    ) -> Vec<u8> {
        let ((src, sport), (dst, dport)) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .tcp(sport, dport, seq, 64240);
        let b = if flags.contains('S') { b.syn() } else { b };
        let b = if flags.contains('A') { b.ack(ack) } else { b };
        let b = if flags.contains('P') { b.psh() } else { b };
        let b = if flags.contains('F') { b.fin() } else { b };
        let b = if flags.contains('R') { b.rst() } else { b };
        let mut f = Vec::new();
        b.write(&mut f, data).expect("a TCP frame is built");
        f
    }

    /// The next segment from one side, acknowledging everything the other side sent.
    pub fn send(&mut self, from_client: bool, flags: &str, data: &[u8]) -> &mut TcpConn {
        let (me, other) = if from_client { (0, 1) } else { (1, 0) };
        let (seq, ack) = (self.next[me], self.next[other]);
        let f = self.segment(from_client, seq, ack, flags, data);
        self.frames.push(f);
        let phantom = u32::from(flags.contains('S') || flags.contains('F'));
        self.next[me] = seq.wrapping_add(data.len() as u32 + phantom);
        self
    }

    /// SYN, SYN-ACK, ACK. (The SYN carries no acknowledgement: without the A flag, `send`'s
    /// acknowledgement number is not written.)
    pub fn handshake(&mut self) -> &mut TcpConn {
        self.send(true, "S", &[])
            .send(false, "SA", &[])
            .send(true, "A", &[])
    }

    /// Data from one side, pushed.
    pub fn data(&mut self, from_client: bool, data: &[u8]) -> &mut TcpConn {
        self.send(from_client, "PA", data)
    }
}
