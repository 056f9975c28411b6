#!/usr/bin/env python3
"""bench-peers.py - time wirelite against tshark and tcpdump on one capture, in one run.

    scripts/bench-peers.py FILE.pcap [--runs N] [--peer-runs N] [--out results.md]
    sudo scripts/bench-peers.py --make /tmp/big.pcap [--size-mb 1100]   # build FILE first
    scripts/bench-peers.py FILE.pcap --build release     # time `cargo build --release`'s binary
    scripts/bench-peers.py FILE.pcap --reuse             # skip the build when the tree is as built
    scripts/bench-peers.py FILE.pcap --runs 9 --peer-runs 3 --rounds 3   # each row's runs in 3 rounds

Each command runs --runs times (tshark --peer-runs times, it is slow), output to /dev/null,
timed from its start to its exit (peak resident memory by /usr/bin/time), the peer's runs
interleaved with wirelite's for the same row (with --rounds N, each row's runs are split into N
rounds over the whole script, every row taking its turn in each round, so that a slow stretch of
the machine lasting a minute falls on one of a row's rounds, not on all its runs; the threads
table is not split); the table shows medians of wall time, of CPU time (user and system: more
CPU for the same work is the machine slowing, a wall time well over CPU / cores is waiting) and
of peak resident memory, packets per second, the ratio to the peer measured in the same run, and
whether the target of issue 8 is met, and every run's time follows it. The floor is
examples/header_walk.rs: pcap record headers and ports, one thread. wirelite is the build of
scripts/build-pgo.sh (optimized by a profile of its runs over the shipped samples and the test
corpus, then laid out by BOLT where llvm-bolt is installed) unless --build release asks for the
plain one; the header names the build (and whether BOLT laid it out) and the commit it was built
from (read before the builds, and said to be uncertain if the tree changed while they ran),
marked -dirty when the tree has changes. With --reuse, a build this script made before is timed
again without building when the tree (tracked and untracked files) is as it was then and the
binary is the one it left (build-pgo.sh trains for five minutes each time); otherwise, and
always outside a git checkout, it builds as without the flag. The page cache is warmed (the file
read through once, untimed) before every run, so every tool reads from memory. A run that exits
with an error stops the script."""
import argparse, hashlib, json, os, platform, resource, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILDS = {"pgo": os.path.join(ROOT, "target", "pgo", "release", "wirelite"),
          "release": os.path.join(ROOT, "target", "release", "wirelite")}
FLOOR = os.path.join(ROOT, "target", "release", "examples", "header_walk")


def revision():
    """The working tree's commit, marked -dirty when it has changes (the script builds the tree,
    not the commit), or says it is not a git checkout."""
    p = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                       text=True)
    return p.stdout.strip() if p.returncode == 0 else "an unknown commit (not a git checkout)"


def build_name(build, binary):
    """What the header calls the timed build: build-pgo.sh's says whether BOLT laid it out (its
    output carries BOLT's note section then; without llvm-bolt, or when BOLT fails, the script
    keeps the profile-guided binary and says why)."""
    if build != "pgo":
        return "cargo build --release"
    with open(binary, "rb") as f:
        bolted = b".note.bolt_info" in f.read()
    return ("scripts/build-pgo.sh (profile-guided, then laid out by BOLT)" if bolted
            else "scripts/build-pgo.sh (profile-guided only: BOLT was missing or failed)")


def tree_changes(leave_out=None):
    """A digest of the working tree's changes against its commit: the diff of tracked files, and
    the names and contents of untracked files that git does not ignore (a new source file
    changes the build before it is added), but for `leave_out`, this script's own --out file.
    None outside a git checkout, where the tree cannot be told."""
    h = hashlib.sha256()
    diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=ROOT, capture_output=True)
    if diff.returncode != 0:
        return None
    h.update(diff.stdout)
    untracked = subprocess.run(["git", "ls-files", "-z", "--others", "--exclude-standard"],
                               cwd=ROOT, capture_output=True).stdout
    skip = os.path.realpath(leave_out) if leave_out else None
    for name in sorted(n for n in untracked.split(b"\0") if n):
        path = os.path.join(ROOT, os.fsdecode(name))
        if os.path.realpath(path) == skip:
            continue
        h.update(b"\0" + name + b"\0")
        try:
            # In pieces: an untracked capture in the tree can be gigabytes. (Not through
            # hashlib.file_digest, which needs Python 3.11.)
            with open(path, "rb") as fh:
                of_file = hashlib.sha256()
                while piece := fh.read(1 << 20):
                    of_file.update(piece)
                h.update(of_file.digest())
        except OSError as e:  # gone since listed, or unreadable: its name and the error count
            h.update(str(e).encode())
    return h.hexdigest()


