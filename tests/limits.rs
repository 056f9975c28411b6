//! Resource limits, one test each: a record or block claiming gigabytes, a DNS compression loop,
//! a long IPv6 extension-header chain, a million tiny TCP streams, a reassembly flood, heads
//! that never end, fragments that never complete. Each run must end, keep memory within the
//! documented share of `--max-memory` (checked on the tables' own counts), and say on stderr
//! what it cut short.

use etherparse::{Ethernet2Header, PacketBuilder, PacketBuilderStep};
use wirelite::capture::Reader;
use wirelite::engine::{self, MatchAll, Options};
use wirelite::limits::Limits;

use crate::support;

fn eth() -> PacketBuilderStep<Ethernet2Header> {
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
}

fn tcp_frame(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    syn: bool,
    payload: &[u8],
) -> Vec<u8> {
    let flags = if syn { "S" } else { "A" };
    support::TcpConn::new((src, sport), (dst, dport)).segment(true, seq, 1, flags, payload)
}

fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

#[test]
fn a_pcapng_block_claiming_gigabytes_is_refused_where_it_is() {
    // Section header, interface description, then a packet block claiming 4 GB.
    let mut b = Vec::new();
    b.extend_from_slice(&le32(0x0a0d_0d0a));
    b.extend_from_slice(&le32(28));
    b.extend_from_slice(&le32(0x1a2b_3c4d));
    b.extend_from_slice(&[1, 0, 0, 0]);
    b.extend_from_slice(&[0xff; 8]);
    b.extend_from_slice(&le32(28));
    b.extend_from_slice(&le32(1));
    b.extend_from_slice(&le32(20));
    b.extend_from_slice(&[1, 0, 0, 0]);
    b.extend_from_slice(&le32(65535));
    b.extend_from_slice(&le32(20));
    let at = b.len();
    b.extend_from_slice(&le32(6));
    b.extend_from_slice(&le32(0xffff_fff0));
    b.extend_from_slice(&[0; 64]);
    let p = support::temp_capture("huge-block.pcapng", &b);
    let out = support::wirelite(&["list", p.to_str().unwrap()]);
    let err = support::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("more than the maximum of 16777216"), "{err}");
    assert!(err.contains(&format!("byte offset {at}")), "{err}");
}

#[test]
fn a_dns_compression_loop_ends_as_a_malformed_name() {
    // A response whose question name is a pointer to offset 16, which points to offset 18,
    // which points back to 16: a loop.
    let mut dns = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    dns.extend_from_slice(&[0xc0, 16, 0, 1, 0, 1]); // offset 12: the question
    dns.extend_from_slice(&[0xc0, 18]); // offset 16: the answer's name
    dns.extend_from_slice(&[0xc0, 16]); // offset 18
    dns.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
    let mut f = Vec::new();
    eth()
        .ipv4([10, 0, 1, 53], [10, 0, 1, 1], 64)
        .udp(53, 40000)
        .write(&mut f, &dns)
        .unwrap();
    let p = support::temp_capture("dns-loop.pcap", &support::pcap(1, [f]));
    let p = p.to_str().unwrap();
    for args in [&["list", p][..], &["list", p, "-V"], &["dns", p]] {
        let out = support::wirelite(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            support::stderr(&out)
        );
    }
    let out = support::wirelite(&["list", p, "-T", "fields", "-e", "_ws.malformed.reason"]);
    assert!(
        !support::stdout(&out).trim().is_empty(),
        "the loop is not reported as malformed"
    );
}

