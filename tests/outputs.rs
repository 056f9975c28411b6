//! The output formats on the shipped sample: JSON shape, field options, the detail tree.

use crate::support;

fn sample() -> String {
    support::capture_path("lab-http.pcap")
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn ndjson_keeps_layer_order_and_wireshark_names() {
    let out = support::wirelite(&["list", &sample(), "-T", "ndjson"]);
    assert!(out.status.success());
    let text = support::stdout(&out);
    let syn_ack: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["_source"]["layers"]["tcp"]["tcp.flags"] == "0x0012")
        .expect("the sample has a SYN-ACK");
    let layers = syn_ack["_source"]["layers"].as_object().unwrap();
    let names: Vec<&str> = layers.keys().map(String::as_str).collect();
    assert_eq!(names, ["frame", "eth", "ip", "tcp"]);
    assert_eq!(layers["tcp"]["tcp.srcport"], "80");
    assert_eq!(layers["tcp"]["tcp.seq"], "0");
    assert_eq!(layers["tcp"]["tcp.ack"], "1");
    // A field with two values (src and dst) is one key holding an array.
    assert_eq!(layers["ip"]["ip.addr"].as_array().map(Vec::len), Some(2));
}

#[test]
fn json_with_named_fields_holds_arrays() {
    let out = support::wirelite(&["list", &sample(), "-T", "json", "-e", "ip.addr", "-c", "3"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pkts = v.as_array().unwrap();
    assert_eq!(pkts.len(), 3);
    assert!(
        pkts[0]["_source"]["layers"].as_object().unwrap().is_empty(),
        "ARP has no ip.addr"
    );
    assert_eq!(
        pkts[2]["_source"]["layers"]["ip.addr"],
        serde_json::json!(["203.0.113.10", "10.0.1.10"])
    );
}

#[test]
fn fields_options_as_tshark() {
    let s = sample();
    let out = support::wirelite(&[
        "list",
        &s,
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "ip.addr",
        "-E",
        "header=y",
        "-E",
        "separator=/s",
        "-E",
        "occurrence=l",
        "-E",
        "quote=d",
        "-c",
        "3",
    ]);
    assert_eq!(
        support::stdout(&out),
        "frame.number ip.addr\n\"1\" \n\"2\" \n\"3\" \"10.0.1.10\"\n"
    );
    let out = support::wirelite(&[
        "list",
        &s,
        "-T",
        "fields",
        "-e",
        "ip.addr",
        "-E",
        "aggregator=;",
        "-c",
        "3",
    ]);
    assert_eq!(
        support::stdout(&out).lines().nth(2),
        Some("203.0.113.10;10.0.1.10")
    );
}

#[test]
fn detail_tree_names_layers_and_fields() {
    let out = support::wirelite(&["list", &sample(), "-V", "-c", "3"]);
    let text = support::stdout(&out);
    let frame3: Vec<&str> = text.split("\n\n").nth(2).unwrap().lines().collect();
    assert_eq!(
        frame3[0],
        "Frame 3: 74 bytes on wire (592 bits), 74 bytes captured (592 bits) on interface 0"
    );
    assert!(frame3.contains(&"Internet Protocol Version 4, Src: 203.0.113.10, Dst: 10.0.1.10"));
    let tcp = frame3
        .iter()
        .find(|l| l.starts_with("Transmission Control Protocol, Src Port: "))
        .expect("a TCP layer line");
    assert!(tcp.ends_with(", Dst Port: 80, Seq: 0, Len: 0"), "{tcp}");
    // The laptop is one router away: its TTL of 64 arrives as 63.
    assert!(frame3.contains(&"    Time to Live: 63"));
    assert!(frame3.contains(&"    TCP Flags: ··········S·"));
}

#[test]
fn count_stops_early_and_head_closes_quietly() {
    let out = support::wirelite(&["list", &sample(), "-c", "2"]);
    assert_eq!(support::stdout(&out).lines().count(), 2);
    let mut child = std::process::Command::new(support::bin())
        .args(["list", &sample(), "-V"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as `| head` does
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        support::stderr(&out).is_empty(),
        "{}",
        support::stderr(&out)
    );
}

/// Run wirelite with its standard output a pipe whose reader is gone before anything is
/// written, so that every write fails with a closed pipe, whichever thread makes it.
fn into_closed_pipe(args: &[&str], capture: &str) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(support::bin())
        .args(args.iter().take(1))
        .arg(capture)
        .args(args.iter().skip(1))
        .stdout(writer)
        .output()
        .unwrap()
}

fn ends_quietly(args: &[&str], capture: &str) {
    let out = into_closed_pipe(args, capture);
    let err = support::stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    assert!(err.is_empty(), "{args:?}: {err}");
}

#[test]
fn every_command_ends_quietly_when_its_reader_is_gone() {
    let commands: [&[&str]; 13] = [
        &["list"],
        &["list", "-V"],
        &["list", "-T", "json"],
        &["list", "-T", "fields", "-e", "frame.number"],
        &["tcp"],
        &["flow", "--stream", "0"],
        &["ping"],
        &["dns"],
        &["http"],
        &["http", "-T", "json"],
        &["conv"],
        &["stats"],
        &["follow", "--stream", "0"],
    ];
    for args in commands {
        ends_quietly(args, &sample());
    }
    // The `http` table's rows go to a writer thread in batches: with many more rows than the
    // batches on their way, the run is still going when that writer finds the pipe closed.
    let mut c = support::TcpConn::new(([10, 0, 1, 21], 40000), ([10, 0, 1, 10], 80));
    c.handshake();
    for i in 0..3000 {
        c.data(
            true,
            format!("GET /{i} HTTP/1.1\r\nHost: web\r\n\r\n").as_bytes(),
        );
        c.data(false, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    let p = support::temp_capture("keepalive-3000.pcap", &support::pcap(1, c.frames));
    for args in [&["http"][..], &["http", "-T", "json"]] {
        ends_quietly(args, p.to_str().unwrap());
    }
}
