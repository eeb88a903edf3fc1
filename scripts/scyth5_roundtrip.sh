#!/usr/bin/env bash
# Re-runs the SCYTH-5 conformance round trip with torch installed: builds the
# fixture checkpoints and PyTorch's answers (make_scyth5_fixture.py), exports
# them (export_scyth5.py) into fixtures/scyth5/, then runs the Rust
# conformance tests on the fresh exports. `git diff fixtures/scyth5` after it
# shows whether anything moved (with the same torch version: nothing).
#
#   PYTHON=~/.cache/scyth-torch/venv/bin/python scripts/scyth5_roundtrip.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$HOME/.cache/scyth-torch/venv/bin/python}
export PYTHONWARNINGS=ignore
CKPT=target/scyth5-fixture
"$PYTHON" scripts/make_scyth5_fixture.py --checkpoints "$CKPT" 2>/dev/null
for variant in float int8 int8_channel int8_affine; do
  "$PYTHON" scripts/export_scyth5.py "$CKPT/scyth5_$variant.pth" --output "fixtures/scyth5/$variant" 2>/dev/null
done
# A checkpoint without the trigram-string map needs --vocab; a broken one
# must fail with a message naming what was found and what was expected.
"$PYTHON" - "$CKPT" <<'PY'
import json, subprocess, sys, torch
sys.path.insert(0, "scripts")
from export_scyth5 import load_checkpoint  # loads without the network class
ckpt_dir = sys.argv[1]
c = load_checkpoint(f"{ckpt_dir}/scyth5_int8.pth")
vocab = c["agrs"].pop("text_to_id_aux")
torch.save(c, f"{ckpt_dir}/no_vocab.pth")
with open(f"{ckpt_dir}/vocab.json", "w", encoding="utf-8") as f:
    json.dump(vocab, f, ensure_ascii=False)
del c["agrs"]["pairs_list"]
torch.save(c, f"{ckpt_dir}/broken.pth")
run = lambda *a: subprocess.run([sys.executable, "scripts/export_scyth5.py", *a], capture_output=True, text=True)
r = run(f"{ckpt_dir}/no_vocab.pth", "-o", f"{ckpt_dir}/nv")
assert r.returncode == 2 and "--vocab" in r.stderr, r.stderr
r = run(f"{ckpt_dir}/no_vocab.pth", "-o", f"{ckpt_dir}/nv", "--vocab", f"{ckpt_dir}/vocab.json")
assert r.returncode == 0, r.stderr
r = run(f"{ckpt_dir}/broken.pth", "-o", f"{ckpt_dir}/broken")
assert r.returncode == 2 and "pairs_list" in r.stderr and "found" in r.stderr, r.stderr
print("exporter: --vocab and missing-key errors behave")
PY
cmp "$CKPT/nv/export.safetensors" fixtures/scyth5/int8/export.safetensors
cargo test --quiet --test tests import -- --nocapture 2>&1 | grep -E "vs PyTorch|test result"
git status --short fixtures/scyth5
