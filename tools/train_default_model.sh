#!/usr/bin/env bash
# Train, pack and evaluate the seed of mclcr's shipped default model: the first model, trained on
# 29 fetched photos, that the training runs on faces-train continue from
# (tools/checkpoints/seed-29-photos.*; assets/models/MODEL_CARD.md lists those runs).
#
# The recipe is tools/recipe/default-model.json (network, schedule, augmentation, the held-out
# test identities, how the verdict bands are chosen). tools/checkpoints/seed-29-photos.eval.json
# holds what this script's evaluation printed for the committed seed weights.
#
# Usage (from the repository root):
#     bash tools/train_default_model.sh            # fetch faces, train, pack, evaluate
#     bash tools/train_default_model.sh --resume   # continue an interrupted run
#     bash tools/train_default_model.sh --eval     # only evaluate the model in assets/models
#
# Needs: cargo, python3 with pip, npm (for the face photos). Writes data/faces/ (the fetched
# photos, never committed), data/runs/default-model/ (checkpoints, log) and, after training,
# tools/checkpoints/seed-29-photos.{json,safetensors}. One run takes about 75 minutes on a 2-core CPU.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUN=data/runs/default-model
RECIPE=tools/recipe/default-model.json
MODE="${1:-train}"

python3 tools/fetch_faces.py --out data/faces
cargo build --release
MCLCR=(cargo run --release --quiet --)

if [ "$MODE" != "--eval" ]; then
  RESUME=()
  [ "$MODE" = "--resume" ] && RESUME=(--resume)
  mkdir -p "$RUN"
  "${MCLCR[@]}" train --config "$RECIPE" --real data/faces --out "$RUN" --device cpu \
    "${RESUME[@]}" 2>&1 | tee -a "$RUN/train.log"
  "${MCLCR[@]}" pack --model "$RUN/best.json" --out tools/checkpoints/seed-29-photos.json \
    --name mclcr-seed-29-photos --f16 \
    --licence "Apache-2.0 (the mclcr project; backbone initialised from Apache-2.0 ImageNet weights)" \
    --training "self-blended fakes of real face photos from registry packages (tools/fetch_faces.py), recipe tools/recipe/default-model.json; see assets/models/MODEL_CARD.md"
fi

# The seed's figures: the held-out identities, self-blended fakes (seed 0), JPEG
# re-encoding of the real faces at quality 60-95, with the seed model.
"${MCLCR[@]}" eval --real data/faces --held-out-of "$RECIPE" --model tools/checkpoints/seed-29-photos.json \
  --device cpu --out "$RUN/eval"
# The public-domain sample portraits: never seen in training.
"${MCLCR[@]}" analyze assets/samples --model tools/checkpoints/seed-29-photos.json --device cpu
