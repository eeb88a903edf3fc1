#!/usr/bin/env python3
"""End-to-end benchmark of scyth on a real corpus, next to the peers.

Trains a model on <corpus>/train.csv (timed), evaluates int8 and f32 on
<corpus>/dev.csv, then times `scyth classify` from raw text to written rows on
dev.csv replicated to --docs documents at 1 and 2 threads. With --peers it
runs ../shared/bench/peers.py on the same split in the same run and prints the
ratios (accuracy, training time, docs/s against fastText's predict).

Only the Python standard library is needed. Skips cleanly (exit 0) when the
corpus is absent. Usage:

    scripts/bench.py [--corpus ../shared/corpora/livedoor] [--peers] [--docs 20000]
                     [--model M.scyth] [--plan auto|full|linked|folded] [--threads 1,2]

--model skips training (times an existing model); --plan is passed to
`scyth eval` and `scyth classify`, and eval's per-plan scores are printed.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "scyth")


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def timed(cmd):
    """Runs cmd; returns (wall seconds, peak RSS in bytes) of that process."""
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {cmd[1]} failed ({os.waitstatus_to_exitcode(status)})")
    return secs, usage.ru_maxrss * 1024


def replicate(src, dst, n_docs):
    csv.field_size_limit(1 << 30)
    with open(src, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    written = 0
    with open(dst, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        copy = 0
        while written < n_docs:
            for row in rows:
                if written >= n_docs:
                    break
                row = list(row)
                row[0] = f"{row[0]}#{copy}"
                w.writerow(row)
                written += 1
            copy += 1
    return written, os.path.getsize(dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpora", "livedoor"))
    ap.add_argument("--peers", action="store_true", help="also run ../shared/bench/peers.py in this run")
    ap.add_argument("--peer-list", default="fasttext_char,fasttext_word,vw,sklearn_tfidf_svm,sklearn_tfidf_lr")
    ap.add_argument("--docs", type=int, default=20000, help="documents for the throughput runs")
    ap.add_argument("--out", default=None, help="results JSON (default: target/bench/<corpus>.json)")
    ap.add_argument("--train-args", default="", help="extra arguments for scyth train")
    ap.add_argument("--model", default=None,
                    help="evaluate and time this model instead of training one (train s is then not measured)")
    ap.add_argument("--plan", default="auto", help="inference plan for classify and eval: auto, full, linked, folded")
    ap.add_argument("--threads", default="1,2", help="thread counts of the throughput runs")
    args = ap.parse_args()

    args.corpus = os.path.abspath(args.corpus)
    train_csv = os.path.join(args.corpus, "train.csv")
    dev_csv = os.path.join(args.corpus, "dev.csv")
    if not (os.path.exists(train_csv) and os.path.exists(dev_csv)):
        print(f"bench: corpus {args.corpus} not present, skipped")
        return 0
    name = os.path.basename(os.path.normpath(args.corpus))
    out = args.out or os.path.join(ROOT, "target", "bench", f"{name}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)

    tmp = tempfile.mkdtemp(prefix="scyth-bench-")
    if args.model:
        model = os.path.abspath(args.model)
        train_s, train_rss = float("nan"), 0
    else:
        model = os.path.join(tmp, "model.scyth")
        train_s, train_rss = timed([BIN, "train", "--input", train_csv, "--output", model, "--quiet", "--threads", "2"]
                                   + args.train_args.split())
    ev = json.loads(run([BIN, "eval", "--model", model, "--input", dev_csv, "--json", "--threads", "2",
                         "--plan", args.plan], stdout=subprocess.PIPE).stdout)
    big = os.path.join(tmp, "dev-replicated.csv")
    n_docs, n_bytes = replicate(dev_csv, big, args.docs)
    throughput = {}
    thread_counts = [int(t) for t in args.threads.split(",")]
    for threads in thread_counts:
        secs, rss = timed([BIN, "classify", "--model", model, "--input", big, "--output", os.path.join(tmp, "out.csv"),
                      "--threads", str(threads), "--plan", args.plan])
        with open(os.path.join(tmp, "out.csv"), newline="", encoding="utf-8") as f:
            rows = sum(1 for _ in csv.reader(f)) - 1
        if rows != n_docs:
            raise SystemExit(f"bench: classify wrote {rows} rows for {n_docs} documents")
        throughput[threads] = {"seconds": secs, "docs_per_s": n_docs / secs, "mb_per_s": n_bytes / secs / 1e6,
                               "peak_rss_bytes": rss}

    result = {
        "corpus": name,
        "train_seconds": train_s,
        "train_peak_rss_bytes": train_rss,
        "model_bytes": os.path.getsize(model),
        "dev": {
            "n": ev["n"],
            "int8": {k: ev["int8"][k] for k in ("accuracy", "micro_f1", "macro_f1", "subset_accuracy")},
            "f32": {k: ev["f32"][k] for k in ("accuracy", "micro_f1", "macro_f1", "subset_accuracy")},
        },
        "plan": ev.get("plan", "full"),
        "plans": ev.get("plans", []),
        "throughput_docs": n_docs,
        "throughput": throughput,
    }

    if args.peers:
        bench_dir = os.path.join(ROOT, "..", "shared", "bench")
        python = os.path.join(os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/scyth-peers/venv")), "bin", "python")
        peers_out = os.path.join(tmp, "peers.json")
        done = subprocess.run([python, "peers.py", "--train", train_csv, "--test", dev_csv, "--out", peers_out,
                        "--throughput-docs", str(args.docs), "--no-quantize", "--peers", args.peer_list],
                              cwd=bench_dir, check=False)
        if os.path.exists(peers_out):
            with open(peers_out, encoding="utf-8") as f:
                result["peers"] = json.load(f)
        else:
            print(f"bench: peers.py failed (exit {done.returncode}); no peer rows", file=sys.stderr)

    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    print(render(result))
    print(f"\nresults: {out}")
    return 0


def render(r):
    t = r["throughput"]
    t1, t2 = t.get(1, t.get("1")), t.get(2, t.get("2")) or {"docs_per_s": float("nan"), "peak_rss_bytes": 0}
    lines = [
        f"## {r['corpus']} (dev n={r['dev']['n']}; throughput on {r['throughput_docs']:,} docs; plan {r.get('plan', 'full')})",
        "",
        "| system | accuracy | micro-F1 | macro-F1 | train s | docs/s (1 thread) | docs/s (2 threads) | peak RSS predicting |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for prec in ("int8", "f32"):
        d = r["dev"][prec]
        if prec == "int8":
            speed = (f"{t1['docs_per_s']:,.0f} | {t2['docs_per_s']:,.0f} | "
                     f"{t1['peak_rss_bytes'] / 2**20:,.0f} MiB")
        else:
            speed = "– | – | –"
        lines.append(f"| scyth {prec} | {d['accuracy']:.4f} | {d['micro_f1']:.4f} | {d['macro_f1']:.4f} | "
                     f"{r['train_seconds']:.1f} | {speed} |")
    rows = r.get("peers", {}).get("rows", [])
    for p in rows:
        if p.get("accuracy") is None:
            continue
        lines.append(f"| {p['peer']} | {p['accuracy']:.4f} | {p.get('micro_f1', 0):.4f} | {p.get('macro_f1', 0):.4f} | "
                     f"{p.get('train_s', 0):.1f} | {p.get('docs_per_s_raw', 0):,.0f} | – | "
                     f"{p.get('peak_rss_bytes', 0) / 2**20:,.0f} MiB |")
    ft = next((p for p in rows if p.get("peer") == "fasttext_char" and p.get("docs_per_s_raw")), None)
    if ft:
        lines.append("")
        lines.append(f"scyth int8 / fastText char predict (raw text, 1 thread each): "
                     f"{t1['docs_per_s'] / ft['docs_per_s_raw']:.2f}x docs/s; "
                     f"training time fastText char / scyth: {ft['train_s'] / r['train_seconds']:.2f}x")
    if r.get("plans"):
        lines.append("")
        lines.append("| plan | precision | accuracy | micro-F1 | macro-F1 | top-1 differs from full |")
        lines.append("|---|---|---|---|---|---|")
        for p in r["plans"]:
            lines.append(f"| {p['plan']} | {p['precision']} | {p['accuracy']:.4f} | {p['micro_f1']:.4f} | "
                         f"{p['macro_f1']:.4f} | {p['top1_differs_from_full']} |")
    best = max((p for p in rows if p.get("accuracy") is not None), key=lambda p: p["accuracy"], default=None)
    if best:
        lines.append(f"best peer by accuracy: {best['peer']} {best['accuracy']:.4f}; "
                     f"scyth int8 {r['dev']['int8']['accuracy']:.4f} ({100 * (r['dev']['int8']['accuracy'] - best['accuracy']):+.2f} points)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
