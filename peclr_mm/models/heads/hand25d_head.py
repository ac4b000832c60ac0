# Copyright (c) peclr_mm authors. All rights reserved.
"""The 2.5-D regression head PeCLR fine-tunes on FreiHAND."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList
from torch import Tensor, nn

from ...codecs.hand25d import Hand25DCodec, replace_slot, root_weights
from ...utils.camera import project

__all__ = ['BaseHand25DHead', 'Hand25DHead']


def _as_tensor(x, ref: Tensor) -> Tensor:
    """Array, tensor or number as a tensor of ``ref``'s dtype and device."""
    if isinstance(x, Tensor):
        return x.detach().to(ref)
    return ref.new_tensor(np.asarray(x, dtype=np.float64))


class BaseHand25DHead(BaseHead):
    """What the 2.5-D heads share (Iqbal et al., ECCV 2018; the root-depth
    refinement of the released PeCLR model, Spurr et al., ICCV 2021).

    A subclass's :meth:`forward` reads, per joint, ``uv`` in crop pixels
    and ``z_rel`` (depth relative to the root, in reference-bone units) out
    of the features. The codec's rays through ``uv`` are computed once per
    step; the root depth is solved from them in closed form (the codec's
    unit-length reference bone), then corrected by a residual MLP (3K+1 ->
    128 -> 128 -> 1, BatchNorm1d and LeakyReLU) fed with ``z_rel``, the
    rays' ``(x, y)`` and the closed-form value. Camera-frame joints follow
    from the same rays, ``X = Xhat * (z_rel + z_root) * b``
    (:meth:`Hand25DCodec.camera_joints`).

    The loss is L1 on ``uv`` (crop pixels, as predicted and labelled),
    ``z_rel`` and ``z_root`` (bone units) against the ``gt_instance_labels``
    that ``GenerateTarget`` writes with the same codec; decoding needs the
    data samples' ``K_crop`` and ``bone_length`` metainfo.

    Args:
        num_keypoints: K.
        codec: :class:`Hand25DCodec` config (``input_size``, ``root``,
            ``ref_bone``).
        loss_weights: weights of the ``uv`` (per crop pixel), ``z_rel`` and
            ``z_root`` (per bone length) terms; ``None``: ``(1 / input_size,
            5, 1)``, where an error of the whole crop's width weighs as much
            as one bone length of root depth (the paper's 1 : 5 : 1 with
            ``uv`` in units of the crop).
        zroot_range: the closed-form root depth (bone units) is clamped to
            this range before refinement, as in the released model; None
            leaves it unclamped.
        refine_scale: the refinement MLP's output is in units of this many
            bone lengths. Depth errors of the closed form are tens of bone
            lengths while Adam moves a weight by about its learning rate per
            step, so an unscaled residual needs thousands of steps to reach
            them. The released model: 1.
        discriminant_floor: floor of the closed form's discriminant (see
            :func:`root_depth_closed_form`); the released model: 1e-8.
        init_cfg: initialisation; the last layer of the refinement MLP is
            always zeroed so training starts from the closed form.
    """

    def __init__(self,
                 num_keypoints: int = 21,
                 codec: ConfigType = dict(type='Hand25DCodec'),
                 loss_weights: Optional[Sequence[float]] = None,
                 zroot_range: Optional[Tuple[float, float]] = (4., 50.),
                 refine_scale: float = 10.,
                 discriminant_floor: float = 0.,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg)
        self.num_keypoints = num_keypoints
        self.codec: Hand25DCodec = KEYPOINT_CODECS.build(codec) if isinstance(
            codec, dict) else codec
        if self.codec.num_keypoints != num_keypoints:
            raise ValueError(f'codec has {self.codec.num_keypoints} '
                             f'keypoints, head {num_keypoints}')
        if loss_weights is None:  # square crops: one side
            loss_weights = (1. / self.codec.input_size[0], 5., 1.)
        if len(loss_weights) != 3:
            raise ValueError('loss_weights must be (uv, z_rel, z_root), '
                             f'got {loss_weights}')
        self.loss_weights = tuple(float(w) for w in loss_weights)
        self.zroot_range = tuple(zroot_range) if zroot_range else None
        self.refine_scale = float(refine_scale)
        self.discriminant_floor = float(discriminant_floor)
        self.root_refiner = nn.Sequential(
            nn.Linear(num_keypoints * 3 + 1, 128), nn.BatchNorm1d(128),
            nn.LeakyReLU(), nn.Linear(128, 128), nn.BatchNorm1d(128),
            nn.LeakyReLU(), nn.Linear(128, 1))
        self.register_buffer(
            'root_coef',
            root_weights(self.codec.root, num_keypoints, torch.float32),
            persistent=False)

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.zeros_(self.root_refiner[-1].weight)
        nn.init.zeros_(self.root_refiner[-1].bias)

    def zero_root(self, z_rel: Tensor) -> Tensor:
        """Make the root's own relative depth zero in ``z_rel`` (B, K).

        With the codec's ``root_slot`` (the released model's layout, the
        palm in the wrist's slot) that slot is set to zero, as the released
        model does; otherwise ``z_rel`` is shifted so that the root's
        weighted sum is zero (for the palm: ``z_rel[0] + z_rel[9] == 0``).
        """
        slot = self.codec.root_slot
        if slot is not None:
            return replace_slot(z_rel, slot, torch.zeros_like(z_rel[:, slot]))
        return z_rel - (z_rel @ self.root_coef.to(z_rel))[:, None]

    def root_depth(self,
                   xhat: Tensor,
                   z_rel: Tensor,
                   K_crop: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Closed-form root depth and its refinement, in bone units.

        Args:
            xhat: (B, K, 3) the codec's rays through the predicted ``uv``
                (:meth:`Hand25DCodec.rays`).
            z_rel: (B, K).
            K_crop: (B, 3, 3) the crops' intrinsics; a mirrored crop's (a
                left hand seen as a right one, negative determinant) gives
                the refiner its rays mirrored (``x -> -x``), as a mirrored
                copy of the image would, so a left hand's root depth is
                its mirrored copy's. None: no crop is mirrored.

        Returns:
            tuple: ``(z_root_closed_form, z_root)``, each (B,); the closed
            form is detached, as in the released model.
        """
        z_cf = self.codec.closed_form_root(
            xhat, z_rel, discriminant_floor=self.discriminant_floor)
        z_cf = z_cf.detach()
        if self.zroot_range is not None:
            z_cf = z_cf.clamp(*self.zroot_range)
        # Detached inputs: the root-depth loss trains the refiner only, and
        # its (scaled) gradient does not swamp the uv and z_rel losses.
        xy = xhat[..., :2]
        if K_crop is not None:  # elementwise, for the ONNX export
            det = K_crop[:, 0, 0] * K_crop[:, 1, 1] - \
                K_crop[:, 0, 1] * K_crop[:, 1, 0]
            sign = torch.where(det < 0, -1., 1.).to(xy)
            xy = torch.stack([xy[..., 0] * sign[:, None], xy[..., 1]], -1)
        feat = torch.cat(
            [z_rel.detach(),
             xy.flatten(1).detach(), z_cf[:, None]], 1)
        return z_cf, z_cf + self.refine_scale * self.root_refiner(feat)[:, 0]

    def _geometry(self, batch_data_samples: OptSampleList,
                  ref: Tensor) -> Tuple[Tensor, Tensor]:
        """``K_crop`` (B, 3, 3) and ``bone_length`` (B,) from the metainfo."""
        K_crop, bone = [], []
        for sample in batch_data_samples:
            meta = sample.metainfo
            size = meta.get('input_size')
            if size is not None and tuple(size) != self.codec.input_size:
                raise ValueError(f'data sample input_size {tuple(size)} != '
                                 f'codec input_size {self.codec.input_size}')
            K_crop.append(_as_tensor(meta['K_crop'], ref).reshape(3, 3))
            bone.append(_as_tensor(meta['bone_length'], ref).reshape(()))
        return torch.stack(K_crop), torch.stack(bone)

    def predict(self,
                feats: Union[Tensor, Sequence[Tensor]],
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> List[InstanceData]:
        """Predict camera-frame joints.

        Returns:
            list[InstanceData]: per sample ``keypoints_3d`` (1, K, 3) metres
            in the camera frame, ``keypoints`` (1, K, 2) crop pixels and
            ``keypoint_scores`` (1, K) ones; with the codec's ``root_slot``
            also ``keypoints_regressed`` (1, K, 2), the crop-pixel ``uv`` as
            regressed (the root in its slot), from which the released test
            script's second crop is drawn.
        """
        if test_cfg.get('flip_test', False):
            raise NotImplementedError(
                f'{self.__class__.__name__} does not support flip_test')
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        K_crop, bone = self._geometry(batch_data_samples,
                                      x.new_zeros((), dtype=torch.float32))
        out = self.predict_joints(feats, K_crop, bone)
        xyz, uv_px = (out['keypoints_3d'].detach().cpu().numpy(),
                      out['keypoints'].detach().cpu().numpy())
        extra = {}
        if self.codec.root_slot is not None:
            extra['keypoints_regressed'] = out['keypoints_regressed'].detach(
            ).cpu().numpy()
        return [
            InstanceData(
                keypoints=uv_px[i:i + 1],
                keypoints_3d=xyz[i:i + 1],
                keypoint_scores=np.ones((1, self.num_keypoints), np.float32),
                **{
                    k: v[i:i + 1]
                    for k, v in extra.items()
                }) for i in range(len(xyz))
        ]

    def predict_joints(self, feats: Union[Tensor,
                                          Sequence[Tensor]], K_crop: Tensor,
                       bone_length: Tensor) -> Dict[str, Tensor]:
        """Tensors in, tensors out (what :meth:`predict` and the ONNX export
        share).

        Args:
            feats: the backbone's features.
            K_crop: (B, 3, 3) intrinsics of the crops.
            bone_length: (B,) reference-bone lengths in metres.

        Returns:
            dict: ``keypoints_3d`` (B, K, 3) metres, ``keypoints`` (B, K, 2)
            crop pixels (the recovered joint's projection in the codec's
            ``root_slot``) and ``keypoints_regressed`` (B, K, 2), the
            crop-pixel ``uv`` as regressed.
        """
        uv, z_rel = self.forward(feats)
        K_crop, bone_length = K_crop.to(uv), bone_length.to(uv)
        xhat = self.codec.rays(uv, K_crop)
        _, z_root = self.root_depth(xhat, z_rel, K_crop)
        xyz = self.codec.camera_joints(xhat, z_rel, z_root, bone_length)
        uv_px = uv
        slot = self.codec.root_slot
        if slot is not None:  # the recovered joint's projection
            uv_px = replace_slot(uv, slot,
                                 project(xyz[:, slot:slot + 1], K_crop)[:, 0])
        return dict(keypoints_3d=xyz, keypoints=uv_px, keypoints_regressed=uv)

    def loss(self,
             feats: Union[Tensor, Sequence[Tensor]],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> Dict[str, Tensor]:
        """L1 losses on ``uv`` (crop pixels), ``z_rel`` and ``z_root``
        against the targets that the pipeline's ``GenerateTarget`` step
        encoded with the head's codec (``gt_instance_labels``), weighted per
        joint by ``keypoint_weights``, and the batch's ``mpjpe_mm`` (logged,
        not optimised)."""
        uv, z_rel, aux = self._train_forward(feats)
        K_crop, bone = self._geometry(batch_data_samples, uv)
        target = self._targets(batch_data_samples, uv)
        xhat = self.codec.rays(uv, K_crop)
        _, z_root = self.root_depth(xhat, z_rel, K_crop)

        w = target['keypoint_weights']
        w_uv, w_zrel, w_zroot = self.loss_weights
        uv_error = uv - target['keypoint_labels']
        losses = dict(
            loss_uv=w_uv * (w[..., None] * uv_error.abs()).mean(),
            loss_zrel=w_zrel * (w *
                                (z_rel - target['z_rel_labels']).abs()).mean(),
            loss_zroot=w_zroot * F.l1_loss(z_root, target['z_root_labels']))
        losses.update(self._aux_losses(aux, target))
        with torch.no_grad():
            xyz = self.codec.camera_joints(xhat, z_rel, z_root, bone)
            gt = torch.stack([
                _as_tensor(s.gt_instances.keypoints_3d,
                           uv).reshape(self.num_keypoints, 3)
                for s in batch_data_samples
            ])
            losses['mpjpe_mm'] = (xyz - gt).norm(dim=-1).mean() * 1000
        return losses

    def _train_forward(
        self, feats: Union[Tensor, Sequence[Tensor]]
    ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """:meth:`forward` and what :meth:`_aux_losses` needs (nothing
        here)."""
        uv, z_rel = self.forward(feats)
        return uv, z_rel, None

    def _aux_losses(self, aux: Optional[Tensor],
                    target: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Losses beyond the 2.5-D ones (none here)."""
        return {}

    def _targets(self, batch_data_samples: OptSampleList,
                 ref: Tensor) -> Dict[str, Tensor]:
        """Stack the encoded labels of one instance per sample."""
        shapes = dict(
            keypoint_labels=(self.num_keypoints, 2),
            keypoint_weights=(self.num_keypoints, ),
            z_rel_labels=(self.num_keypoints, ),
            z_root_labels=())
        out = {}
        for key, shape in shapes.items():
            values = []
            for sample in batch_data_samples:
                labels = sample.get('gt_instance_labels')
                if labels is None or key not in labels:
                    raise KeyError(
                        f'{self.__class__.__name__} trains on '
                        f"gt_instance_labels['{key}'], which the sample "
                        f'{sample.metainfo.get("img_path")} lacks: add '
                        "dict(type='GenerateTarget', encoder=codec) with "
                        "the head's codec to the train pipeline before "
                        'PackHand3DInputs')
                values.append(_as_tensor(labels[key], ref).reshape(shape))
            out[key] = torch.stack(values)
        return out