def stamp_path(binary):
    return binary + ".bench-peers-stamp"


def stamp_of(built_from, tree, binary):
    """What a build is known by: the commit and tree it was built from, and the binary's size
    and modification time (any later build, by cargo or build-pgo.sh, changes them)."""
    st = os.stat(binary)
    return {"revision": built_from, "tree": tree, "binary": [st.st_size, st.st_mtime_ns]}


def reusable(built_from, tree, binary):
    """Whether the binary is the one this script built from this very tree, by its stamp."""
    if tree is None:
        return False
    try:
        with open(stamp_path(binary)) as fh:
            return json.load(fh) == stamp_of(built_from, tree, binary)
    except (OSError, ValueError):
        return False


def warm(path):
    """Read the file through the page cache, untimed. Once at the start is not enough on every
    machine: a kernel that pages out cold page cache (DAMON pageout, as on the VM of
    BENCHMARKS.md) drops tens of MB of the file during one tshark run, and the next tool to
    run then reads them from disk (tcp: 0.84 s with 88 MB paged out, 0.48 s warm)."""
    with open(path, "rb") as fh:
        while fh.read(8 << 20):
            pass


def once(cmd, path):
    """Wall seconds, peak RSS (MB) and CPU seconds (user and system) of one run of cmd, on a
    warm page cache, its output to /dev/null. The wall time is taken here: `/usr/bin/time`'s
    `%e` truncates to 10 ms, 4% of a 0.25 s run, which quantised the ratios and rounded
    wirelite's times down. So is the CPU time, to the microsecond, from this process's
    children's usage before and after (it includes time's own, about a millisecond). The peak
    RSS is still time's `%M`: a child spawned from this process would count Python's own
    (15 MB) as its peak, since Linux carries the high-water mark across exec."""
    warm(path)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if p.returncode != 0:
        sys.exit(f"bench-peers: {' '.join(cmd)} exited with {p.returncode}:\n{p.stderr}")
    return wall, int(p.stderr.strip().splitlines()[-1]) / 1024, cpu


def medians(samples):
    """Median wall seconds, median peak RSS (MB), every run's wall seconds in order, and median
    CPU seconds."""
    return (statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples),
            [s[0] for s in samples], statistics.median(s[2] for s in samples))


def timed(cmd, runs, path):
    """Median wall seconds and median peak RSS (MB) of `runs` runs of cmd."""
    return medians([once(cmd, path) for _ in range(runs)])