#[test]
fn a_long_ipv6_extension_chain_is_cut_at_its_cap() {
    // 400 destination-options headers (8 bytes each), then UDP.
    let n = 400;
    let mut ext = Vec::new();
    for i in 0..n {
        let next = if i + 1 == n { 17 } else { 60 };
        ext.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
    }
    let udp = [0x9c, 0x40, 0, 53, 0, 8, 0, 0];
    let payload_len = (ext.len() + udp.len()) as u16;
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&payload_len.to_be_bytes());
    f.extend_from_slice(&[60, 64]);
    f.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&ext);
    f.extend_from_slice(&udp);
    let p = support::temp_capture("ipv6-chain.pcap", &support::pcap(1, [f]));
    let p = p.to_str().unwrap();
    let out = support::wirelite(&["list", p, "-V"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    assert!(support::stdout(&out).contains("extension header chain too long"));
    let fields = ["-T", "fields", "-e", "frame.protocols"];
    let out = support::wirelite(&[&["list", p][..], &fields].concat());
    let protocols = support::stdout(&out);
    assert_eq!(
        protocols.matches("ipv6.dstopts").count(),
        256,
        "{protocols}"
    );
}

/// `count` SYNs, each a connection of its own that never goes on.
fn tiny_streams(count: u32) -> Vec<u8> {
    support::pcap(
        1,
        (0..count).map(|i| {
            let src = [10, 1, (i >> 16) as u8, (i >> 8) as u8];
            tcp_frame(
                src,
                1024 + (i & 0xff) as u16,
                [10, 0, 1, 10],
                80,
                i,
                true,
                &[],
            )
        }),
    )
}

#[test]
fn a_million_tiny_tcp_streams_keep_a_bounded_table() {
    let bytes = tiny_streams(1_000_000);
    let limits = Limits::of(16 << 20);
    let opts = Options {
        collect_connections: true,
        limits,
        ..Options::default()
    };
    let reader = Reader::from_read("tiny", Box::new(std::io::Cursor::new(bytes))).unwrap();
    let mut sink = engine::LaterSink::new(&limits);
    let report = engine::run(reader, &opts, &MatchAll, &mut sink, &mut |_, _| {}).unwrap();
    assert_eq!(report.frames_read, 1_000_000);
    // The live table stayed within its share: connections forgotten while open, and the rows
    // kept for the table are its share plus the connections still live.
    let cut = report.cut_short;
    assert!(
        cut.tcp_conns_forgotten >= 1_000_000 - limits.tcp_conns as u64,
        "{cut:?}"
    );
    assert!(
        report.connections.len() <= limits.table_rows + limits.tcp_conns,
        "{} rows kept",
        report.connections.len()
    );
    assert!(cut.table_rows_dropped > 0, "{cut:?}");
    // Stream numbers still count every connection.
    assert_eq!(report.connections.last().map(|c| c.stream), Some(999_999));
}

#[test]
fn what_the_memory_cap_cut_is_said_on_stderr() {
    let p = support::temp_capture("tiny-streams.pcap", &tiny_streams(50_000));
    let out = support::wirelite(&["tcp", p.to_str().unwrap(), "--max-memory", "8"]);
    assert_eq!(out.status.code(), Some(0));
    let err = support::stderr(&out);
    assert!(err.contains("memory cap (--max-memory 8): "), "{err}");
    assert!(
        err.contains("TCP connections were forgotten while open: more than 1024 at once"),
        "{err}"
    );
    assert!(
        err.contains("the table keeps 1365 rows of connections that ended"),
        "{err}"
    );
    // Which rows the cap keeps does not depend on the run (flow tables are seeded per run).
    let again = support::wirelite(&["tcp", p.to_str().unwrap(), "--max-memory", "8"]);
    assert!(out.stdout == again.stdout, "two runs kept different rows");
    // Within the default budget nothing is cut, and nothing is said.
    let out = support::wirelite(&["tcp", p.to_str().unwrap()]);
    assert_eq!(support::stderr(&out), "");
}

#[test]
fn http_heads_that_never_end_are_given_up_at_their_share() {
    // 200 connections each sending 8 KB of a request head that never ends.
    let mut frames = Vec::new();
    let mut head = b"GET /".to_vec();
    head.extend(std::iter::repeat_n(b'a', 1400));
    for c in 0..200u16 {
        let src = [10, 0, 3, (c & 0xff) as u8];
        let mut seq = 1;
        for k in 0..6 {
            let piece = if k == 0 { &head[..] } else { &head[5..] };
            frames.push(tcp_frame(
                src,
                30000 + c,
                [10, 0, 1, 10],
                80,
                seq,
                false,
                piece,
            ));
            seq += piece.len() as u32;
        }
    }
    let p = support::temp_capture("endless-heads.pcap", &support::pcap(1, frames));
    // 8 MB: 1 MB for heads, less than the 200 x 8 KB these hold.
    let out = support::wirelite(&["http", p.to_str().unwrap(), "--max-memory", "8"]);
    assert_eq!(out.status.code(), Some(0));
    let err = support::stderr(&out);
    assert!(err.contains("HTTP message heads were given up"), "{err}");
    let out = support::wirelite(&["http", p.to_str().unwrap()]);
    assert_eq!(support::stderr(&out), "");
}

#[test]
fn fragments_that_never_complete_are_dropped_at_their_share() {
    // 3000 datagrams of which only the first 1400-byte fragment ever comes: 4.2 MB waiting.
    let frames = (0..3000u32).map(|i| {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
        let total = 20 + 1400u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&(i as u16).to_be_bytes());
        f.extend_from_slice(&[0x20, 0, 64, 17, 0, 0, 10, 0, 4, 1, 10, 0, 1, 10]);
        f.extend(std::iter::repeat_n(0u8, 1400));
        f
    });
    let p = support::temp_capture("endless-fragments.pcap", &support::pcap(1, frames));
    // 16 MB: 1 MB for fragments.
    let out = support::wirelite(&["stats", p.to_str().unwrap(), "--max-memory", "16"]);
    assert_eq!(out.status.code(), Some(0));
    let err = support::stderr(&out);
    assert!(
        err.contains("fragmented IP datagrams were dropped unfinished"),
        "{err}"
    );
    let out = support::wirelite(&["stats", p.to_str().unwrap()]);
    assert_eq!(support::stderr(&out), "");
}

