#!/usr/bin/env bash
# The main job on the embedded synthetic set:
#   generate the set -> PeCLR pretraining -> fine-tuning -> test.
# With UNLABELED=DIR (any folders, photos and videos; several separated by
# spaces), DIR's hands are found and cut out first
# (tools/dataset_converters/hand_photos.py) and PeCLR pretrains on the
# renders + those real hands, half of every batch each; the rest is the
# same. With REAL_TEST=ROOT (a FreiHAND-layout set of real photos, e.g.
# the real-world test set converted by
# tools/dataset_converters/real_world_testset.py) the model is scored there
# too, beside that set's own mean pose.
# About 9 minutes on 2 CPU cores after set-up (13 when the shared machine
# runs slow). Stages whose output exists
# are skipped, so a killed run picks up where it stopped (training resumes
# from its last checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# The demo configs read data/synthetic_freihand.
DATA=data/synthetic_freihand
UNLABELED=${UNLABELED:-}
REAL_TEST=${REAL_TEST:-}
if [ -n "$UNLABELED" ]; then
  WORK=${WORK:-work_dirs/demo_unlabeled}
else
  WORK=${WORK:-work_dirs/demo}
fi
PRE_CFG=configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py
PRE_OPTS=()

stage() { echo; echo "=== $* ($(date +%H:%M:%S))"; }

if [ ! -f "$DATA/evaluation_xyz.json" ]; then
  stage "1/4 generating the synthetic FreiHAND set in $DATA"
  "$PY" tools/make_synthetic_freihand.py --out "$DATA" --num-train 10000 \
    --num-eval 500 --versions 1 --seed 0 --workers 2
else
  stage "1/4 synthetic set present in $DATA"
fi

if [ -n "$UNLABELED" ]; then
  REAL="$WORK/real_hands"
  stage "1b/4 finding the hands in $UNLABELED -> $REAL"
  # shellcheck disable=SC2086  # several inputs, separated by spaces
  "$PY" tools/dataset_converters/hand_photos.py $UNLABELED --out "$REAL" \
    --workers 2 --no-progress
  PRE_CFG=configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-real-hands-64.py
  PRE_OPTS=(--cfg-options
    "train_dataloader.dataset.datasets.1.data_root=$REAL")
fi

PRE="$WORK/pretrain"
stage "2/4 PeCLR pretraining ($PRE_CFG)"
if [ ! -f "$PRE/epoch_1.pth" ]; then
  "$PY" tools/train.py "$PRE_CFG" --work-dir "$PRE" --resume "${PRE_OPTS[@]}"
fi

FT="$WORK/finetune"
FT_CFG=configs/hand25d/hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py
FT_EPOCHS=$("$PY" -c "from mmengine.config import Config
print(Config.fromfile('$FT_CFG').train_cfg.max_epochs)")
FT_CKPT="$FT/epoch_$FT_EPOCHS.pth"
stage "3/4 fine-tuning the 2.5-D head from the PeCLR encoder ($FT_CFG)"
if [ ! -f "$FT_CKPT" ]; then
  "$PY" tools/train.py "$FT_CFG" --work-dir "$FT" --resume \
    --cfg-options model.backbone.init_cfg.checkpoint="$PRE/epoch_1.pth"
fi

stage "4/4 testing on the synthetic evaluation split, beside the mean pose"
"$PY" tools/test.py "$FT_CFG" "$FT_CKPT" \
  --work-dir "$WORK/test" --out "$WORK/test/metrics.json"
if [ -n "$REAL_TEST" ]; then
  stage "4b/4 testing on the real photos in $REAL_TEST, beside their mean pose"
  "$PY" tools/test.py "$FT_CFG" "$FT_CKPT" --work-dir "$WORK/test_real" \
    --out "$WORK/test_real/metrics.json" --cfg-options \
    test_dataloader.dataset.data_root="$REAL_TEST" \
    test_evaluator.mean_pose.data_root="$REAL_TEST"
fi
"$PY" tools/analysis/plot_curves.py "$FT" --out "$WORK/curves.png" \
  --title "fine-tuning ($FT_CFG)"
"$PY" tools/analysis/show_predictions.py "$FT_CFG" "$FT_CKPT" \
  --out "$WORK/predictions.png" --num 8 --cols 4

"$PY" - "$WORK/test/metrics.json" <<PYEOF
import json, sys
m = json.load(open(sys.argv[1]))
print()
print('demo result on the synthetic evaluation split '
      '(model | mean pose of the training labels | ratio):')
for key, unit in (('EPE-2D', 'px'), ('RR-EPE', 'mm'), ('PA-EPE', 'mm')):
    print('  %-7s %7.1f %s | %7.1f %s | x%.2f' % (
        key, m['freihand/' + key], unit, m['freihand/mean-pose/' + key], unit,
        m['freihand/ratio/' + key]))
print('  EPE %.1f mm, AUC %.3f, PA-AUC %.3f' % (
    m['freihand/EPE'], m['freihand/AUC'], m['freihand/PA-AUC']))
PYEOF
if [ -n "$REAL_TEST" ]; then
  "$PY" - "$WORK/test_real/metrics.json" <<PYEOF
import json, sys
m = json.load(open(sys.argv[1]))
print('on the real photos (model | their own mean pose | ratio):')
for key, ref, unit in (('EPE-2D', 'EPE-2D-in-box', 'px'),
                       ('RR-EPE', 'RR-EPE', 'mm'), ('PA-EPE', 'PA-EPE', 'mm')):
    print('  %-7s %7.1f %s | %7.1f %s | x%.2f' % (
        key, m['freihand/' + key], unit, m['freihand/mean-pose/' + ref],
        unit, m['freihand/ratio/' + ref]))
PYEOF
fi
echo "metrics: $WORK/test/metrics.json; learning curves: $WORK/curves.png;" \
  "predictions: $WORK/predictions.png"
