#!/usr/bin/env python3
"""Exports a SCYTH-5 PyTorch checkpoint to the neutral form `scyth import`
reads: a folder with export.json (configuration, labels, how each layer is
quantized) and export.safetensors (weights exactly as stored, and the
dictionaries as flat arrays).

Needs torch and numpy only (see README, "Importing SCYTH-5 checkpoints"):

    python scripts/export_scyth5.py CHECKPOINT.pth --output EXPORT_DIR [--vocab FILE]

The checkpoint pickles the network's own Python class, which users of the
checkpoint do not have: unknown classes are loaded as a generic
torch.nn.Module and the layers are found by name (encoder, linker,
category_head). Quantized layers keep their int8 codes, scales and zero
points as PyTorch stores them (per tensor or per output channel); float
layers keep their float32 weights.

--vocab FILE supplies the trigram-string map when the checkpoint lacks it:
a JSON object {"trigram": id, ...} or a text file of "trigram<TAB>id" lines.
"""

import argparse
import json
import os
import pickle
import sys

import numpy as np
import torch

FORMAT = "scyth5-export"
VERSION = 1
LAYERS = ("encoder", "linker", "category_head")
# Names under which checkpoints have been seen to keep the trigram-string map.
TEXT_MAP_KEYS = ("text_to_id_aux", "text_to_id", "trigram_to_id", "tri_to_id", "trigram2id")


class ExportError(Exception):
    """A checkpoint that does not have the expected layout."""


class OpaqueModule(torch.nn.Module):
    """Stands in for network classes the checkpoint names but this script
    cannot import; restores the pickled attributes (submodules included)."""

    def forward(self, *args):  # pragma: no cover - never called
        raise RuntimeError("OpaqueModule only holds the pickled layers")


class _Unpickler(pickle.Unpickler):
    substituted = set()

    def find_class(self, module, name):
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            _Unpickler.substituted.add(f"{module}.{name}")
            return OpaqueModule


class _PickleModule:
    """The `pickle_module` handed to torch.load."""

    Unpickler = _Unpickler
    load = staticmethod(lambda f, **kw: _Unpickler(f, **kw).load())
    __name__ = "scyth_export_pickle"


def load_checkpoint(path):
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_PickleModule)


def describe(obj):
    if isinstance(obj, dict):
        return "{" + ", ".join(sorted(map(str, obj.keys()))) + "}"
    return type(obj).__name__


def require(container, key, where, expected):
    if not isinstance(container, dict) or key not in container:
        raise ExportError(
            f"{where}: missing key {key!r}; found {describe(container)}; expected {expected}"
        )
    return container[key]


def find_layers(model):
    """The three Linear layers by name (anywhere in the module tree)."""
    if isinstance(model, dict):
        raise ExportError(
            "checkpoint['model'] is a state dict, not a module; found keys "
            f"{describe(model)}; expected a pickled module with {', '.join(LAYERS)}"
        )
    found = {}
    for name, module in model.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in LAYERS and leaf not in found:
            found[leaf] = module
    missing = [n for n in LAYERS if n not in found]
    if missing:
        names = [n for n, _ in model.named_modules() if n]
        raise ExportError(
            f"checkpoint['model']: layers {missing} not found; found modules {names}; "
            f"expected {', '.join(LAYERS)}"
        )
    return found


def layer_tensors(name, module):
    """(info, tensors) of one layer: int8 codes with scales and zero points,
    or float32 weights; and the bias when there is one."""
    tensors = {}
    weight_fn = getattr(module, "weight", None)
    if callable(weight_fn):  # dynamically quantized Linear: weight() is a method
        w = module.weight()
        bias = module.bias()
    else:
        w = module.weight.detach()
        bias = module.bias.detach() if getattr(module, "bias", None) is not None else None
    info = {"out_features": int(w.shape[0]), "in_features": int(w.shape[1])}
    if w.is_quantized:
        if w.dtype != torch.qint8:
            raise ExportError(f"{name}: weight dtype {w.dtype}, expected torch.qint8 or float32")
        scheme = w.qscheme()
        tensors[f"{name}.weight_int8"] = w.int_repr().numpy().astype(np.int8)
        if scheme in (torch.per_tensor_affine, torch.per_tensor_symmetric):
            info["quantization"] = "per_tensor"
            tensors[f"{name}.scale"] = np.array([w.q_scale()], dtype=np.float32)
            tensors[f"{name}.zero_point"] = np.array([w.q_zero_point()], dtype=np.int32)
        elif scheme in (torch.per_channel_affine, torch.per_channel_symmetric):
            if w.q_per_channel_axis() != 0:
                raise ExportError(f"{name}: per-channel axis {w.q_per_channel_axis()}, expected 0")
            info["quantization"] = "per_channel"
            tensors[f"{name}.scale"] = w.q_per_channel_scales().numpy().astype(np.float32)
            tensors[f"{name}.zero_point"] = w.q_per_channel_zero_points().numpy().astype(np.int32)
        else:
            raise ExportError(f"{name}: quantization scheme {scheme} is not supported")
        info["qscheme"] = str(scheme).replace("torch.", "")
    else:
        info["quantization"] = "none"
        tensors[f"{name}.weight"] = w.float().numpy()
    if bias is not None:
        tensors[f"{name}.bias"] = bias.detach().float().numpy()
    info["bias"] = bias is not None
    return info, tensors


