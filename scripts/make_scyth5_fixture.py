#!/usr/bin/env python3
"""Builds small checkpoints with the layout of the original SCYTH-5 PyTorch
checkpoints, and the reference answers scyth's import must reproduce.

Needs torch and numpy (see README, "Importing SCYTH-5 checkpoints"). Run from
the repository root:

    ~/.cache/scyth-torch/venv/bin/python scripts/make_scyth5_fixture.py

Writes four checkpoints (float; int8 per tensor, per channel, and per
tensor with affine weights, i.e. non-zero weight zero points) to
--checkpoints (default target/scyth5-fixture/, not committed) and the
expected feature pairs, linker outputs and logits of ~50 fixture texts to
fixtures/scyth5/expected.json. The vocabulary comes from the project's own
fixture corpus; the weights are random with a fixed seed. The network class
below exists only in this script, as the original authors' class exists only
in their training code: the exporter has to load the checkpoints without it.
"""

import argparse
import csv
import json
import math
import os
import random
from collections import Counter

import torch
from torch import nn

SEED = 20260601
ALPHA = 12.0
BETA = 1.0 / 3.0
TAU = 8.0
GRAY_WEIGHT = 0.07
N_COLUMNS = 4000
LATENT = 64
LINKER = 32
CATEGORIES = 20
EXTRA_PENTAGRAMS = 1500


class ScythNet(nn.Module):
    """Stand-in for the authors' network: encoder, linker, category head."""

    def __init__(self, d, h, e, c):
        super().__init__()
        self.encoder = nn.Linear(d, h, bias=False)
        self.dropout = nn.Dropout(0.2)
        self.linker = nn.Linear(h, e, bias=False)
        self.category_head = nn.Linear(e, c)

    def forward(self, x):
        z = self.encoder(x)
        e = self.linker(self.dropout(z))
        return self.category_head(e), z, e


def char_weight(ch):
    if "\u4e00" <= ch <= "\u9faf":
        return 6
    if "\u3040" <= ch <= "\u309f" or "\u30a0" <= ch <= "\u30ff":
        return 2
    if ch.isascii() and ch.isalnum():
        return 1
    return 0


def windows(text, n):
    return [text[i : i + n] for i in range(max(0, len(text) - n + 1))]


def read_texts(path):
    with open(path, encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)]


def build_vocabulary(texts, rng):
    """Trigram and pentagram dictionaries in the checkpoint's form."""
    df, pent_df = Counter(), Counter()
    for text in texts:
        t = text.lower()
        df.update(set(windows(t, 3)))
        pent_df.update(set(windows(t, 5)))
    df_max = max(df.values())

    def score(tri):
        nidf = (math.log(df_max) - math.log(df[tri])) / math.log(df_max)
        return ALPHA * nidf + BETA * sum(char_weight(c) for c in tri)

    # Columns: every trigram seen twice, then trigrams seen once, up to
    # N_COLUMNS, in a shuffled column order (not df order).
    by_df = sorted(df, key=lambda t: (-df[t], t))
    columns = by_df[:N_COLUMNS]
    col_order = list(range(len(columns)))
    rng.shuffle(col_order)

    known = sorted(p for p, d in pent_df.items() if d >= 2)
    rare = sorted(p for p, d in pent_df.items() if d == 1)
    known += rng.sample(rare, min(EXTRA_PENTAGRAMS, len(rare)))
    rng.shuffle(known)

    trigrams = sorted(set(columns) | {p[i : i + 3] for p in known for i in range(3)})
    ids = rng.sample(range(10, 10 * len(trigrams) + 10), len(trigrams))
    tri_id = dict(zip(trigrams, ids))
    pent_ids = rng.sample(range(1, 10 * len(known) + 1), len(known))

    pairs = []
    ngrm_to_tri = {}
    for pid, p in zip(pent_ids, known):
        members = [tri_id[p[i : i + 3]] for i in range(3)]
        ngrm_to_tri[pid] = members
        for tid in dict.fromkeys(members):
            pairs.append((tid, pid))
    rng.shuffle(pairs)

    status = {tri_id[t]: score(t) >= TAU for t in trigrams}
    scores = {tri_id[t]: score(t) for t in trigrams}
    trigram2col = {tri_id[t]: col_order[i] for i, t in enumerate(columns)}
    return {
        "text_to_id_aux": tri_id,
        "status_dic": status,
        "score_dic": scores,
        "pairs_list": pairs,
        "ngrm_to_tri": ngrm_to_tri,
        "trigram2col": trigram2col,
    }