#[test]
fn the_http_table_streams_and_an_unanswered_request_holds_back_a_bounded_number_of_rows() {
    let server = [10, 0, 1, 10];
    let mut frames = vec![tcp_frame(
        [10, 0, 5, 1],
        20000,
        server,
        80,
        1,
        false,
        b"GET /never HTTP/1.1\r\nHost: a\r\n\r\n",
    )];
    let req = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
    let res = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for i in 0..300u16 {
        let client = [10, 0, 6, (i % 250) as u8];
        let port = 30000 + i;
        frames.push(tcp_frame(client, port, server, 80, 1, false, req));
        frames.push(tcp_frame(server, 80, client, port, 1, false, res));
    }
    let p = support::temp_capture("unanswered-first.pcap", &support::pcap(1, frames));
    let p = p.to_str().unwrap();
    let whole = support::wirelite(&["http", p]);
    assert_eq!(support::stderr(&whole), "");
    let text = support::stdout(&whole);
    assert!(
        text.ends_with(
            "301 exchanges: 300 answered, 1 without response, 0 responses without request\n"
        ),
        "{text}"
    );
    // 1 MB: 170 rows may wait; the unanswered request is written when the 171st arrives.
    let capped = support::wirelite(&["http", p, "--max-memory", "1"]);
    let err = support::stderr(&capped);
    assert!(
        err.contains(
            "1 HTTP requests were shown without a response: more than 170 exchanges waited"
        ),
        "{err}"
    );
    assert_eq!(
        support::stdout(&capped),
        text,
        "the same table, written sooner"
    );
}

