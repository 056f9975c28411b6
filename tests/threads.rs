//! The ordered stage makes the output independent of the number of decode threads and of where
//! batches end: `--threads 1`, the default (one per core, one fewer for the commands that parse
//! HTTP or take every frame) and more threads than cores print the same bytes, for every command
//! that reads packets through the pipeline.

use crate::support;

/// Commands whose output goes through each part of the pipeline: rendering on the pool (list,
/// detail, fields), the filter on the pool (counting, or handing the frames it shows to a sink
/// that takes frames: conv -Y), and the sinks of the ordered stage (tcp, stats). With one thread
/// in the pool, the writer filters and renders on its own thread instead; for the commands that
/// parse HTTP (list), that thread reads and decodes too, and the ordered stage decodes the
/// batches it sends undecoded. With one thread, the reader of tcp decodes or sends undecoded
/// too, and for stats it counts some of the batches it decodes.
const RUNS: &[&[&str]] = &[
    &["list"],
    &["list", "-V"],
    &["list", "-T", "ndjson"],
    &[
        "list",
        "-Y",
        "tcp or udp",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "tcp.stream",
        "-e",
        "udp.stream",
    ],
    &["list", "-Y", "tcp.port==80 || udp.port==53", "--count"],
    // A filter on the ordered stage's fields: counted after it, not on the decoding threads.
    &["list", "-Y", "tcp.stream==1 || udp.stream==0", "--count"],
    &["tcp"],
    &["conv", "--by", "tcp", "-Y", "tcp.port==80 || udp"],
    &["stats"],
];

#[test]
fn same_output_for_one_thread_the_default_and_eight() {
    for cap in support::captures() {
        let path = support::capture_path(&cap);
        let p = path.to_str().unwrap();
        for run in RUNS {
            let args = |threads: Option<&'static str>| {
                let mut v = vec![run[0], p];
                v.extend_from_slice(&run[1..]);
                if let Some(t) = threads {
                    v.extend(["--threads", t]);
                }
                support::wirelite(&v)
            };
            let default = args(None);
            for threads in ["1", "8"] {
                let other = args(Some(threads));
                assert_eq!(
                    default.stdout, other.stdout,
                    "{cap} {run:?}: --threads {threads} prints other bytes than the default"
                );
                assert_eq!(
                    default.status.code(),
                    other.status.code(),
                    "{cap} {run:?}: --threads {threads} exits otherwise"
                );
            }
        }
    }
}

#[test]
fn small_batches_do_not_change_the_output() {
    // Batches of 3 frames: batch ends fall inside connections (the ordered stage carries state
    // across them), and the reader carries most of each chunk it read into the next batch. On
    // four threads, many small batches are decoded at once and finish out of order. On one, one
    // thread reads and writes them, and sends some undecoded to the ordered stage, in a mix that
    // changes from run to run.
    for cap in support::captures() {
        let path = support::capture_path(&cap);
        let p = path.to_str().unwrap();
        let default = support::wirelite(&["list", p]);
        for threads in ["1", "2", "4"] {
            let tiny = support::wirelite(&["list", p, "--batch-frames", "3", "--threads", threads]);
            assert_eq!(
                default.stdout, tiny.stdout,
                "{cap}, {threads} threads: stdout differs"
            );
            assert_eq!(
                default.stderr, tiny.stderr,
                "{cap}, {threads} threads: stderr differs"
            );
            assert_eq!(default.status.code(), tiny.status.code(), "{cap}");
        }
    }
}

/// Every frame as a sink that takes frames from the ordered stage (tcp, conv) gets it: its
/// record, its state and the length of its bytes.
#[derive(Default)]
struct Frames(Vec<String>);

impl wirelite::engine::Sink for Frames {
    fn packet(&mut self, view: &wirelite::field::PacketView<'_>) -> std::io::Result<()> {
        let (rec, state, len) = (view.rec, view.state, view.data.len());
        self.0.push(format!("{rec:?} {state:?} {len}"));
        Ok(())
    }
}

