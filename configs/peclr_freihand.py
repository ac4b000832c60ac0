# The paper's PeCLR pretraining under its short name, the entry point of
# `python tools/train.py configs/peclr_freihand.py` (work_dirs/peclr_freihand,
# the checkpoint the hand25d configs fine-tune by default). The recipe is
# configs/peclr/peclr_resnet50_1xb128-100e_freihand-128.py.
_base_ = ['./peclr/peclr_resnet50_1xb128-100e_freihand-128.py']
