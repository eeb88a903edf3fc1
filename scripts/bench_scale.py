#!/usr/bin/env python3
"""Scale benchmark: scyth on a synthetic model of SCYTH-5's full shape.

Builds the release binary, writes the synthetic model once with
`scyth synth-model` into target/bench/ (reused when already there: same
shape and seed, checksum verified), writes synthetic texts that hit its
vocabulary, and measures, with a warm page cache:

- load to first result: `scyth classify` of a one-document input, from
  process start to exit (the checksum over the whole file included), the
  median of --load-runs runs; next to it, in the same run, the time to read
  the model file once (the peer: what any full pass over the file costs);
- throughput: `scyth classify` of --docs texts at 1 and 2 threads, raw text
  to written CSV rows, docs/s end to end (load included) and after the load
  (wall minus the load median), and the process's peak RSS (wait4);
- CPU time of each run (docs per CPU-second), which leaves out waiting for
  a core on a shared machine;
- a checksum of the output: the SHA-256 of the rows at 1 thread must equal
  that at 2 threads, and every document must have a row.

Results go to target/bench/scale.json. Only the Python standard library is
needed. Usage:

    scripts/bench_scale.py [--docs 20000] [--load-runs 7] [--columns 2033473 --latent 1024 --linker 512 --categories 11883] [--seed 1]
"""
import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "scyth")
OUT = os.path.join(ROOT, "target", "bench")


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def timed(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd; returns (wall seconds, peak RSS in bytes, CPU seconds) of
    that process. CPU time leaves out waiting for a core on a shared machine."""
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return secs, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def read_once(path):
    """Seconds to read a file once in 16 MiB pieces (warms the page cache)."""
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(16 << 20)
        while f.readinto(buf):
            pass
    return time.perf_counter() - start


def sha256_rows(path):
    """(SHA-256 of the file, number of lines)."""
    h = hashlib.sha256()
    lines = 0
    with open(path, "rb") as f:
        for line in f:
            h.update(line)
            lines += 1
    return h.hexdigest(), lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--columns", type=int, default=2_033_473)
    ap.add_argument("--latent", type=int, default=1024)
    ap.add_argument("--linker", type=int, default=512)
    ap.add_argument("--categories", type=int, default=11_883)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--load-runs", type=int, default=7)
    ap.add_argument("--no-build", action="store_true", help="use the existing release binary")
    args = ap.parse_args()

    if not args.no_build:
        run(["cargo", "build", "--release", "--locked"], cwd=ROOT)
    os.makedirs(OUT, exist_ok=True)
    shape = f"{args.columns}x{args.latent}x{args.linker}x{args.categories}"
    model = os.path.join(OUT, f"synth-{shape}-s{args.seed}.scyth")
    texts = os.path.join(OUT, f"synth-{shape}-s{args.seed}-{args.docs}.csv")
    one = os.path.join(OUT, "synth-one.csv")

    start = time.perf_counter()
    proc = run(
        [BIN, "synth-model", "--columns", str(args.columns), "--latent", str(args.latent),
         "--linker", str(args.linker), "--categories", str(args.categories),
         "--seed", str(args.seed), "--output", model, "--reuse",
         "--texts", str(args.docs), "--texts-output", texts],
        stderr=subprocess.PIPE, text=True,
    )
    sys.stderr.write(proc.stderr)
    synth_s = time.perf_counter() - start
    wrote = re.search(r"in ([0-9.]+)s \(([0-9]+) MB/s\)", proc.stderr)
    model_write_s = float(wrote.group(1)) if wrote else None
    with open(texts, encoding="utf-8") as f:
        header, first = f.readline(), f.readline()
    with open(one, "w", encoding="utf-8") as f:
        f.write(header + first)
    size = os.path.getsize(model)

    # Warm page cache: read the file once (twice: the second is the peer).
    read_once(model)
    read_s = read_once(model)
    loads, load_rss = [], []
    for _ in range(args.load_runs):
        secs, rss, _ = timed([BIN, "classify", "-m", model, "-i", one, "-t", "1"])
        loads.append(secs)
        load_rss.append(rss)
    load_s = statistics.median(loads)

    runs = {}
    for threads in (1, 2):
        out = os.path.join(OUT, f"synth-out-t{threads}.csv")
        with open(out, "wb") as f:
            secs, rss, cpu = timed(
                [BIN, "classify", "-m", model, "-i", texts, "-t", str(threads)], stdout=f)
        digest, lines = sha256_rows(out)
        if lines != args.docs + 1:
            sys.exit(f"{threads} threads: {lines - 1} rows for {args.docs} documents")
        runs[threads] = {
            "seconds": secs,
            "docs_per_s": args.docs / secs,
            "docs_per_s_after_load": args.docs / max(secs - load_s, 1e-9),
            "cpu_seconds": cpu,
            "docs_per_cpu_s": args.docs / cpu,
            "peak_rss_bytes": rss,
            "output_sha256": digest,
            "rows": lines - 1,
        }
    if runs[1]["output_sha256"] != runs[2]["output_sha256"]:
        sys.exit("output differs between 1 and 2 threads")

    result = {
        "shape": {"columns": args.columns, "latent": args.latent, "linker": args.linker,
                  "categories": args.categories},
        "seed": args.seed,
        "model_file": os.path.relpath(model, ROOT),
        "model_bytes": size,
        "synth_model_seconds": model_write_s,
        "synth_total_seconds": synth_s,
        "docs": args.docs,
        "read_file_once_seconds": read_s,
        "load_to_first_result_seconds": {"median": load_s, "runs": loads},
        "load_over_read_ratio": load_s / read_s,
        "load_peak_rss_bytes": max(load_rss),
        "classify": {str(t): r for t, r in runs.items()},
        "two_over_one_thread_ratio": runs[2]["docs_per_s"] / runs[1]["docs_per_s"],
        "cpus": os.cpu_count(),
        "loadavg_at_end": os.getloadavg(),
    }
    path = os.path.join(OUT, "scale.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {os.path.relpath(path, ROOT)}")
    write = f"{model_write_s:.1f} s" if model_write_s is not None else "reused"
    print(f"model {size / 1e9:.2f} GB ({shape}), synth-model {write}")
    print(f"load to first result: median {load_s:.3f} s of {args.load_runs} "
          f"(min {min(loads):.3f}, max {max(loads):.3f}); reading the file once: {read_s:.3f} s "
          f"(ratio {load_s / read_s:.2f}); peak RSS {max(load_rss) / 2**20:.0f} MiB")
    print("| threads | wall s | CPU s | docs/s end to end | docs/s after load | docs per CPU-second | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for t, r in runs.items():
        print(f"| {t} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['docs_per_s']:,.0f} "
              f"| {r['docs_per_s_after_load']:,.0f} | {r['docs_per_cpu_s']:,.0f} "
              f"| {r['peak_rss_bytes'] / 2**30:.2f} GiB |")
    print(f"output sha256 {runs[1]['output_sha256'][:16]}… equal at 1 and 2 threads, "
          f"{runs[1]['rows']} rows; 2/1 thread ratio {result['two_over_one_thread_ratio']:.2f}")


if __name__ == "__main__":
    main()
