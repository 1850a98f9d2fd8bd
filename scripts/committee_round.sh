#!/usr/bin/env bash
# The people-balanced sampling and committee round on the 38,810-image MRL folder (docs/history.md section 11).
# Stage "cv": the registered short-budget cross-validation (3 folds over the train+val people of the shipped
# small_cnn's split, its test people left out of every fold); it ran once and the committee missed its bars. Stage
# "full": the same round at the registered full budget, resumable. Stage "ship": retrain the three members on the
# shipped split with the full-budget recipes and fit the committee; run it only if the "full" committee clears both
# registered bars. Stage "zoom": the second and third committee recipes (section 17). Run from the repository root
# with the data at ../shared/data (or set MRL and CEW). About 1 h 20 min (cv), 6 h (full), 1 h 20 min (zoom) and 2 h
# (ship) on a 2-core CPU.
set -euo pipefail
MRL=${MRL:-../shared/data/mrl}
CEW=${CEW:-../shared/data/cew}
DATA="--data $MRL --data $CEW"
BUDGET="--epochs 16 --patience 16 --epoch-size 8192 --bf16"
C="--model-arg widths=[32,64,128,128] --ema 0.998 --glasses 0.3"
stage=${1:-cv}
mkdir -p runs results/cv
[ -d runs/small_cnn_before ] || cp -r checkpoints/small_cnn runs/small_cnn_before  # its test people stay out
if [ "$stage" = cv ]; then
  H="--folds 3 --seed 0 --holdout-of runs/small_cnn_before"
  python -m eyebench cv small_cnn $DATA $H $BUDGET $C --out runs/cv38/C --json results/cv/small_cnn_C_38k.json
  python -m eyebench cv small_cnn $DATA $H $BUDGET $C --person-cap 1 --out runs/cv38/P --json results/cv/small_cnn_P_38k.json
  python -m eyebench cv resnet18 $DATA $H --epochs 12 --patience 12 --epoch-size 8192 --bf16 --person-cap 1 \
      --out runs/cv38/R --json results/cv/resnet18_P_38k.json
  python -m eyebench cv student $DATA $H $BUDGET --person-cap 1 --out runs/cv38/S --json results/cv/student_P_38k.json
  python -m eyebench cv-report committee $DATA --run runs/cv38/P --run runs/cv38/R --run runs/cv38/S --target-risk 0.005 \
      --out runs/cv38/K --json results/cv/committee_38k.json
elif [ "$stage" = full ]; then
  # the registered full-budget round (docs/history.md section 11): about 6 hours on a 2-core CPU, so it runs over
  # several sittings: the same command again continues where it stopped (cv --resume), then fits the committee
  H="--folds 3 --seed 0 --holdout-of runs/small_cnn_before --resume"
  python -m eyebench cv small_cnn $DATA $H --epochs 60 --patience 20 --bf16 $C --out runs/cv38full/C \
      --json results/cv/small_cnn_C_full_38k.json
  python -m eyebench cv small_cnn $DATA $H --epochs 60 --patience 20 --bf16 $C --person-cap 1 --out runs/cv38full/P \
      --json results/cv/small_cnn_P_full_38k.json
  # resnet18 and the student with --bf16 like every other run of the round (registered before they ran, section 11)
  python -m eyebench cv resnet18 $DATA $H --epochs 36 --patience 15 --bf16 --person-cap 1 --out runs/cv38full/R \
      --json results/cv/resnet18_P_full_38k.json
  python -m eyebench cv student $DATA $H --epochs 30 --patience 10 --bf16 --person-cap 1 --out runs/cv38full/S \
      --json results/cv/student_P_full_38k.json
  python -m eyebench cv-report committee $DATA --run runs/cv38full/P --run runs/cv38full/R --run runs/cv38full/S \
      --target-risk 0.005 --out runs/cv38full/K --json results/cv/committee_full_38k.json
elif [ "$stage" = zoom ]; then
  # the second and third committee recipes (docs/history.md section 17): zoom-out members at the short budget, the
  # committee without (K2) and with (K3) zoom-in averaging; resumable like "full"
  H="--folds 3 --seed 0 --holdout-of runs/small_cnn_before --resume"
  python -m eyebench cv small_cnn $DATA $H $BUDGET $C --person-cap 1 --zoom-out 0.3 --out runs/cv38/Z \
      --json results/cv/small_cnn_Z_38k.json
  python -m eyebench cv student $DATA $H $BUDGET --person-cap 1 --out runs/cv38/S --json results/cv/student_P_38k_again.json
  python -m eyebench cv resnet18 $DATA $H --epochs 12 --patience 12 --epoch-size 8192 --bf16 --person-cap 1 \
      --out runs/cv38/R --json results/cv/resnet18_P_38k_again.json
  python -m eyebench cv-report committee $DATA --run runs/cv38/Z --run runs/cv38/R --run runs/cv38/S --target-risk 0.005 \
      --out runs/cv38/K2 --json results/cv/committee_K2_38k.json
  python -m eyebench cv-report committee $DATA --run runs/cv38/Z --run runs/cv38/R --run runs/cv38/S --target-risk 0.005 \
      --zoom-average --out runs/cv38/K3 --json results/cv/committee_K3_38k.json
elif [ "$stage" = ship ]; then
  # --split-from keeps the shipped people: the larger folder would draw another seed-0 split (docs/history.md s. 12).
  # The student distils from the two retrained members as the shipped student does (cv cannot: its teachers would
  # have seen the fold's test people).
  S="--split-from runs/small_cnn_before"
  python -m eyebench train small_cnn $DATA $S --epochs 60 --patience 20 --bf16 $C --person-cap 1 --out checkpoints/small_cnn --overwrite
  python -m eyebench train resnet18 $DATA $S --epochs 36 --patience 15 --bf16 --person-cap 1 --storage-dtype float16 \
      --target-risk 0.005 --out checkpoints/resnet18 --overwrite
  python -m eyebench train student $DATA --epochs 30 --patience 10 --bf16 --person-cap 1 --teacher checkpoints/small_cnn \
      --teacher checkpoints/resnet18 --target-risk 0.005 --out checkpoints/student --overwrite
  python -m eyebench committee --member checkpoints/small_cnn --member checkpoints/resnet18 \
      --member checkpoints/student $DATA --out checkpoints/committee --target-risk 0.005 --overwrite
else
  echo "usage: bash scripts/committee_round.sh [cv|full|zoom|ship]" >&2; exit 2
fi
