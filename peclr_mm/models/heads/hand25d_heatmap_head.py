# Copyright (c) peclr_mm authors. All rights reserved.
"""The 2.5-D heatmap head: Iqbal et al.'s (ECCV 2018) own read-out."""
from typing import Dict, List, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_conv_layer, build_upsample_layer
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn

from .hand25d_head import BaseHand25DHead

__all__ = [
    'Hand25DHeatmapHead', 'soft_argmax_2d', 'gaussian_cell_targets',
    'upsampling_layers'
]

#: (padding, output_padding) of a stride-2 deconvolution that doubles the
#: resolution exactly, per kernel size (mmpose's ``HeatmapHead`` choice).
DECONV_PADDING = {4: (1, 0), 3: (1, 1), 2: (0, 0)}


def soft_argmax_2d(heatmaps: Tensor,
                   input_size: Tuple[int, int],
                   beta: Union[float, Tensor] = 1.) -> Tuple[Tensor, Tensor]:
    """Integral read-out of K heatmaps (docs/design.md section 4b).

    ``P = softmax(beta * H)`` over all h*w cells; the position is the
    expectation of the cell centres under ``P``, in the pixels of an input of
    ``input_size`` (cell ``j`` of ``w`` covers input pixels ``[j, j+1) * W /
    w`` and its centre is at ``(j + 0.5) * W / w - 0.5``: pixel centres are
    integers, as in OpenCV's warps).

    Args:
        heatmaps: (B, K, h, w) logits.
        input_size: (W, H) of the input image in pixels.
        beta: inverse temperature of the softmax.

    Returns:
        tuple: ``xy`` (B, K, 2) input pixels and ``P`` (B, K, h, w).
    """
    B, K, h, w = heatmaps.shape
    prob = torch.softmax((heatmaps * beta).flatten(2), dim=-1)
    prob = prob.view(B, K, h, w)
    W, H = input_size
    xs = (torch.arange(w, dtype=prob.dtype, device=prob.device) +
          0.5) * (W / w) - 0.5
    ys = (torch.arange(h, dtype=prob.dtype, device=prob.device) +
          0.5) * (H / h) - 0.5
    xy = torch.stack([(prob.sum(2) * xs).sum(-1), (prob.sum(3) * ys).sum(-1)],
                     dim=-1)
    return xy, prob


def gaussian_cell_targets(uv: Tensor,
                          input_size: Tuple[int, int],
                          map_size: Tuple[int, int],
                          sigma: float = 1.) -> Tuple[Tensor, Tensor]:
    """Per joint a Gaussian distribution over the cells of an (h, w) map,
    centred where :func:`soft_argmax_2d`'s cell centres put ``uv``.

    Args:
        uv: (B, K, 2) positions in the pixels of an input of ``input_size``.
        input_size: (W, H) of the input in pixels.
        map_size: (h, w) of the heatmaps.
        sigma: standard deviation in cells.

    Returns:
        tuple: the targets (B, K, h, w), each summing to 1, and a (B, K)
        mask that is 0 for joints more than one cell outside the map (their
        truncated Gaussian would pull the mass to the border).
    """
    h, w = map_size
    W, H = input_size
    # the inverse of the cell centres (j + 0.5) * W / w - 0.5
    cx = (uv[..., 0] + 0.5) * (w / W) - 0.5
    cy = (uv[..., 1] + 0.5) * (h / H) - 0.5
    xs = torch.arange(w, dtype=uv.dtype, device=uv.device)
    ys = torch.arange(h, dtype=uv.dtype, device=uv.device)
    gx = torch.exp(-(xs - cx[..., None])**2 / (2 * sigma**2))
    gy = torch.exp(-(ys - cy[..., None])**2 / (2 * sigma**2))
    g = gy[..., :, None] * gx[..., None, :]
    g = g / g.flatten(2).sum(-1).clamp_min(1e-12)[..., None, None]
    inside = ((cx > -1) & (cx < w) & (cy > -1) & (cy < h)).to(uv.dtype)
    return g, inside