def interleaved(ours, theirs, runs, peer_runs, path):
    """`runs` runs of ours and `peer_runs` of theirs, interleaved: the peer's spread evenly among
    ours. This machine's speed drifts by a third within minutes, so two medians taken one after
    the other can each fall on a different stretch; interleaved, both sample the same ones."""
    at = [min(runs - 1, (2 * k + 1) * runs // (2 * peer_runs)) for k in range(peer_runs)]
    mine, peer = [], []
    for i in range(runs):
        mine.append(once(ours, path))
        for _ in range(at.count(i)):
            peer.append(once(theirs, path))
    return mine, peer


def per_round(total, rounds):
    """How many of `total` runs each of `rounds` rounds takes: as evenly as can be, the odd
    ones in the first rounds."""
    return [total // rounds + (r < total % rounds) for r in range(rounds)]


def timed_rows(tasks, runs, rounds, path):
    """Both commands of every row, `(ours, theirs, peer_runs)`, timed (`interleaved`) in
    `rounds` rounds: each round runs its share of every row's runs, row after row. A slow
    stretch of the machine lasts tens of seconds and slows wirelite two- to threefold; a tshark
    run (15-30 s) averages it over its own length, while all of a row's sub-second wirelite runs
    taken in one place can fall in it together. Rounds put a row's runs minutes apart. Returns
    each row's medians, wirelite's then the peer's."""
    ours_per_round = per_round(runs, rounds)
    peer_per_round = [per_round(peer_runs, rounds) for _, _, peer_runs in tasks]
    samples = [([], []) for _ in tasks]
    for r in range(rounds):
        for (ours, theirs, _), peer_shares, (mine, peer) in zip(tasks, peer_per_round, samples):
            m, p = interleaved(ours, theirs, ours_per_round[r], peer_shares[r], path)
            mine.extend(m)
            peer.extend(p)
    return [(medians(mine), medians(peer)) for mine, peer in samples]


def packets(wl, path):
    out = subprocess.run([wl, "list", path, "--count"], capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peer-runs", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1,
                    help="split each row's runs into this many rounds over the whole script")
    ap.add_argument("--out")
    ap.add_argument("--make", action="store_true", help="build FILE with make-big-capture.sh")
    ap.add_argument("--size-mb", type=int, default=1100)
    ap.add_argument("--build", choices=sorted(BUILDS), default="pgo",
                    help="which wirelite to time: scripts/build-pgo.sh's (default) or cargo's")
    ap.add_argument("--reuse", action="store_true",
                    help="time the build an earlier run made, if the tree is unchanged since")
    a = ap.parse_args()
    if a.runs < 1 or a.peer_runs < 1:
        sys.exit("bench-peers: --runs and --peer-runs take at least 1")
    if a.rounds < 1 or a.rounds > min(a.runs, a.peer_runs):
        sys.exit("bench-peers: --rounds takes at least 1 and at most --runs and --peer-runs")
    if a.make:
        subprocess.run([os.path.join(HERE, "make-big-capture.sh"), a.file, str(a.size_mb)],
                       check=True)
    for tool in ("tshark", "tcpdump"):
        if not shutil.which(tool):
            sys.exit(f"bench-peers: {tool} is required (Debian package {tool})")
    # The commit the binaries are built from, read before the builds and again after them: read
    # when the table is printed, it named the tree as it stood minutes after the build, so an
    # edit made during a run marked that run's build -dirty whether or not the build had it.
    built_from, tree = revision(), tree_changes(a.out)
    wl_bin = BUILDS[a.build]
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "header_walk"],
                   cwd=ROOT, check=True)
    if a.reuse and reusable(built_from, tree, wl_bin):
        print(f"bench-peers: timing the build of {built_from} made before (--reuse)",
              file=sys.stderr)
    else:
        if a.build == "pgo":
            subprocess.run([os.path.join(HERE, "build-pgo.sh")], check=True)
        else:
            subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        if (revision(), tree_changes(a.out)) != (built_from, tree):
            # No new stamp: the binary is not known to be any one tree's. (A stamp left from
            # before still tells its own binary and tree truly: a rebuilt binary fails it.)
            built_from += " (the tree changed while it was built: the build may hold either)"
        elif tree is not None:
            with open(stamp_path(wl_bin), "w") as fh:
                json.dump(stamp_of(built_from, tree, wl_bin), fh)
    f = a.file
    warm(f)
    n = packets(wl_bin, f)
    size = os.path.getsize(f)
    cores = os.cpu_count() or 1
    # (task, wirelite command, peer name, peer command, target ratio or None, what the ratio is)
    tasks = [
        ("list", [wl_bin, "list", f], "tshark", ["tshark", "-n", "-r", f], 30),
        ("list", [wl_bin, "list", f], "tcpdump", ["tcpdump", "-n", "-r", f], 3),
        ("list -Y tcp.port==80", [wl_bin, "list", f, "-Y", "tcp.port==80"], "tshark",
         ["tshark", "-n", "-r", f, "-Y", "tcp.port==80"], 30),
        ("list -Y tcp.port==80", [wl_bin, "list", f, "-Y", "tcp.port==80"], "tcpdump",
         ["tcpdump", "-n", "-r", f, "tcp port 80"], 3),
        ("tcp", [wl_bin, "tcp", f], "tshark -z conv,tcp", ["tshark", "-n", "-q", "-r", f, "-z", "conv,tcp"], 50),
        ("conv --by tcp", [wl_bin, "conv", f, "--by", "tcp"], "tshark -z conv,tcp",
         ["tshark", "-n", "-q", "-r", f, "-z", "conv,tcp"], 50),
        ("stats", [wl_bin, "stats", f], "tshark -z io,phs", ["tshark", "-n", "-q", "-r", f, "-z", "io,phs"], 50),
        ("http", [wl_bin, "http", f], "tshark -2 -Y http.request",
         ["tshark", "-n", "-2", "-r", f, "-Y", "http.request"], 50),
        ("list -Y tcp.port==80 --count", [wl_bin, "list", f, "-Y", "tcp.port==80", "--count"],
         "floor (header walk)", [FLOOR, f, "80"], -2),
    ]
    rows = []
    peer_runs = [a.peer_runs if theirs[0] == "tshark" else a.runs for _, _, _, theirs, _ in tasks]
    timings = timed_rows([(ours, theirs, k) for (_, ours, _, theirs, _), k in zip(tasks, peer_runs)],
                         a.runs, a.rounds, f)
    for (task, ours, peer, theirs, target), (wl, pt), n_peer in zip(tasks, timings, peer_runs):
        if target > 0:  # throughput ratio: the peer's time over ours
            ratio = pt[0] / wl[0] if wl[0] > 0 else float("inf")
            met, goal, shown = ratio >= target, f">= {target}x", f"{ratio:.1f}x"
        else:  # our time over the floor's, at most |target|
            ratio = wl[0] / pt[0] if pt[0] > 0 else float("inf")
            met, goal, shown = ratio <= -target, f"time <= {-target}x floor's", f"{ratio:.1f}x floor's time"
        rows.append((task, wl, peer, pt, shown, goal, met, n_peer))
    threads = []
    for t in sorted({1, 2, cores}):
        threads.append((t, timed([wl_bin, "list", f, "--threads", str(t)], a.runs, f),
                        timed([wl_bin, "tcp", f, "--threads", str(t)], a.runs, f)))

    mb = lambda x: f"{x:.0f}"
    lines = []
    lines.append(f"Capture: `{f}`: {size / 2**30:.2f} GiB, {n} packets, "
                 f"{size / n:.0f} bytes per packet on average (record headers included).")
    lines.append(f"Machine: {platform.machine()}, {cores} cores, "
                 f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
                 f"Linux {platform.release()}; {subprocess.run(['tshark', '-v'], capture_output=True, text=True).stdout.splitlines()[0]}; "
                 f"{subprocess.run(['tcpdump', '--version'], capture_output=True, text=True).stdout.splitlines()[0]}.")
    lines.append(f"wirelite: {build_name(a.build, wl_bin)} at {built_from}.")
    in_rounds = f", in {a.rounds} rounds" if a.rounds > 1 else ""
    lines.append(f"Medians of {a.runs} runs (tshark: {a.peer_runs}){in_rounds}, {time.strftime('%Y-%m-%d')}.")
    lines.append("")
    lines.append("| task | wirelite s | wirelite CPU s | wirelite pkt/s | wirelite peak MB | peer | peer s | peer CPU s | peer peak MB | ratio | target | met |")
    lines.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|")
    for task, wl, peer, pt, ratio, goal, met, _ in rows:
        lines.append(f"| {task} | {wl[0]:.3f} | {wl[3]:.3f} | {n / wl[0] / 1e6:.2f}M | "
                     f"{mb(wl[1])} | {peer} | {pt[0]:.3f} | {pt[3]:.3f} | {mb(pt[1])} | {ratio} | {goal} | "
                     f"{'yes' if met else 'NO'} |")
    lines.append("")
    lines.append("| threads | list s | list peak MB | tcp s | tcp peak MB |")
    lines.append("|---:|---:|---:|---:|---:|")
    for t, l, c in threads:
        lines.append(f"| {t} | {l[0]:.3f} | {mb(l[1])} | {c[0]:.3f} | {mb(c[1])} |")
    lines.append("")
    lines.append("Every run's wall time in seconds, in the order run (the peer's runs were interleaved with wirelite's"
                 + ("; `|` between rounds" if a.rounds > 1 else "") + "):")

    def runs(x, total):
        times, at = iter(x[2]), per_round(total, a.rounds)
        return " | ".join(" ".join(f"{next(times):.3f}" for _ in range(k)) for k in at)
    for task, wl, peer, pt, *_, n_peer in rows:
        lines.append(f"- {task}: wirelite {runs(wl, a.runs)}; {peer} {runs(pt, n_peer)}")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
