#!/usr/bin/env python3
"""Streaming benchmark: `scyth stream` on livedoor.

The model's statistics come from livedoor train.csv (the model must be
trained on it); the stream is dev.csv followed by a synthetic stream of
documents generated from the corpus' character trigram distribution (an
order-2 character Markov chain fitted on train.csv, fixed seed, lengths
drawn from the corpus and capped). For each epoch size and worker count it
reports docs/s, p50/p99 epoch latency (last record of an epoch read →
its output written), peak RSS, RSS per retained document, and the
marginal memory per retained document (peak RSS above the same command on
the stream's first record alone, which the model's mapped file and folded
plan dominate), and checks that every record produced exactly one net
classification.

Skips cleanly (exit 0) when the corpus is absent. Results go to
target/bench/stream.json.

    python3 scripts/stream_bench.py --model livedoor.scyth [--synthetic 50000]

Latency counts from the last record of an epoch read to its rows written,
so it includes the epochs the reader runs ahead of the dataflow (a file is
read at full speed): `--max-lag 1` measures it with at most one epoch in
flight.
"""
import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_texts(path):
    csv.field_size_limit(1 << 30)
    with open(path, newline="", encoding="utf-8") as f:
        return [(r["id"], r["text"]) for r in csv.DictReader(f)]


def markov_stream(texts, n, max_len, seed):
    """n synthetic documents from an order-2 character chain over `texts`."""
    rng = random.Random(seed)
    nxt = defaultdict(list)
    starts = []
    for t in texts:
        if len(t) >= 3:
            starts.append(t[:2])
        for i in range(len(t) - 2):
            nxt[t[i:i + 2]].append(t[i + 2])
    lengths = [min(len(t), max_len) for t in texts if len(t) >= 3]
    out = []
    for k in range(n):
        length = rng.choice(lengths)
        s = list(rng.choice(starts))
        while len(s) < length:
            choices = nxt.get(s[-2] + s[-1])
            if not choices:
                s.extend(rng.choice(starts))
                continue
            s.append(rng.choice(choices))
        out.append((f"syn-{k:06d}", "".join(s)))
    return out


def write_jsonl(path, docs):
    with open(path, "w", encoding="utf-8") as f:
        for i, t in docs:
            f.write(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n")


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else 0.0


def baseline_rss_kib(binary, model, stream_path, workers, plan=None):
    """Peak RSS of the same command on the stream's first record alone: the
    model (mapped file, folded plan) and the process, which every run pays
    whatever it holds."""
    one = os.path.join(ROOT, "target/bench/stream-one.jsonl")
    with open(stream_path, encoding="utf-8") as src, open(one, "w", encoding="utf-8") as dst:
        dst.write(src.readline())
    cmd = ["/usr/bin/time", "-f", "%M", binary, "stream", "-m", model, "-i", one,
           "-w", str(workers), "-o", os.devnull]
    if plan:
        cmd += ["--plan", plan]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"scyth stream failed: {p.stderr}")
    return int(p.stderr.strip().splitlines()[-1])


