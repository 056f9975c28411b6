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
