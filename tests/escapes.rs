//! Terminal safety: a capture whose HTTP URI, headers and status phrase, DNS name and TCP payload
//! carry escape sequences (clear screen, set the window title, colours, C1 CSI, bell) cannot
//! drive the terminal: no text output writes those bytes raw, and JSON escapes them.

use etherparse::PacketBuilder;

use crate::support;

/// Bytes a terminal acts on: ESC, BEL, backspace and C1's CSI (U+009B). A carriage return is
/// allowed only before a line feed (follow's ascii form keeps HTTP's CRLF line ends, as tshark).
const HOSTILE: [&str; 4] = ["\x1b", "\x07", "\x08", "\u{9b}"];

fn lone_carriage_return(text: &str) -> bool {
    text.match_indices('\r')
        .any(|(i, _)| !text[i + 1..].starts_with('\n'))
}

fn hostile_capture() -> Vec<u8> {
    let req: &[u8] = b"GET /\x1b[2J\x07clear HTTP/1.1\r\nHost: a\x1b]0;pwned\x07b\r\n\
        User-Agent: \x1b[31mred\x08\r\n\r\n";
    let res: &[u8] =
        "HTTP/1.1 200 O\u{9b}2JK\r\nContent-Type: text/\x1b[5mhtml\r\nContent-Length: 4\r\n\r\n\x1b[0m"
            .as_bytes();
    let mut dns = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    dns.extend_from_slice(b"\x07e\x1b[2Jvil\x03com\x00\x00\x01\x00\x01");
    let mut query = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 1, 1], [10, 0, 1, 53], 64)
        .udp(40001, 53)
        .write(&mut query, &dns)
        .unwrap();
    let mut web = support::TcpConn::new(([10, 0, 1, 1], 40000), ([10, 0, 1, 10], 80));
    web.handshake().send(true, "A", req).send(false, "A", res);
    let mut frames = web.frames;
    frames.push(query);
    support::pcap(1, frames)
}

#[test]
fn capture_bytes_cannot_drive_the_terminal() {
    let p = support::temp_capture("escapes.pcap", &hostile_capture());
    let p = p.to_str().unwrap();
    let fields = [
        "-T",
        "fields",
        "-e",
        "http.request.uri",
        "-e",
        "http.host",
        "-e",
        "http.user_agent",
        "-e",
        "http.response.phrase",
        "-e",
        "dns.qry.name",
        "-e",
        "http.request",
        "-e",
        "http.response.code",
    ];
    let runs: Vec<Vec<&str>> = vec![
        vec!["list", p],
        vec!["list", p, "-V"],
        [&["list", p][..], &fields].concat(),
        vec!["http", p],
        vec!["dns", p],
        vec!["follow", p, "--stream", "0", "--format", "ascii"],
        vec!["stats", p],
        vec!["tcp", p, "--explain"],
    ];
    for args in runs {
        let out = support::wirelite(&args);
        assert!(out.status.success(), "{args:?}: {}", support::stderr(&out));
        let text = support::stdout(&out);
        for bad in HOSTILE {
            assert!(!text.contains(bad), "{args:?} writes {bad:?} raw:\n{text}");
        }
        assert!(
            !lone_carriage_return(&text),
            "{args:?} writes a lone CR:\n{text}"
        );
        assert!(!text.trim().is_empty(), "{args:?} shows nothing");
    }
    // The escaped forms are shown instead, so nothing is hidden either.
    let v = support::stdout(&support::wirelite(&["list", p, "-V"]));
    assert!(v.contains("\\x1b[2J"), "{v}");
    let h = support::stdout(&support::wirelite(&["http", p]));
    assert!(h.contains("/\\x1b[2J\\x07clear"), "{h}");
    // The packet list's Info shows HTTP first lines and media types, escaped.
    let l = support::stdout(&support::wirelite(&["list", p]));
    assert!(l.contains("GET /\\x1b[2J\\x07clear HTTP/1.1"), "{l}");
    assert!(l.contains("(text/\\x1b[5mhtml)"), "{l}");
}

#[test]
fn json_escapes_what_it_carries() {
    let p = support::temp_capture("escapes-json.pcap", &hostile_capture());
    let p = p.to_str().unwrap();
    for args in [
        vec!["list", p, "-T", "json"],
        vec!["list", p, "-T", "ndjson"],
        vec!["http", p, "-T", "json"],
        vec!["dns", p, "-T", "json"],
    ] {
        let out = support::wirelite(&args);
        assert!(out.status.success(), "{args:?}: {}", support::stderr(&out));
        assert!(!out.stdout.contains(&0x1b), "{args:?} writes ESC raw");
        let text = support::stdout(&out);
        let docs: Vec<&str> = if args.contains(&"ndjson") {
            text.lines().collect()
        } else {
            vec![&text]
        };
        for d in docs {
            serde_json::from_str::<serde_json::Value>(d)
                .unwrap_or_else(|e| panic!("{args:?}: {e}: {d}"));
        }
    }
}
