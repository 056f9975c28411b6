#!/usr/bin/env python3
"""count-instructions.py - the instructions each thread of one wirelite run executes (callgrind).

On this class of machine (a shared 2-core VM) wall and CPU time move by 15-40% from run to run,
which hides changes of a few percent. Instruction counts do not move: what a change to one stage
saves shows as its thread's count. The thread that runs the ordered stage (thread 1, the main
thread) sets the wall time of every command that parses HTTP, so that is the count to watch.

Counts are not time: a cache miss costs one instruction's count and hundreds of cycles. Judge a
change by both, the counts for its direction and alternated runs (BENCHMARKS.md) for its size.
The other threads' counts repeat within a few tenths of a percent from run to run (list's
thread 1: 245.7M-246.0M); the rayon pool's threads vary more, as they spin while they wait.

Needs valgrind (Debian package `valgrind`). Callgrind runs about 50x slower than the program:
give it tens of MB, e.g. the head of the benchmark capture:

    head -c 40000000 /tmp/big.pcap > /tmp/s40.pcap
    scripts/count-instructions.py target/release/wirelite /tmp/s40.pcap list
    scripts/count-instructions.py target/release/wirelite /tmp/s40.pcap http -T json

(A capture cut mid-record is fine: wirelite reports the cut and shows everything before it.)
"""
import glob
import os
import re
import subprocess
import sys
import tempfile


# Entry points every thread's profile starts with; what a thread does is the next one down.
GENERIC = ("wirelite::main", "wirelite::cli::", "wirelite::engine::run ", "wirelite::engine::consume ")


def role(path):
    """What one thread ran: the wirelite function with the most instructions under it, past the
    entry points (the ordered stage, decoding, the reader, the writer)."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", path],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        # "  1,234 (12.34%)  /path/file.rs:function [binary]"
        m = re.match(r"\s*[\d,]+ \(\s*[\d.]+%\)\s+[^:]*:(.*?)(?: \[.*\])?$", line)
        if m and "wirelite::" in m.group(1) and not (m.group(1) + " ").startswith(GENERIC):
            return m.group(1)
    return "-"


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    binary, capture, *command = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", "--separate-threads=yes",
             f"--callgrind-out-file={out}", binary, *command, capture],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        files = sorted(glob.glob(out + "-*"))
        if not files:
            sys.exit(f"callgrind wrote no profile:\n{run.stderr}")
        print(f"{' '.join(command)} {capture} ({os.path.basename(binary)})")
        print(f"{'thread':>6} {'instructions':>14}  what it ran (its costliest wirelite function)")
        total = 0
        for f in files:
            with open(f) as fh:
                count = next((int(l.split()[1]) for l in fh if l.startswith("summary:")), 0)
            total += count
            print(f"{f.rsplit('-', 1)[1].lstrip('0'):>6} {count:>14,}  {role(f)}")
        print(f"{'all':>6} {total:>14,}")


if __name__ == "__main__":
    main()