def read_vocab(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        return {k: int(v) for k, v in json.loads(text).items()}
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        tri, sep, tid = line.rpartition("\t")
        if not sep:
            raise ExportError(f"{path}:{n}: expected 'trigram<TAB>id'")
        out[tri] = int(tid)
    return out


def as_int(value, where):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ExportError(f"{where}: id {value!r} is not an integer") from None


def dictionaries(ckpt, vocab_path):
    meta = require(ckpt, "metadata", "checkpoint", "{model, metadata, agrs, config}")
    agrs = require(ckpt, "agrs", "checkpoint", "{model, metadata, agrs, config}")
    trigram2col = require(meta, "trigram2col", "checkpoint['metadata']", "{trigram2col, idx2name}")
    idx2name = require(meta, "idx2name", "checkpoint['metadata']", "{trigram2col, idx2name}")
    expected_agrs = "{status_dic, pairs_list, ngrm_to_tri, score_dic, text_to_id_aux}"
    status = require(agrs, "status_dic", "checkpoint['agrs']", expected_agrs)
    pairs = require(agrs, "pairs_list", "checkpoint['agrs']", expected_agrs)
    ngrm = require(agrs, "ngrm_to_tri", "checkpoint['agrs']", expected_agrs)
    scores = require(agrs, "score_dic", "checkpoint['agrs']", expected_agrs)
    if vocab_path:
        text_map = read_vocab(vocab_path)
    else:
        key = next((k for k in TEXT_MAP_KEYS if k in agrs), None) or next(
            (k for k in TEXT_MAP_KEYS if k in meta), None
        )
        if key is None:
            raise ExportError(
                f"checkpoint has no trigram-string map (looked for {', '.join(TEXT_MAP_KEYS)} in "
                f"agrs {describe(agrs)} and metadata {describe(meta)}); pass --vocab FILE"
            )
        text_map = agrs.get(key, meta.get(key))

    ids = set()
    for d in (trigram2col, status, scores):
        ids.update(as_int(k, "trigram id") for k in d)
    ids.update(as_int(v, "trigram id") for v in text_map.values())
    ids.update(as_int(m, "ngrm_to_tri") for members in ngrm.values() for m in members)
    tri_ids = np.array(sorted(ids), dtype=np.int64)
    at = {int(t): i for i, t in enumerate(tri_ids)}
    n = len(tri_ids)
    column = np.full(n, -1, dtype=np.int64)
    for k, c in trigram2col.items():
        column[at[int(k)]] = int(c)
    # 1 = white, 0 = gray, 2 = no status. White is exactly the card's test
    # `status_dic.get(tid) is True`: a numpy or tensor boolean is not white.
    white = np.full(n, 2, dtype=np.uint8)
    for k, s in status.items():
        white[at[int(k)]] = 1 if s is True else 0
    score = np.full(n, np.nan, dtype=np.float64)
    for k, s in scores.items():
        score[at[int(k)]] = float(s)
    text_of = {}
    for tri, tid in text_map.items():
        text_of.setdefault(at[int(tid)], tri)
    blobs, offsets = [], [0]
    for i in range(n):
        b = text_of.get(i, "").encode("utf-8")
        blobs.append(b)
        offsets.append(offsets[-1] + len(b))

    pent_ids = np.array(sorted(as_int(k, "pentagram id") for k in ngrm), dtype=np.int64)
    pent_members = np.zeros((len(pent_ids), 3), dtype=np.int64)
    for row, pid in enumerate(pent_ids):
        members = ngrm[int(pid)] if int(pid) in ngrm else ngrm[str(pid)]
        if len(members) != 3:
            raise ExportError(f"ngrm_to_tri[{pid}] has {len(members)} trigrams, expected 3")
        pent_members[row] = [as_int(m, "ngrm_to_tri") for m in members]
    pair_arr = np.array([(as_int(t, "pairs_list"), as_int(p, "pairs_list")) for t, p in pairs], dtype=np.int64)
    tensors = {
        "trigram.id": tri_ids,
        "trigram.column": column,
        "trigram.white": white,
        "trigram.score": score,
        "trigram.text_offsets": np.array(offsets, dtype=np.int64),
        "trigram.text_utf8": np.frombuffer(b"".join(blobs) or b"\0", dtype=np.uint8).copy(),
        "pentagram.id": pent_ids,
        "pentagram.trigrams": pent_members,
        "pairs": pair_arr.reshape(-1, 2),
    }
    labels = [str(idx2name[k]) for k in sorted(idx2name, key=lambda k: int(k))]
    if [int(k) for k in sorted(idx2name, key=lambda k: int(k))] != list(range(len(labels))):
        raise ExportError("metadata['idx2name'] keys are not 0..C-1")
    info = {
        # The card divides the stored score by 18 in its own type: a float32
        # score would make AGR values float32 arithmetic (scyth uses f64).
        "score_type": type(next(iter(scores.values()), 0.0)).__name__,
        "status_true_count": int((white == 1).sum()),
        "status_other_values": sorted({repr(v) for v in status.values() if v is not True and v is not False})[:5],
    }
    return tensors, labels, info


def export(path, out_dir, vocab_path=None):
    ckpt = load_checkpoint(path)
    if not isinstance(ckpt, dict):
        raise ExportError(f"checkpoint is a {type(ckpt).__name__}, expected a dict {{model, metadata, agrs, config}}")
    config = require(ckpt, "config", "checkpoint", "{model, metadata, agrs, config}")
    for key in ("input_dim", "latent_size", "linker_size", "num_categories"):
        require(config, key, "checkpoint['config']", "{input_dim, latent_size, linker_size, num_categories}")
    model = require(ckpt, "model", "checkpoint", "{model, metadata, agrs, config}")
    layers = find_layers(model)
    shapes = {
        "encoder": (config["latent_size"], config["input_dim"]),
        "linker": (config["linker_size"], config["latent_size"]),
        "category_head": (config["num_categories"], config["linker_size"]),
    }
    tensors, infos = {}, {}
    for name in LAYERS:
        info, t = layer_tensors(name, layers[name])
        got = (info["out_features"], info["in_features"])
        if got != tuple(shapes[name]):
            raise ExportError(
                f"{name}: weight shape (out, in) = {got}, expected {tuple(shapes[name])} from config {config}"
            )
        infos[name] = info
        tensors.update(t)
    if not infos["category_head"]["bias"]:
        raise ExportError("category_head has no bias; expected Linear(linker, categories) with bias")
    dicts, labels, dict_info = dictionaries(ckpt, vocab_path)
    tensors.update(dicts)
    if len(labels) != config["num_categories"]:
        raise ExportError(f"{len(labels)} names in idx2name, expected num_categories = {config['num_categories']}")

    from safetensors.numpy import save_file

    os.makedirs(out_dir, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, os.path.join(out_dir, "export.safetensors"))
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "source": os.path.basename(path),
        "config": {k: int(v) for k, v in config.items() if isinstance(v, (int, np.integer))},
        "layers": infos,
        "labels": labels,
        "substituted_classes": sorted(_Unpickler.substituted),
        "torch_version": torch.__version__,
        "gray_weight": 0.07,
        "dictionaries": dict_info,
    }
    with open(os.path.join(out_dir, "export.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--output", "-o", required=True, help="export folder (created)")
    ap.add_argument("--vocab", help="trigram-string map when the checkpoint lacks one")
    args = ap.parse_args()
    try:
        m = export(args.checkpoint, args.output, args.vocab)
    except ExportError as e:
        print(f"export_scyth5: {args.checkpoint}: {e}", file=sys.stderr)
        return 2
    q = ", ".join(f"{k} {v['quantization']}" for k, v in m["layers"].items())
    print(f"export_scyth5: wrote {args.output} ({q}; {len(m['labels'])} labels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
