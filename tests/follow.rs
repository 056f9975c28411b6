//! Follow TCP/UDP Stream: wirelite's output equals tshark's `-z follow,PROTO,FORMAT,N`, byte for
//! byte, on connections with retransmissions, fast retransmissions, out-of-order segments and a
//! reordered handshake (references in tests/data/follow, made by make-follow-refs.sh).

use crate::support;

#[test]
fn follow_equals_tshark_byte_for_byte() {
    let dir = support::data().join("follow");
    let mut compared = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".txt") else {
            continue;
        };
        // <capture>.<stream>.<format>
        let mut parts = stem.rsplitn(3, '.');
        let (format, stream, cap) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        // udpN stands for --stream udp:N (no colon in file names).
        let stream = match stream.strip_prefix("udp") {
            Some(n) => format!("udp:{n}"),
            None => stream.to_string(),
        };
        let stream = stream.as_str();
        let want = std::fs::read(dir.join(&name)).unwrap();
        let path = support::capture_path(cap);
        let out = support::wirelite(&[
            "follow",
            path.to_str().unwrap(),
            "--stream",
            stream,
            "--format",
            format,
        ]);
        assert!(out.status.success(), "{name}: {}", support::stderr(&out));
        assert!(
            out.stdout == want,
            "{name}: differs from tshark\n--- wirelite\n{}",
            support::stdout(&out)
        );
        compared += 1;
    }
    assert!(compared >= 15, "only {compared} follow references");
}

#[test]
fn follow_ascii_cannot_drive_the_terminal() {
    // The echo app's capture typed by hand: printable text stays, control bytes would be dots.
    let p = support::capture_path("lab-echo-8080.pcap");
    let out = support::stdout(&support::wirelite(&[
        "follow",
        p.to_str().unwrap(),
        "--stream",
        "0",
    ]));
    assert!(out.contains("POST /orders") && out.contains("\"method\": \"POST\""));
    assert!(
        !out.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    );
}

#[test]
fn following_a_stream_that_does_not_exist_is_a_usage_error() {
    let p = support::capture_path("lab-http.pcap");
    let out = support::wirelite(&["follow", p.to_str().unwrap(), "--stream", "9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(support::stderr(&out).contains("has no TCP stream 9"));
}

/// Counts the bytes read through it, for the test below.
struct Counted {
    inner: std::io::Cursor<Vec<u8>>,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::io::Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::SeqCst);
        Ok(n)
    }
}

/// Records how much of the capture had been read when the first bytes were written.
struct FirstWrite {
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    at: Option<u64>,
    written: usize,
}

impl std::io::Write for FirstWrite {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.at.is_none() && !buf.is_empty() {
            self.at = Some(self.read.load(std::sync::atomic::Ordering::SeqCst));
        }
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn follow_writes_the_stream_as_it_is_read() {
    use wirelite::output::Transport;
    use wirelite::output::follow::{FollowSink, Format};
    // One connection of 20,000 segments of 600 bytes: 12 MB, a few batches' worth many times.
    let conn = support::TcpConn::new(([10, 0, 1, 20], 40000), ([10, 0, 1, 10], 8080));
    let frames = (0..20_000u32).map(|i| conn.segment(true, 1 + i * 600, 1, "A", &[b'x'; 600]));
    let bytes = support::pcap(1, frames);
    let total = bytes.len() as u64;
    let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let input = Counted {
        inner: std::io::Cursor::new(bytes),
        read: read.clone(),
    };
    let reader = wirelite::capture::Reader::from_read("long", Box::new(input)).unwrap();
    let opts = wirelite::engine::Options {
        reassembly: wirelite::tcp::Reassembly::Stream(0),
        ..wirelite::engine::Options::default()
    };
    let mut out = FirstWrite {
        read,
        at: None,
        written: 0,
    };
    let mut sink = FollowSink::new(Transport::Tcp, 0, Format::Ascii, &mut out);
    let mut no_progress = |_, _| {};
    wirelite::engine::run(
        reader,
        &opts,
        &wirelite::engine::MatchAll,
        &mut sink,
        &mut no_progress,
    )
    .unwrap();
    drop(sink);
    // Every segment's 600 bytes are shown, and the first went out long before the end.
    assert!(out.written > 20_000 * 600, "{} bytes written", out.written);
    let at = out.at.unwrap();
    assert!(
        at < total / 2,
        "first write after {at} of {total} bytes read"
    );
}
