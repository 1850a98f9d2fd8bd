#!/usr/bin/env bash
# Retrain every shipped checkpoint with the exact commands recorded in their model cards (2-core CPU times in README).
# Run from the repository root with ../shared/data present. Each command is independent except `student`, which
# distils from small_cnn and must run after it.
set -euo pipefail
DATA="--data ../shared/data/mrl --data ../shared/data/cew"
python -m eyebench train lbp_hog_svm $DATA --out checkpoints/lbp_hog_svm
python -m eyebench train small_cnn $DATA --out checkpoints/small_cnn --epochs 30 --patience 10 --model-arg 'widths=[32,64,128,128]'
python -m eyebench train student $DATA --out checkpoints/student --epochs 30 --patience 10 --teacher checkpoints/small_cnn --target-risk 0.005
python -m eyebench train resnet18 $DATA --out checkpoints/resnet18 --epochs 14 --patience 6 --storage-dtype float16
python -m eyebench train vit_scratch $DATA --out checkpoints/vit_scratch --epochs 30 --patience 10 --lr 1e-3
python -m eyebench train resnet34 $DATA --out checkpoints/resnet34 --epochs 10 --patience 6 --storage-dtype float16
python -m eyebench bench --model checkpoints/lbp_hog_svm --model checkpoints/small_cnn --model checkpoints/resnet18 --model checkpoints/resnet34 --model checkpoints/vit_scratch --model checkpoints/student --record
