#!/usr/bin/env python3
"""Measures importing and running a SCYTH-5-shaped checkpoint, against
PyTorch running the same checkpoint, in one run (needs torch and numpy, and
the release binary: cargo build --release).

    ~/.cache/scyth-torch/venv/bin/python scripts/bench_scyth5.py --d 200000

Builds a synthetic int8 checkpoint of shape D x H x E x C (the SCYTH-5
layout; vocabulary = the fixture corpus' trigrams and pentagrams plus
synthetic trigrams up to D; random weights), then times, each in its own
process with its peak RSS: the exporter, `scyth import`, loading the model
(`scyth inspect`), `scyth classify` of --docs texts on one thread, and
PyTorch's `torch.load` + the card's pipeline one document per call on the
same texts. Prints one JSON object (also written to --workdir/bench.json).
"""

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_scyth5_fixture as fx  # noqa: E402  (ScythNet, the reference pipeline)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, **kw):
    """Runs cmd under /usr/bin/time -v: (seconds, peak RSS in MiB, stdout)."""
    start = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, **kw)
    wall = time.perf_counter() - start
    if r.returncode not in (0, 1):
        raise SystemExit(f"{cmd} failed:\n{r.stderr[-3000:]}")
    rss = next(int(line.split()[-1]) for line in r.stderr.splitlines() if "Maximum resident" in line)
    return wall, rss / 1024, r.stdout