def features(text, vocab):
    """The card's DIRECT + AGR pipeline on one text, as {column: value}."""
    text = text.lower()
    tri_id = vocab["text_to_id_aux"]
    status = vocab["status_dic"]
    scores = vocab["score_dic"]
    ngrm = vocab["ngrm_to_tri"]
    cols = vocab["trigram2col"]
    tri_to_ngrm = vocab["tri_to_ngrm"]
    ids = [tri_id[w] for w in windows(text, 3) if w in tri_id]
    counts = Counter(ids)
    out, seen = {}, set()
    for tid in ids:
        if status.get(tid) is True and tid in cols and tid not in seen:
            seen.add(tid)
            out[cols[tid]] = 1.0
    done = set()
    for tid in ids:
        if tid in done or not tri_to_ngrm.get(tid):
            continue
        done.add(tid)
        best = max(tri_to_ngrm[tid], key=lambda h: sum(counts.get(s, 0) for s in ngrm.get(h, [])))
        for s in ngrm.get(best, []):
            if status.get(s) is True and s not in seen and s in cols:
                seen.add(s)
                value = max(0.0, min(1.0, scores.get(s, 0.0) / 18.0)) * GRAY_WEIGHT
                out[cols[s]] = float(torch.tensor(value, dtype=torch.float32))
    return out


def run(model, feats, d):
    """Linker outputs and logits, one document per call."""
    linked, logits = [], []
    with torch.no_grad():
        for f in feats:
            x = torch.zeros((1, d), dtype=torch.float32)
            for col, value in f.items():
                x[0, col] = value
            lg, _, e = model(x)
            linked.append([float(v) for v in e[0]])
            logits.append([float(v) for v in lg[0]])
    return {"linked": linked, "logits": logits}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoints", default="target/scyth5-fixture")
    ap.add_argument("--expected", default="fixtures/scyth5/expected.json")
    args = ap.parse_args()
    torch.backends.quantized.engine = "fbgemm"
    rng = random.Random(SEED)
    torch.manual_seed(SEED)

    train = read_texts("fixtures/corpus/train.csv")
    vocab = build_vocabulary(train, rng)
    tri_to_ngrm = {}
    for tid, pid in vocab["pairs_list"]:
        tri_to_ngrm.setdefault(tid, []).append(pid)
    vocab["tri_to_ngrm"] = tri_to_ngrm

    d = N_COLUMNS
    model = ScythNet(d, LATENT, LINKER, CATEGORIES)
    with torch.no_grad():
        model.encoder.weight.normal_(0.0, 0.1)
        model.linker.weight.normal_(0.0, LATENT**-0.5)
        model.category_head.weight.normal_(0.0, LINKER**-0.5 * 3.0)
        model.category_head.bias.normal_(0.0, 0.5)
    model.eval()
    int8 = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    per_channel = torch.ao.quantization.quantize_dynamic(
        model, {nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, dtype=torch.qint8
    )

    # Affine weights (non-zero weight zero points), which FBGEMM also runs.
    affine_qconfig = torch.ao.quantization.QConfig(
        activation=torch.ao.quantization.default_dynamic_quant_observer,
        weight=torch.ao.quantization.MinMaxObserver.with_args(
            dtype=torch.qint8, qscheme=torch.per_tensor_affine
        ),
    )
    affine = torch.ao.quantization.quantize_dynamic(model, {nn.Linear: affine_qconfig}, dtype=torch.qint8)

    labels = {i: f"topic-{i:02d}" for i in range(CATEGORIES)}
    config = {"input_dim": d, "latent_size": LATENT, "linker_size": LINKER, "num_categories": CATEGORIES}
    agrs = {k: vocab[k] for k in ("status_dic", "pairs_list", "ngrm_to_tri", "score_dic", "text_to_id_aux")}
    agrs["tri_to_ngrm"] = tri_to_ngrm
    metadata = {"trigram2col": vocab["trigram2col"], "idx2name": labels}
    os.makedirs(args.checkpoints, exist_ok=True)
    for name, m in (("float", model), ("int8", int8), ("int8_channel", per_channel), ("int8_affine", affine)):
        path = os.path.join(args.checkpoints, f"scyth5_{name}.pth")
        torch.save({"model": m, "metadata": metadata, "agrs": agrs, "config": config}, path)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")

    texts = read_texts("fixtures/corpus/dev.csv")[:40] + read_texts("fixtures/corpus/train.csv")[:6]
    texts += [
        "TOKYO Olympic の聖火リレーが始まった。",
        "ＡＢＣニュースによると、日本銀行は金利を据え置いた。",
        "ab",
        "ああああああああ",
        "!!!???",
        "首相は記者会見で首相官邸の首相動静を説明した首相。",
    ]
    feats = [features(t, vocab) for t in texts]
    expected = {
        "texts": texts,
        "features": [sorted([c, v] for c, v in f.items()) for f in feats],
        "float": run(model, feats, d),
        "int8": run(int8, feats, d),
        "int8_channel": run(per_channel, feats, d),
        "int8_affine": run(affine, feats, d),
        "torch_version": torch.__version__,
        "engine": torch.backends.quantized.engine,
    }
    os.makedirs(os.path.dirname(args.expected), exist_ok=True)
    with open(args.expected, "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    n_agr = sum(1 for f in feats for v in f.values() if v != 1.0)
    print(f"wrote {args.expected}: {len(texts)} texts, {sum(map(len, feats))} pairs ({n_agr} AGR)")


if __name__ == "__main__":
    main()
