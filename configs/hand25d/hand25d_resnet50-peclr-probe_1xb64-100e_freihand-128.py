# The frozen-encoder probe of the paper's ablations: the PeCLR encoder is
# frozen (all stages, BatchNorm statistics too) and only the 2.5-D head
# trains.
_base_ = ['../_base_/hand25d_freihand.py']

model = dict(backbone=dict(frozen_stages=4, norm_eval=True))
