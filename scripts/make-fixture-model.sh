#!/usr/bin/env bash
# Re-creates fixtures/model/tiny.scyth, the small model the tests load, from
# the project's own fixture corpus, with the demo's settings (deterministic:
# fixed seed, one thread). Run after a model-format change.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet -- train \
  --input fixtures/corpus/train.csv --output fixtures/model/tiny.scyth \
  --min-df 2 --latent 64 --embedding 32 --epochs 40 --patience 6 \
  --batch-size 16 --lr 3e-3 --seed 42 --threads 1 --quiet
ls -l fixtures/model/tiny.scyth
