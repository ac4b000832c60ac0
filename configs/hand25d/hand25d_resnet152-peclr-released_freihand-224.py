# The PeCLR authors' released fine-tuned ResNet-152
# (rn152_peclr_yt3d-fh_pt_fh_ft.pth), converted whole by
# tools/convert_peclr_weights.py; everything else as the ResNet-50 release
# (hand25d_resnet50-peclr-released_freihand-224.py).
_base_ = ['./hand25d_resnet50-peclr-released_freihand-224.py']

model = dict(backbone=dict(depth=152))