def build_checkpoint(path, d, h, e, c, seed):
    rng = random.Random(seed)
    torch.manual_seed(seed)
    texts = fx.read_texts(os.path.join(ROOT, "fixtures/corpus/train.csv"))
    tris, pents = {}, {}
    for t in texts:
        t = t.lower()
        for w in fx.windows(t, 3):
            tris.setdefault(w, len(tris))
        for w in fx.windows(t, 5):
            pents.setdefault(w, len(pents))
    i = 0
    while len(tris) < d:  # synthetic kanji trigrams, never in a text
        a, b, k = i % 20000, (i // 20000) % 20000, i // 400_000_000
        tris.setdefault(chr(0x4E00 + a) + chr(0x4E00 + b) + chr(0x3400 + k), len(tris))
        i += 1
    ids = list(tris.values())
    status = {t: rng.random() < 0.7 for t in ids}
    scores = {t: rng.uniform(0, 18) for t in ids}
    trigram2col = {t: t for t in ids[:d]}
    ngrm = {}
    pairs = []
    for p, pid in pents.items():
        members = [tris[p[j : j + 3]] for j in range(3)]
        ngrm[pid] = members
        pairs.extend((t, pid) for t in dict.fromkeys(members))
    model = fx.ScythNet(d, h, e, c)
    with torch.no_grad():
        for lin in (model.encoder, model.linker, model.category_head):
            lin.weight.normal_(0.0, 0.05)
    model.eval()
    q = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    del model
    ckpt = {
        "model": q,
        "metadata": {"trigram2col": trigram2col, "idx2name": {k: f"c{k}" for k in range(c)}},
        "agrs": {
            "status_dic": status,
            "pairs_list": pairs,
            "ngrm_to_tri": ngrm,
            "score_dic": scores,
            "text_to_id_aux": tris,
        },
        "config": {"input_dim": d, "latent_size": h, "linker_size": e, "num_categories": c},
    }
    torch.save(ckpt, path)


TORCH_RUN = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
import torch
import make_scyth5_fixture as fx
from export_scyth5 import load_checkpoint
torch.backends.quantized.engine = "fbgemm"
torch.set_num_threads(1)
start = time.perf_counter()
ck = load_checkpoint(sys.argv[1])
load_s = time.perf_counter() - start
texts = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8")]
a = ck["agrs"]
vocab = {k: a[k] for k in ("text_to_id_aux", "status_dic", "score_dic", "ngrm_to_tri")}
vocab["trigram2col"] = ck["metadata"]["trigram2col"]
tri_to_ngrm = {}
for t, p in a["pairs_list"]:
    tri_to_ngrm.setdefault(t, []).append(p)
vocab["tri_to_ngrm"] = tri_to_ngrm
d = ck["config"]["input_dim"]
model = ck["model"]
start = time.perf_counter()
with torch.no_grad():
    for text in texts:
        x = torch.zeros((1, d))
        for col, v in fx.features(text, vocab).items():
            x[0, col] = v
        e = model.linker(model.encoder(x))
        logits = model.category_head(e)
run_s = time.perf_counter() - start
print(json.dumps({"load_s": load_s, "docs_per_s": len(texts) / run_s,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--d", type=int, default=200_000)
    ap.add_argument("--h", type=int, default=1024)
    ap.add_argument("--e", type=int, default=512)
    ap.add_argument("--c", type=int, default=11883)
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--workdir", default=os.path.join(ROOT, "target/scyth5-bench"))
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    w = lambda name: os.path.join(args.workdir, name)
    scyth = os.path.join(ROOT, "target/release/scyth")
    py = sys.executable

    start = time.perf_counter()
    build_checkpoint(w("ckpt.pth"), args.d, args.h, args.e, args.c, seed=7)
    gen_s = time.perf_counter() - start

    rows = []
    for name in ("dev.csv", "train.csv"):
        with open(os.path.join(ROOT, "fixtures/corpus", name), encoding="utf-8") as f:
            rows += [r["text"] for r in csv.DictReader(f)]
    with open(w("docs.jsonl"), "w", encoding="utf-8") as f:
        for i in range(args.docs):
            f.write(json.dumps({"id": str(i), "text": rows[i % len(rows)]}, ensure_ascii=False) + "\n")

    export_s, export_rss, _ = timed([py, os.path.join(ROOT, "scripts/export_scyth5.py"), w("ckpt.pth"), "-o", w("export")])
    import_s, import_rss, _ = timed([scyth, "import", "--from", w("export"), "-o", w("model.scyth")])
    load_s, load_rss, _ = timed([scyth, "inspect", w("model.scyth")])
    cls_s, cls_rss, _ = timed(
        # --threshold 1: random weights put half of the categories above 0.5,
        # and writing those label lists would dominate the time.
        [scyth, "classify", "-m", w("model.scyth"), "-i", w("docs.jsonl"), "-o", w("out.jsonl"), "--threads", "1", "--threshold", "1"]
    )
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    torch_s, torch_rss, out = timed(
        [py, "-c", TORCH_RUN, w("ckpt.pth"), w("docs.jsonl"), os.path.join(ROOT, "scripts")], env=env
    )
    t = json.loads(out.strip().splitlines()[-1])
    result = {
        "shape": {"d": args.d, "h": args.h, "e": args.e, "c": args.c},
        "docs": args.docs,
        "checkpoint_bytes": os.path.getsize(w("ckpt.pth")),
        "generate_s": round(gen_s, 1),
        "export": {"s": round(export_s, 2), "peak_rss_mib": round(export_rss)},
        "import": {"s": round(import_s, 2), "peak_rss_mib": round(import_rss)},
        "model_file_bytes": os.path.getsize(w("model.scyth")),
        "scyth_load_inspect": {"s": round(load_s, 2), "peak_rss_mib": round(load_rss)},
        "scyth_classify_1_thread": {
            "s": round(cls_s, 2),
            "docs_per_s_incl_load": round(args.docs / cls_s, 1),
            "peak_rss_mib": round(cls_rss),
        },
        "pytorch": {
            "torch_load_s": round(t["load_s"], 2),
            "docs_per_s": round(t["docs_per_s"], 1),
            "peak_rss_mib": round(t["peak_rss_mib"]),
            "process_s": round(torch_s, 2),
        },
    }
    with open(w("bench.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