@MODELS.register_module()
class Hand25DHead(BaseHand25DHead):
    """The 2.5-D head of PeCLR's fine-tuning: direct regression.

    The last feature map is average-pooled and an MLP regresses ``uv`` and
    ``z_rel`` of every joint; the rest is :class:`BaseHand25DHead`.

    Args:
        in_channels: channels of the last feature map.
        hidden_dims: widths of hidden layers (Linear + ReLU) before the
            output layer; ``()`` is the released model's single linear layer.
        regress_pixels: the output layer gives ``uv`` in crop pixels, as the
            released model's does; otherwise its ``uv`` outputs are in units
            of the crop's side and multiplied by it (one step of Adam then
            moves a joint by a fraction of the crop, not of a pixel).
        **kwargs: see :class:`BaseHand25DHead`.
    """

    default_init_cfg = dict(type='Normal', layer=['Linear'], std=0.01, bias=0)

    def __init__(self,
                 in_channels: int,
                 hidden_dims: Sequence[int] = (),
                 regress_pixels: bool = False,
                 init_cfg: OptConfigType = None,
                 **kwargs) -> None:
        super().__init__(
            init_cfg=self.default_init_cfg if init_cfg is None else init_cfg,
            **kwargs)
        self.in_channels = in_channels
        self.regress_pixels = bool(regress_pixels)
        layers: List[nn.Module] = []
        channels = in_channels
        for width in hidden_dims:
            layers += [nn.Linear(channels, width), nn.ReLU(inplace=True)]
            channels = width
        layers.append(nn.Linear(channels, self.num_keypoints * 3))
        self.regressor = nn.Sequential(*layers)

    def forward(self, feats: Union[Tensor,
                                   Sequence[Tensor]]) -> Tuple[Tensor, Tensor]:
        """Regress ``uv`` (B, K, 2) in crop pixels and ``z_rel`` (B, K), the
        root's own ``z_rel`` zeroed (:meth:`zero_root`)."""
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        if x.dim() == 4:
            x = F.adaptive_avg_pool2d(x, 1)
        out = self.regressor(x.flatten(1)).view(-1, self.num_keypoints, 3)
        uv = out[..., :2]
        if not self.regress_pixels:  # the layer's units: the crop's side
            uv = uv * uv.new_tensor(self.codec.input_size)
        return uv, self.zero_root(out[..., 2])