/// With one decoding thread, the reader of a run whose sink takes frames from the ordered stage
/// (tcp, conv) decodes some batches and sends others undecoded, for the ordered stage to decode
/// frame by frame; which, depends on timing. A fixed mix (one batch in three sent undecoded) must
/// give every frame the record and state that the pool's decoding gives, on every capture.
#[test]
fn batches_sent_undecoded_give_the_frames_the_pool_gives() {
    let opts = |threads, reader_batches| wirelite::engine::Options {
        threads,
        batch_frames: 3,
        reassembly: wirelite::tcp::Reassembly::All,
        reader_batches,
        ..wirelite::engine::Options::default()
    };
    let mut frames = 0;
    for cap in support::captures() {
        let path = support::capture_path(&cap);
        let run = |opts: &wirelite::engine::Options| {
            let reader = wirelite::capture::Reader::open(path.to_str().unwrap()).ok()?;
            let mut sink = Frames::default();
            let all = wirelite::engine::MatchAll;
            let report = wirelite::engine::run(reader, opts, &all, &mut sink, &mut |_, _| {});
            Some((sink.0, report.unwrap().frames_read))
        };
        let pool = run(&opts(4, wirelite::engine::ReaderBatches::default()));
        let mixed = run(&opts(1, wirelite::engine::ReaderBatches::InTurn));
        assert_eq!(pool, mixed, "{cap}");
        frames += pool.map_or(0, |(f, _)| f.len());
    }
    assert!(frames > 5_000, "{frames} frames");
}

/// Counts frames, as `list -Y F --count` does: with a filter over packet fields only, the pool
/// decodes and filters every batch itself.
struct Count(u64);

impl wirelite::engine::Sink for Count {
    fn packet(&mut self, _: &wirelite::field::PacketView<'_>) -> std::io::Result<()> {
        self.0 += 1;
        Ok(())
    }
    fn counts_only(&self) -> bool {
        true
    }
    fn shown(&mut self, n: u64) {
        self.0 += n;
    }
}

/// A filter that panics on one frame: a stand-in for a decoder's bug.
struct PanicsOn(u64);

impl wirelite::engine::Matcher for PanicsOn {
    fn matches(&self, view: &wirelite::field::PacketView<'_>) -> bool {
        assert!(view.rec.meta.number != self.0, "frame {} panics", self.0);
        true
    }
}

/// Run the engine over the HTTP sample on a thread of its own, with the filter panicking on
/// frame `panics_on`: the message of the panic the run raised (None if it raised none), or Err
/// if the run had not ended after a minute (it waits for a thread that panicked).
fn panic_raised(
    opts: wirelite::engine::Options,
    panics_on: u64,
    mut sink: impl wirelite::engine::Sink + 'static,
) -> Result<Option<String>, std::sync::mpsc::RecvTimeoutError> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/lab-http.pcap");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let reader = wirelite::capture::Reader::open(path.to_str().unwrap()).unwrap();
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wirelite::engine::run(
                reader,
                &opts,
                &PanicsOn(panics_on),
                &mut sink,
                &mut |_, _| {},
            )
        }));
        let raised = ran.err().map(|p| match p.downcast::<String>() {
            Ok(text) => *text,
            Err(_) => "a panic without a message".to_string(),
        });
        let _ = tx.send(raised);
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
}

#[test]
fn a_panic_on_a_decoding_thread_is_raised_not_waited_for() {
    // A frame a batch, the panic in the third: the ordered stage has taken the batches before
    // it, and the reader has more than the batches in flight to give after it.
    let opts = wirelite::engine::Options {
        threads: 2,
        batch_frames: 1,
        stateless: true,
        tcp_state: false,
        pairing: false,
        ..wirelite::engine::Options::default()
    };
    match panic_raised(opts, 3, Count(0)) {
        Ok(raised) => assert_eq!(
            raised.as_deref(),
            Some("frame 3 panics"),
            "the run did not raise the decoder's panic"
        ),
        Err(_) => panic!("the run still waits for the batch whose decoder panicked"),
    }
}

