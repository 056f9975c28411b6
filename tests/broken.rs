//! Damaged and hostile inputs: each gives one clear line on stderr naming the file, the byte
//! offset and the frame where relevant, exit code 1 for what cannot be read, every frame before
//! the damage still listed, and never a panic.

use std::path::PathBuf;

use crate::support;

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelite-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn frames_listed(out: &std::process::Output) -> usize {
    support::stdout(out).lines().count()
}

fn one_error_line(out: &std::process::Output) -> String {
    let err = support::stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {err}");
    assert!(!err.contains("panicked"), "{err}");
    lines[0].to_string()
}

#[test]
fn truncated_last_record() {
    let bytes = std::fs::read(support::capture_path("zeek__http-get.pcap")).unwrap();
    let cut = &bytes[..bytes.len() - 10];
    let p = temp_file("cut.pcap", cut);
    let out = support::wirelite(&["list", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let msg = one_error_line(&out);
    let whole = support::wirelite(&[
        "list",
        support::capture_path("zeek__http-get.pcap")
            .to_str()
            .unwrap(),
    ]);
    let all = frames_listed(&whole);
    assert_eq!(
        frames_listed(&out),
        all - 1,
        "every complete frame is listed"
    );
    assert!(msg.contains(p.to_str().unwrap()), "{msg}");
    assert!(msg.contains("cut short"), "{msg}");
    assert!(msg.contains(&format!("(frame {all})")), "{msg}");
    assert!(msg.contains("byte offset"), "{msg}");
}

#[test]
fn snaplen_cut_packets_are_shown_not_fatal() {
    let out = support::wirelite(&[
        "list",
        support::capture_path("zeek__tcp-truncated-header.pcap")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = support::stdout(&out);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with("SACK_PERM[Packet size limited during capture]")
    );
}

#[test]
fn corrupt_pcapng_block_header() {
    // test001 is SHB, IDB, then enhanced packet blocks; break the length of the third packet block.
    let mut bytes =
        std::fs::read(support::capture_path("gopacket__pcapng-le-test001.pcapng")).unwrap();
    let mut off = 0usize;
    let mut packets = 0;
    let mut broken_at = None;
    while off + 8 <= bytes.len() {
        let btype = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
        if btype == 6 {
            packets += 1;
            if packets == 3 {
                bytes[off + 4..off + 8].copy_from_slice(&7u32.to_le_bytes());
                broken_at = Some(off);
                break;
            }
        }
        off += len;
    }
    let broken_at = broken_at.expect("test001 has three packet blocks");
    let p = temp_file("corrupt.pcapng", &bytes);
    let out = support::wirelite(&["list", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let msg = one_error_line(&out);
    assert_eq!(frames_listed(&out), 2);
    assert!(msg.contains(&format!("byte offset {broken_at}")), "{msg}");
    assert!(msg.contains("(frame 3)"), "{msg}");
}

#[test]
fn record_claiming_gigabytes() {
    let out = support::wirelite(&[
        "list",
        support::capture_path("suricata__bug-6875-fuzz.pcap")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let msg = one_error_line(&out);
    assert!(msg.contains("more than the maximum of 262144"), "{msg}");
    assert!(msg.contains("byte offset 228 (frame 2)"), "{msg}");
    assert_eq!(frames_listed(&out), 1);
}

#[test]
fn zero_length_file() {
    let p = temp_file("empty.pcap", b"");
    let out = support::wirelite(&["list", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let msg = one_error_line(&out);
    assert!(msg.contains("empty.pcap: the file is empty"), "{msg}");
}

#[test]
fn not_a_capture() {
    let p = temp_file("notes.txt", b"these are not packets\n");
    let out = support::wirelite(&["list", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let msg = one_error_line(&out);
    assert!(
        msg.contains("notes.txt: not a pcap or pcapng capture"),
        "{msg}"
    );
}

#[test]
fn unsupported_pcap_version() {
    let out = support::wirelite(&[
        "list",
        support::capture_path("libpcap__pcap-invalid-version-1.pcap")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(one_error_line(&out).contains("major version 1 unsupported"));
    assert_eq!(frames_listed(&out), 0);
}

#[test]
fn nonexistent_path() {
    let out = support::wirelite(&["list", "/no/such/capture.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    let msg = one_error_line(&out);
    assert!(msg.contains("/no/such/capture.pcap: cannot open"), "{msg}");
}

#[test]
fn unknown_field_is_a_usage_error() {
    let out = support::wirelite(&["list", "-T", "fields", "-e", "tcp.prot", "/no/such/file"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(support::stderr(&out).contains("did you mean tcp.port"));
}

#[test]
fn gzip_and_stdin_read_like_the_file() {
    use std::io::Write;
    let path = support::capture_path("arkime__cloudshark-arp.pcap");
    let plain = support::wirelite(&["list", path.to_str().unwrap()]);
    let bytes = std::fs::read(&path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes).unwrap();
    let p = temp_file("arp.pcap.gz", &gz.finish().unwrap());
    let zipped = support::wirelite(&["list", p.to_str().unwrap()]);
    assert_eq!(plain.stdout, zipped.stdout);

    let mut child = std::process::Command::new(support::bin())
        .args(["list", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert_eq!(plain.stdout, piped.stdout);
}

#[test]
fn every_capture_every_output_without_panic() {
    for cap in support::captures() {
        let p = support::capture_path(&cap);
        for args in [
            &["-V", "-2"][..],
            &["-T", "json"][..],
            &["-T", "ndjson"][..],
        ] {
            let mut a = vec!["list", p.to_str().unwrap()];
            a.extend_from_slice(args);
            let out = support::wirelite(&a);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{cap} {args:?}: {:?}",
                out.status
            );
            assert!(
                !support::stderr(&out).contains("panicked"),
                "{cap} {args:?}"
            );
            if args[0] == "-T" && args[1] == "json" && out.status.success() {
                serde_json::from_slice::<serde_json::Value>(&out.stdout)
                    .unwrap_or_else(|e| panic!("{cap}: invalid JSON: {e}"));
            }
        }
        for cmd in ["http", "dns", "ping", "tcp"] {
            let out = support::wirelite(&[cmd, p.to_str().unwrap(), "-T", "json"]);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{cap} {cmd}: {:?} {}",
                out.status,
                support::stderr(&out)
            );
            // A file that cannot be opened at all prints nothing (and says why on stderr).
            if !out.stdout.is_empty() {
                serde_json::from_slice::<serde_json::Value>(&out.stdout)
                    .unwrap_or_else(|e| panic!("{cap} {cmd}: invalid JSON: {e}"));
            }
        }
    }
}

#[test]
fn second_pass_fields_need_a_file_not_stdin() {
    let out = std::process::Command::new(support::bin())
        .args(["list", "-", "-T", "fields", "-e", "http.response_in"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(support::stderr(&out).contains("need two passes"));
    // From a file the same request works, and the link is the response's frame.
    let p = support::capture_path("lab-http.pcap");
    let out = support::wirelite(&[
        "list",
        p.to_str().unwrap(),
        "-Y",
        "http.request",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "http.response_in",
    ]);
    let text = support::stdout(&out);
    let (req, resp) = text.trim().split_once('\t').unwrap();
    assert!(
        resp.parse::<u64>().unwrap() > req.parse::<u64>().unwrap(),
        "{text}"
    );
}