#[test]
fn conversation_tables_keep_their_share_and_say_what_they_left_out() {
    // 50,000 one-SYN TCP conversations, from 196 source addresses (a new one every 256).
    let p = support::temp_capture("tiny-conversations.pcap", &tiny_streams(50_000));
    let p = p.to_str().unwrap();
    let json = |o: &std::process::Output| -> serde_json::Value {
        serde_json::from_str(&support::stdout(o)).unwrap()
    };
    let rows = |v: &serde_json::Value| v["conversations"].as_array().unwrap().clone();
    let all = support::wirelite(&["conv", p, "-T", "json", "--sort", "start"]);
    assert_eq!(support::stderr(&all), "");
    let all = rows(&json(&all));
    assert_eq!(all.len(), 50_000);

    // --max-memory 1 gives a table a quarter of 1 MB, at 1536 bytes a row: 170 rows.
    let capped = support::wirelite(&[
        "conv",
        p,
        "-T",
        "json",
        "--sort",
        "start",
        "--max-memory",
        "1",
    ]);
    assert_eq!(capped.status.code(), Some(0));
    let err = support::stderr(&capped);
    assert!(
        err.contains(
            "memory cap (--max-memory 1): the table keeps 170 conversations; 49830 frames of \
             later ones were not counted"
        ),
        "{err}"
    );
    // The first conversations are kept, and counted in full.
    assert_eq!(rows(&json(&capped)), all[..170].to_vec());
    // Late streams alone (numbers far past the conversations kept) are found all the same.
    let late = support::wirelite(&[
        "conv",
        p,
        "-T",
        "json",
        "--sort",
        "start",
        "-Y",
        "tcp.stream >= 49990",
    ]);
    assert_eq!(rows(&json(&late)), all[49_990..].to_vec());

    // The same share bounds endpoints and the IP conversations of stats.
    let endpoints = support::wirelite(&["endpoints", p, "--max-memory", "1"]);
    assert!(support::stderr(&endpoints).contains("the table keeps 170 conversations"));
    let stats = support::wirelite(&["stats", p, "-T", "json", "--max-memory", "1"]);
    let err = support::stderr(&stats);
    // Sources 0..170 are kept (256 frames each); the other 26 (the last one has 80) are not.
    assert!(
        err.contains("the table keeps 170 conversations; 6480 frames of later ones"),
        "{err}"
    );
    let stats = json(&stats);
    let uncapped = json(&support::wirelite(&["stats", p, "-T", "json"]));
    // Only the conversation table is cut: the hierarchy still counts every frame.
    assert_eq!(stats["protocol_hierarchy"], uncapped["protocol_hierarchy"]);
}

#[test]
fn dns_and_ping_tables_keep_their_share_and_say_what_they_left_out() {
    // 300 DNS queries and 300 echo requests, each answered right after.
    let dns = |id: u16, response: bool| {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(if response {
            &[0x81, 0x80]
        } else {
            &[0x01, 0x00]
        });
        m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(b"\x03lab\x00\x00\x01\x00\x01");
        m
    };
    let (client, server) = ([10, 0, 1, 20], [10, 0, 1, 10]);
    let mut frames = Vec::new();
    for i in 0..300u16 {
        for response in [false, true] {
            let (s, d, sp, dp) = if response {
                (server, client, 53, 40000 + i)
            } else {
                (client, server, 40000 + i, 53)
            };
            let mut f = Vec::new();
            eth()
                .ipv4(s, d, 64)
                .udp(sp, dp)
                .write(&mut f, &dns(i, response))
                .unwrap();
            frames.push(f);
            let mut f = Vec::new();
            let b = eth().ipv4(s, d, 64);
            let b = if response {
                b.icmpv4_echo_reply(7, i)
            } else {
                b.icmpv4_echo_request(7, i)
            };
            b.write(&mut f, b"ping").unwrap();
            frames.push(f);
        }
    }
    let p = support::temp_capture("many-pairs.pcap", &support::pcap(1, frames));
    let p = p.to_str().unwrap();
    for (command, key) in [("dns", "queries"), ("ping", "echoes")] {
        let rows = |args: &[&str]| -> (Vec<serde_json::Value>, String) {
            let out = support::wirelite(&[&[command, p, "-T", "json"], args].concat());
            assert_eq!(out.status.code(), Some(0));
            let v: serde_json::Value = serde_json::from_str(&support::stdout(&out)).unwrap();
            let rows = v[key].as_array().unwrap_or_else(|| panic!("{v}")).clone();
            (rows, support::stderr(&out))
        };
        let (all, err) = rows(&[]);
        assert_eq!((all.len(), err.as_str()), (300, ""), "{command}");
        // --max-memory 1: 170 rows (a quarter of 1 MB at 1536 bytes a row).
        let (kept, err) = rows(&["--max-memory", "1"]);
        assert!(
            err.contains(
                "memory cap (--max-memory 1): the table keeps 170 rows; 130 later ones were left \
                 out, before any filter"
            ),
            "{command}: {err}"
        );
        assert_eq!(kept, all[..170].to_vec(), "{command}");
        // A filter picks rows by their request or their answer, without a set of frames.
        let (answers, _) = rows(&["-Y", "ip.src==10.0.1.10 && frame.number > 1000"]);
        let late: Vec<_> = all.iter().skip(250).cloned().collect();
        assert_eq!(answers, late, "{command}");
    }
}