def upsampling_layers(in_channels: int, deconv_out_channels: Sequence[int],
                      deconv_kernel_sizes: Sequence[int],
                      conv_out_channels: Sequence[int]
                      ) -> Tuple[nn.Sequential, nn.Sequential, int]:
    """mmpose's heatmap upsampling, as layers of our own.

    Each deconvolution (stride 2, no bias) doubles the resolution and is
    followed by BatchNorm and ReLU; each 3x3 convolution after them too.
    The layer order, and so the state-dict keys, are those of mmpose's
    ``HeatmapHead`` (``deconv_layers.{3i, 3i+1}``, ``conv_layers...``).

    Args:
        in_channels: channels of the input feature map.
        deconv_out_channels: channels of the deconvolutions.
        deconv_kernel_sizes: their kernel sizes (4, 3 or 2).
        conv_out_channels: channels of the 3x3 convolutions.

    Returns:
        tuple: the deconvolution block, the convolution block and the
        number of channels out of them.
    """
    if len(deconv_out_channels) != len(deconv_kernel_sizes):
        raise ValueError('deconv_out_channels and deconv_kernel_sizes '
                         f'differ in length: {deconv_out_channels} vs '
                         f'{deconv_kernel_sizes}')
    deconv: List[nn.Module] = []
    for out_channels, kernel in zip(deconv_out_channels, deconv_kernel_sizes):
        if kernel not in DECONV_PADDING:
            raise ValueError(f'deconv_kernel_sizes must be 4, 3 or 2, '
                             f'got {kernel}')
        padding, output_padding = DECONV_PADDING[kernel]
        deconv += [
            build_upsample_layer(
                dict(
                    type='deconv',
                    in_channels=in_channels,
                    out_channels=out_channels,
                    kernel_size=kernel,
                    stride=2,
                    padding=padding,
                    output_padding=output_padding,
                    bias=False)),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True)
        ]
        in_channels = out_channels
    conv: List[nn.Module] = []
    for out_channels in conv_out_channels:
        conv += [
            build_conv_layer(
                dict(
                    type='Conv2d',
                    in_channels=in_channels,
                    out_channels=out_channels,
                    kernel_size=3,
                    stride=1,
                    padding=1)),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True)
        ]
        in_channels = out_channels
    return nn.Sequential(*deconv), nn.Sequential(*conv), in_channels