def run(binary, model, stream_path, epoch_docs, workers, window, n_records, plan=None,
        max_lag=None):
    out = os.path.join(ROOT, "target/bench/stream-out.jsonl")
    stats = os.path.join(ROOT, "target/bench/stream-stats.jsonl")
    cmd = ["/usr/bin/time", "-f", "%M", binary, "stream", "-m", model, "-i", stream_path,
           "--epoch-docs", str(epoch_docs), "-w", str(workers), "-o", out, "--stats", stats]
    if window:
        cmd += ["--window-docs", str(window)]
    if plan:
        cmd += ["--plan", plan]
    if max_lag is not None:
        cmd += ["--max-lag", str(max_lag)]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        sys.exit(f"scyth stream failed: {p.stderr}")
    rss_kib = int(p.stderr.strip().splitlines()[-1])
    rows = [json.loads(l) for l in open(out, encoding="utf-8")]
    live = {}
    for r in rows:
        live[r["id"]] = live.get(r["id"], 0) + r["diff"]
    retained = sum(1 for v in live.values() if v == 1)
    added = sum(1 for r in rows if r["diff"] == 1)
    lines = [json.loads(l) for l in open(stats, encoding="utf-8")]
    # Checksum: every record got a first classification; the live set is
    # exactly the window (or everything).
    firsts = len({r["id"] for r in rows})
    assert firsts == n_records, f"{firsts} documents classified of {n_records}"
    want = min(window, n_records) if window else n_records
    assert retained == want, f"{retained} live documents, expected {want}"
    assert all(v in (0, 1) for v in live.values()), "a document counted twice"
    elapsed = lines[-1]["elapsed_ms"] / 1e3
    base_kib = baseline_rss_kib(binary, model, stream_path, workers, plan)
    lat = [l["latency_ms"] for l in lines]
    return {
        "epoch_docs": epoch_docs, "workers": workers, "window": window,
        "records": n_records, "epochs": len(lines), "wall_s": round(wall, 2),
        "stream_s": round(elapsed, 2), "docs_per_s": round(n_records / elapsed, 1),
        "p50_latency_ms": round(percentile(lat, 50), 1),
        "p99_latency_ms": round(percentile(lat, 99), 1),
        "peak_rss_mib": round(rss_kib / 1024, 1),
        "rss_kib_per_retained_doc": round(rss_kib / max(retained, 1), 1),
        # What holding documents costs: peak RSS above the one-record run.
        "baseline_rss_mib": round(base_kib / 1024, 1),
        "marginal_kib_per_retained_doc": round((rss_kib - base_kib) / max(retained, 1), 1),
        "reclassified": sum(l["reclassified"] for l in lines),
        "rechecked": sum(l["rechecked"] for l in lines),
        "patched": sum(l["patched"] for l in lines),
        "retractions": len(rows) - added,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="model trained on livedoor train.csv")
    ap.add_argument("--corpus", default=os.path.join(ROOT, "../shared/corpora/livedoor"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/scyth"))
    ap.add_argument("--synthetic", type=int, default=50000)
    ap.add_argument("--max-len", type=int, default=400)
    ap.add_argument("--window", type=int, default=5000,
                    help="--window-docs for the synthetic run (bounds state; 0: no window, every document held)")
    ap.add_argument("--epochs", default="10,100,1000")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--plan", help="--plan for scyth stream (default: the binary's own)")
    ap.add_argument("--max-lag", type=int,
                    help="--max-lag for scyth stream (epochs read ahead; default: the binary's own)")
    ap.add_argument("--skip-dev", action="store_true", help="only the synthetic runs")
    args = ap.parse_args()
    train = os.path.join(args.corpus, "train.csv")
    dev = os.path.join(args.corpus, "dev.csv")
    if not (os.path.exists(train) and os.path.exists(dev)):
        print(f"skip: livedoor corpus not found under {args.corpus}")
        return
    os.makedirs(os.path.join(ROOT, "target/bench"), exist_ok=True)
    dev_docs = read_texts(dev)
    dev_path = os.path.join(ROOT, "target/bench/stream-dev.jsonl")
    write_jsonl(dev_path, dev_docs)
    results = []
    for e in [int(x) for x in args.epochs.split(",")] if not args.skip_dev else []:
        for w in [int(x) for x in args.workers.split(",")]:
            r = run(args.bin, args.model, dev_path, e, w, None, len(dev_docs), args.plan,
                    args.max_lag)
            r["stream"] = "dev"
            print(json.dumps(r), flush=True)
            results.append(r)
    if args.synthetic:
        syn = markov_stream([t for _, t in read_texts(train)], args.synthetic, args.max_len, 42)
        syn_path = os.path.join(ROOT, "target/bench/stream-synthetic.jsonl")
        write_jsonl(syn_path, dev_docs + syn)
        for e in [int(x) for x in args.epochs.split(",")]:
            for w in [int(x) for x in args.workers.split(",")]:
                r = run(args.bin, args.model, syn_path, e, w, args.window,
                        len(dev_docs) + len(syn), args.plan, args.max_lag)
                r["stream"] = f"dev+synthetic{args.synthetic}"
                print(json.dumps(r), flush=True)
                results.append(r)
    with open(os.path.join(ROOT, "target/bench/stream.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