/// The same with the packet list's pipeline on two cores: one thread reads and writes (and runs
/// the filter, which panics there), the ordered stage runs on the caller's. The panic must reach
/// the caller, whichever thread waits for the other when it happens.
#[test]
fn a_panic_on_the_reading_and_writing_thread_is_raised_not_waited_for() {
    for batch_frames in [1, 3, 2048] {
        let opts = wirelite::engine::Options {
            threads: 1,
            http: true,
            batch_frames,
            ..wirelite::engine::Options::default()
        };
        let sink = wirelite::output::summary::SummarySink::new(Vec::new());
        match panic_raised(opts, 5, sink) {
            Ok(raised) => assert_eq!(
                raised.as_deref(),
                Some("frame 5 panics"),
                "batches of {batch_frames}: the run did not raise the filter's panic"
            ),
            Err(_) => panic!("batches of {batch_frames}: the run waits for a thread that panicked"),
        }
    }
}

/// Without a filter, `stats` counts its IP tables and services of each batch on the decoding
/// thread that decoded it, and adds the batches' counts in capture order (a batch with an IP
/// fragment is counted frame by frame). With a filter every frame is counted one by one on
/// the ordered stage's thread: `-Y frame` picks every frame, so both must print the same, with
/// the default batches and with batches of 3 frames (conversations and services that span
/// batches, first met in later ones, the time origin taken in the first). With one decoding
/// thread the reader decodes, and counts only the batches decoded while the ordered stage has
/// one waiting: a mix of both ways that changes from run to run.
#[test]
fn stats_counted_by_batch_equal_stats_counted_frame_by_frame() {
    let mut rows = 0;
    for cap in support::captures() {
        let path = support::capture_path(&cap);
        let p = path.to_str().unwrap();
        let one_by_one = support::wirelite(&["stats", p, "-T", "json", "-Y", "frame"]);
        for batch in [None, Some(("3", "4")), Some(("3", "1"))] {
            let mut args = vec!["stats", p, "-T", "json"];
            if let Some((n, threads)) = batch {
                args.extend(["--batch-frames", n, "--threads", threads]);
            }
            let batched = support::wirelite(&args);
            assert_eq!(
                support::stdout(&one_by_one),
                support::stdout(&batched),
                "{cap}, batches and threads {batch:?}"
            );
            assert_eq!(one_by_one.status.code(), batched.status.code(), "{cap}");
        }
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&support::stdout(&one_by_one)) {
            rows += json["conversations"].as_array().map_or(0, Vec::len);
        }
    }
    // The tables compared are not empty.
    assert!(rows > 100, "{rows} conversations");
}

/// A batch counts its frames' layers before the ordered stage takes any of them, except on a
/// TCP connection with DNS, whose frames the stage counts whole (it adds the messages they
/// complete to their layers). Here such a connection's frames come first, before UDP and ARP
/// frames of the same batch (real frames of samples/lab-dns.pcap, reordered): the nodes the
/// batch made for the later frames must still come after those of the first ones, as tshark
/// orders a node's children by their first frame.
#[test]
fn stats_orders_the_hierarchy_by_first_frame_when_batches_count_layers() {
    let frames = support::frames_of(&support::capture_path("lab-dns.pcap"));
    // Frames 13-22: the TCP connection to port 53; 3-4: a query and answer over UDP; 1-2: ARP.
    let picked = (12..22).chain(2..4).chain(0..2).map(|i| frames[i].clone());
    let p = support::temp_capture("dns-tcp-first.pcap", &support::pcap(1, picked));
    let p = p.to_str().unwrap();
    let one_by_one = support::wirelite(&["stats", p, "-Y", "frame"]);
    let text = support::stdout(&one_by_one);
    let names: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Protocol hierarchy"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["eth", "ip", "tcp", "dns", "udp", "dns", "arp"],
        "{text}"
    );
    for batch in ["1024", "5", "11"] {
        let batched = support::wirelite(&["stats", p, "--batch-frames", batch]);
        assert_eq!(text, support::stdout(&batched), "batches of {batch}");
    }
}