@MODELS.register_module()
class Hand25DHeatmapHead(BaseHand25DHead):
    """2.5-D hand pose through latent heatmaps and depth maps (Iqbal et al.,
    ECCV 2018), with the targets, root depth, refinement and decoding of
    :class:`BaseHand25DHead`.

    The chosen backbone stage is upsampled by deconvolutions and, after
    optional 3x3 convolutions, a 1x1 convolution gives per joint a heatmap
    ``H_j`` and a depth map ``D_j``; ``uv_j`` is the soft-argmax of ``H_j``
    (:func:`soft_argmax_2d`) and ``z_rel_j`` the expectation of ``D_j``
    under the same distribution. That distribution is detached in the
    depth read-out: otherwise the (5x weighted) ``z_rel`` loss moves the
    heatmap mass to wherever the depth map happens to fit, and the
    positions barely train (a six-sample overfit stalled at 12 px instead
    of 0.5 px). The layers are those of mmpose's ``HeatmapHead``
    (deconvolution + BN + ReLU, stride 2 each; :func:`upsampling_layers`).

    Args:
        in_channels: channels of the selected feature map.
        in_index: which of the backbone's outputs to read (ResNet-18 at
            64 px: -1 is the 2x2 last stage, an earlier ``out_indices``
            entry a finer one).
        deconv_out_channels: channels of the deconvolution layers (each
            doubles the resolution); ``()`` reads the feature map as is.
        deconv_kernel_sizes: their kernel sizes (4, 3 or 2).
        conv_out_channels: channels of 3x3 convolutions after them.
        beta: initial inverse temperature of the softmax.
        learn_beta: learn ``beta`` (as a log, so it stays positive).
        heatmap_loss_weight: weight of an auxiliary cross-entropy between
            each softmax heatmap and a Gaussian at the labelled position
            (:func:`gaussian_cell_targets`), logged as ``loss_heatmap``. 0
            (the default) trains the heatmaps as latent, as Iqbal et al.
            do; supervising them as well (as integral-regression models
            often do) learns faster in a small budget
            (docs/results/finetune_recipes.md).
        heatmap_sigma: the Gaussian's standard deviation in heatmap cells.
        **kwargs: see :class:`BaseHand25DHead`.
    """

    def __init__(self,
                 in_channels: int,
                 in_index: int = -1,
                 deconv_out_channels: Sequence[int] = (128, 128),
                 deconv_kernel_sizes: Sequence[int] = (4, 4),
                 conv_out_channels: Sequence[int] = (),
                 beta: float = 1.,
                 learn_beta: bool = True,
                 heatmap_loss_weight: float = 0.,
                 heatmap_sigma: float = 1.,
                 init_cfg: OptConfigType = None,
                 **kwargs) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(
                    type='Normal',
                    layer=['Conv2d', 'ConvTranspose2d'],
                    std=0.001),
                dict(type='Constant', layer='BatchNorm2d', val=1),
                dict(type='Normal', layer=['Linear'], std=0.01, bias=0)
            ]
        super().__init__(init_cfg=init_cfg, **kwargs)
        if not beta > 0:
            raise ValueError(f'beta must be positive, got {beta}')
        if not (heatmap_loss_weight >= 0 and heatmap_sigma > 0):
            raise ValueError('heatmap_loss_weight must be >= 0 and '
                             'heatmap_sigma > 0, got '
                             f'{heatmap_loss_weight} and {heatmap_sigma}')
        self.heatmap_loss_weight = float(heatmap_loss_weight)
        self.heatmap_sigma = float(heatmap_sigma)
        self.in_channels = in_channels
        self.in_index = in_index
        self.deconv_layers, self.conv_layers, channels = upsampling_layers(
            in_channels, deconv_out_channels, deconv_kernel_sizes,
            conv_out_channels)
        self.final_layer = nn.Conv2d(channels, 2 * self.num_keypoints, 1)
        log_beta = torch.tensor(float(beta)).log()
        if learn_beta:
            self.log_beta = nn.Parameter(log_beta)
        else:
            self.register_buffer('log_beta', log_beta)

    def maps(self, feats: Union[Tensor,
                                Sequence[Tensor]]) -> Tuple[Tensor, Tensor]:
        """The latent heatmaps and depth maps, each (B, K, h, w)."""
        x = feats[self.in_index] if isinstance(feats, (list, tuple)) else feats
        out = self.final_layer(self.conv_layers(self.deconv_layers(x)))
        return out[:, :self.num_keypoints], out[:, self.num_keypoints:]

    def forward(self, feats: Union[Tensor,
                                   Sequence[Tensor]]) -> Tuple[Tensor, Tensor]:
        """``uv`` (B, K, 2) in crop pixels and ``z_rel`` (B, K), the root's
        own ``z_rel`` zeroed (:meth:`zero_root`)."""
        uv, z_rel, _ = self._train_forward(feats)
        return uv, z_rel

    def _train_forward(self, feats: Union[Tensor, Sequence[Tensor]]
                       ) -> Tuple[Tensor, Tensor, Tensor]:
        """:meth:`forward` and the scaled heatmap logits (B, K, h, w)."""
        heatmaps, depths = self.maps(feats)
        # float32 for the read-out: a softmax over hundreds of cells in
        # bfloat16 would quantise the sub-cell position.
        logits = heatmaps.float() * self.log_beta.exp()
        uv, prob = soft_argmax_2d(logits, self.codec.input_size)
        z_rel = (prob.detach() * depths.float()).flatten(2).sum(-1)
        return uv, self.zero_root(z_rel), logits

    def _aux_losses(self, logits: Tensor,
                    target: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """``loss_heatmap``: cross-entropy of the softmax heatmaps against
        Gaussians at the labels, when ``heatmap_loss_weight`` > 0."""
        if not self.heatmap_loss_weight:
            return {}
        g, inside = gaussian_cell_targets(target['keypoint_labels'],
                                          self.codec.input_size,
                                          logits.shape[-2:],
                                          self.heatmap_sigma)
        logp = torch.log_softmax(logits.flatten(2), dim=-1)
        ce = -(g.flatten(2) * logp).sum(-1)
        w = target['keypoint_weights'] * inside
        return dict(loss_heatmap=self.heatmap_loss_weight * (w * ce).mean())