#[test]
fn a_first_pass_keeps_its_share_of_links_and_calls_no_request_unanswered_past_it() {
    // An unanswered echo request, 1,200 answered ones, and another unanswered one.
    let (client, server) = ([10, 0, 1, 20], [10, 0, 1, 10]);
    let echo = |seq: u16, reply: bool| {
        let b = if reply {
            eth().ipv4(server, client, 64).icmpv4_echo_reply(7, seq)
        } else {
            eth().ipv4(client, server, 64).icmpv4_echo_request(7, seq)
        };
        let mut f = Vec::new();
        b.write(&mut f, b"ping").unwrap();
        f
    };
    let mut frames = vec![echo(60_000, false)];
    for i in 0..1200u16 {
        frames.push(echo(i, false));
        frames.push(echo(i, true));
    }
    frames.push(echo(60_001, false));
    let p = support::temp_capture("many-echoes.pcap", &support::pcap(1, frames));
    let p = p.to_str().unwrap();
    let list = |extra: &[&str]| {
        let out = support::wirelite(&[&["list", p, "-2", "-Y", "icmp.type==8"], extra].concat());
        assert_eq!(out.status.code(), Some(0));
        let lines: Vec<String> = support::stdout(&out).lines().map(String::from).collect();
        assert_eq!(lines.len(), 1202);
        (lines, support::stderr(&out))
    };
    let (all, err) = list(&[]);
    assert_eq!(err, "");
    assert!(all[0].ends_with("(no response found!)"), "{}", all[0]);
    assert!(all[1].ends_with("(reply in 3)"), "{}", all[1]);
    assert!(all[1200].ends_with("(reply in 2401)"), "{}", all[1200]);
    assert!(all[1201].ends_with("(no response found!)"), "{}", all[1201]);

    // --max-memory 1: a sixteenth of 1 MB at 64 bytes a link keeps 1,024 links.
    let (capped, err) = list(&["--max-memory", "1"]);
    assert!(
        err.contains(
            "memory cap (--max-memory 1): the first pass keeps 1024 links to answers; 176 later \
             ones were left out, so their requests show no response_in"
        ),
        "{err}"
    );
    // The first 1,024 answered requests, and the unanswered one before them, are as before.
    assert_eq!(capped[..1025], all[..1025]);
    // Past them a request has no link, and is not called unanswered: it may not have been.
    for line in &capped[1025..] {
        assert!(line.ends_with("ttl=64"), "{line}");
    }
    // The field says the same.
    let out = support::wirelite(&[
        "list",
        p,
        "-T",
        "fields",
        "-e",
        "icmp.resp_in",
        "-Y",
        "icmp.type==8",
        "--max-memory",
        "1",
    ]);
    let resp_in: Vec<String> = support::stdout(&out).lines().map(String::from).collect();
    assert_eq!(resp_in[1024], "2049");
    assert_eq!(resp_in[1025], "");
}
