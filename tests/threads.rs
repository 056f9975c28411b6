//! The ordered stage makes the output independent of the number of decode threads and of where
//! batches end: `--threads 1`, the default (one per core) and more threads than cores print the
//! same bytes, for every command that reads packets through the pipeline.

use crate::support;

/// Commands whose output goes through each part of the pipeline: rendering on the pool (list,
/// detail, fields), the filter on the pool, and the sinks of the ordered stage (tcp, stats).
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
    &["tcp"],
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
    // four threads, many small batches are decoded at once and finish out of order.
    for cap in support::captures() {
        let path = support::capture_path(&cap);
        let p = path.to_str().unwrap();
        let default = support::wirelite(&["list", p]);
        for threads in ["2", "4"] {
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
