#!/usr/bin/env bash
# Train several recipes of every 64-px deep model at once on one GPU machine, keep each model's best by validation.
# Run from the repository root with .devdata/mrl (scripts/gpu/pack_images.py) and .devdata/cew; each run is the plain
# `train` command, started in its own folder so its recorded command is the one to type from the repository root.
# Usage: bash scripts/gpu/device_train.sh RESULTS_DIR [SECONDS_PER_RUN]
set -uo pipefail
RESULTS=${1:?results folder}; LIMIT=${2:-430}
REPO=$(pwd); JOBS=${JOBS_DIR:-/tmp/eyebench_jobs}
export PYTHONUNBUFFERED=1 EYEBENCH_CACHE=${EYEBENCH_CACHE:-/tmp/eyebench_cache} OMP_NUM_THREADS=2
PY=$(command -v python3 || command -v python)
D="--data .devdata/mrl --data .devdata/cew"
mkdir -p "$RESULTS" "$JOBS"
nvidia-smi -L 2>/dev/null; $PY -c "import torch, timm; print('torch', torch.__version__, 'timm', timm.__version__, 'cuda', torch.cuda.is_available())"
$PY -c "from eyebench.data.dataset import load_dataset, load_images; load_images(load_dataset(['.devdata/mrl', '.devdata/cew']), 64, 1)"  2>&1 | tail -c 300; echo
# one short run first: a failure on this machine shows in seconds, not after every job has failed
timeout 150 $PY -m eyebench train small_cnn $D --out "$JOBS/smoke" --epochs 1 --epoch-size 512 > "$JOBS/smoke.log" 2>&1 \
  || { tail -n 30 "$JOBS/smoke.log"; exit 1; }
run() {  # run NAME ARGS...: one training in $JOBS/NAME
  local name=$1; shift
  mkdir -p "$JOBS/$name" && ln -sfn "$REPO/eyebench" "$JOBS/$name/eyebench" && ln -sfn "$REPO/.devdata" "$JOBS/$name/.devdata"
  (cd "$JOBS/$name" && timeout "$LIMIT" $PY -m eyebench train "$@" ${EXTRA:-} > train.log 2>&1; echo "exit $?" >> train.log) &
}
run resnet18_a resnet18 $D --out checkpoints/resnet18 --epochs ${R18_EPOCHS:-36} --patience 15 --storage-dtype float16
run resnet18_b resnet18 $D --out checkpoints/resnet18 --epochs ${R18_EPOCHS:-36} --patience 15 --storage-dtype float16 --aug-strength 1.5
run resnet34_a resnet34 $D --out checkpoints/resnet34 --epochs ${R34_EPOCHS:-24} --patience 12 --storage-dtype float16
run resnet34_b resnet34 $D --out checkpoints/resnet34 --epochs ${R34_EPOCHS:-24} --patience 12 --storage-dtype float16 --aug-strength 1.5
# ViT: the first run asked for 100 epochs and reached 51 in 400 s with eight runs sharing the GPU; 45 should fit (untried)
run vit_a vit_scratch $D --out checkpoints/vit_scratch --epochs ${VIT_EPOCHS:-45} --patience 30 --lr 1e-3
run vit_b vit_scratch $D --out checkpoints/vit_scratch --epochs ${VIT_EPOCHS:-45} --patience 30 --lr 5e-4
run small_cnn_a small_cnn $D --out checkpoints/small_cnn --epochs ${CNN_EPOCHS:-60} --patience 20 --model-arg 'widths=[32,64,128,128]'
run small_cnn_b small_cnn $D --out checkpoints/small_cnn --epochs ${CNN_EPOCHS:-60} --patience 20 --model-arg 'widths=[32,64,128,128]' --aug-strength 1.5
wait
$PY scripts/gpu/pick_best.py "$JOBS" "$RESULTS"
