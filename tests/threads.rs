//! The ordered stage makes the output independent of the number of decode threads.

use crate::support;

#[test]
fn same_output_for_one_and_eight_threads() {
    for cap in support::captures() {
        let path = support::capture_path(&cap);
        let p = path.to_str().unwrap();
        for extra in [&[][..], &["-V"][..], &["-T", "ndjson"][..]] {
            let mut one = vec!["list", p, "--threads", "1"];
            one.extend_from_slice(extra);
            let mut eight = vec!["list", p, "--threads", "8"];
            eight.extend_from_slice(extra);
            let (a, b) = (support::wirelite(&one), support::wirelite(&eight));
            assert_eq!(a.stdout, b.stdout, "{cap} {extra:?}: stdout differs");
            assert_eq!(
                a.status.code(),
                b.status.code(),
                "{cap} {extra:?}: exit differs"
            );
        }
    }
}

#[test]
fn small_batches_do_not_change_the_output() {
    // Batch boundaries fall inside connections; the ordered stage must carry state across them.
    let cap = support::capture_path("zeek__tcp-retransmit-fast009.pcap");
    let p = cap.to_str().unwrap();
    let default = support::wirelite(&["list", p]);
    let tiny = support::wirelite(&["list", p, "--batch-frames", "3"]);
    assert!(default.status.success());
    assert_eq!(default.stdout, tiny.stdout);
}
