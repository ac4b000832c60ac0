# Copyright (c) peclr_mm authors. All rights reserved.
"""The 2.5-D hand representation of Iqbal et al. (ECCV 2018) used by PeCLR.

A hand is described by the crop-pixel projections ``uv`` of its joints, the
depths relative to a root ``z_rel = (Z_j - Z_root) / b`` and the root depth
``z_root = Z_root / b``, all normalised by the length ``b`` of a reference
bone. Given ``uv``, ``z_rel`` and the crop intrinsics, ``z_root`` follows in
closed form from the constraint that the reference bone has length 1
(docs/design.md section 4), so a network need only regress scale-free
quantities.

The formulas are functions at module level, the encoding in NumPy (the
pipeline's side) and the decoding in batched torch (the model's);
:class:`Hand25DCodec`, the mmpose codec, composes them: a pipeline's
``GenerateTarget`` step encodes the training targets with it and the heads
decode their predictions through its batched steps.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS
from torch import Tensor

from ..utils import camera
from ..utils.camera import project

__all__ = [
    'root_weights', 'check_root_slot', 'replace_slot', 'place_root',
    'restore_root_slot', 'encode_25d', 'backproject', 'root_depth_closed_form',
    'joints_from_rays', 'Hand25DCodec'
]

Root = Union[str, int]
#: FreiHAND joints whose 3-D midpoint is the 'palm' root (wrist, middle MCP).
PALM_JOINTS = (0, 9)


def root_weights(root: Root,
                 num_keypoints: int = 21,
                 dtype: torch.dtype = torch.float64,
                 device: Optional[torch.device] = None) -> Tensor:
    """Weights ``w`` (K,) with ``X_root = sum_j w_j X_j``.

    Args:
        root: ``'palm'`` (midpoint of joints 0 and 9, the released PeCLR
            model's root) or the index of a joint.
        num_keypoints: K.

    Returns:
        Tensor: (K,) weights summing to one.
    """
    w = torch.zeros(num_keypoints, dtype=dtype, device=device)
    if isinstance(root, str):
        if root != 'palm':
            raise ValueError(f"root must be 'palm' or a joint index, "
                             f'got {root!r}')
        w[list(PALM_JOINTS)] = 0.5
    elif isinstance(root, (int, np.integer)) and 0 <= root < num_keypoints:
        w[int(root)] = 1.
    else:
        raise ValueError(f"root must be 'palm' or a joint index in "
                         f'[0, {num_keypoints}), got {root!r}')
    return w


def check_root_slot(root: Root,
                    root_slot: Optional[int],
                    num_keypoints: int = 21) -> None:
    """Refuse a ``root_slot`` from which the joint it replaces cannot be
    recovered (see :func:`restore_root_slot`).

    Args:
        root: see :func:`root_weights`.
        root_slot: the joint index whose slot holds the root point, or
            ``None`` for none (always accepted).
        num_keypoints: K.

    Raises:
        ValueError: the slot is no joint index or has zero root weight.
    """
    if root_slot is None:
        return
    w = root_weights(root, num_keypoints)
    if not (isinstance(root_slot, (int, np.integer))
            and 0 <= root_slot < num_keypoints and w[int(root_slot)] != 0):
        joints = torch.nonzero(w).flatten().tolist()
        raise ValueError(f'root_slot must be one of the joints {joints} that '
                         f'define the root {root!r}, got {root_slot!r}')


def replace_slot(x: Tensor, slot: int, value: Tensor) -> Tensor:
    """``x`` (B, K, ...) with ``x[:, slot]`` replaced by ``value`` (B, ...),
    out of place (autograd and the ONNX export keep the other slots).

    Args:
        x: (B, K, ...) tensor.
        slot: the index in ``[0, K)`` along dimension 1 to replace.
        value: (B, ...) the new contents of that slot.

    Returns:
        Tensor: (B, K, ...) a new tensor; ``x`` is left unchanged.
    """
    return torch.cat([x[:, :slot], value[:, None], x[:, slot + 1:]], 1)


def place_root(keypoints_3d: Tensor, root: Root, root_slot: int) -> Tensor:
    """Joints (B, K, 3) with joint ``root_slot`` replaced by the root point.

    The released PeCLR model predicts the palm (the root) in the wrist's
    place, with zero relative depth; its targets are written this way.

    Args:
        keypoints_3d: (B, K, 3) joints, e.g. metres in the camera frame.
        root: see :func:`root_weights`.
        root_slot: the joint index whose slot receives the root point.

    Returns:
        Tensor: (B, K, 3) joints in the units of ``keypoints_3d``, out of
        place.
    """
    w = root_weights(root, keypoints_3d.shape[1], keypoints_3d.dtype,
                     keypoints_3d.device)
    return replace_slot(keypoints_3d, root_slot,
                        torch.einsum('bkc,k->bc', keypoints_3d, w))


def restore_root_slot(keypoints_3d: Tensor, root: Root,
                      root_slot: int) -> Tensor:
    """Inverse of :func:`place_root`: the joint of ``root_slot`` recovered
    from the root point held there and the other joints,
    ``X_s = (X_root - sum_{j != s} w_j X_j) / w_s`` (for the palm in the
    wrist's slot: ``wrist = 2 * palm - middle_MCP``).

    Args:
        keypoints_3d: (B, K, 3) joints with the root point in slot
            ``root_slot``, e.g. metres in the camera frame.
        root: see :func:`root_weights`.
        root_slot: the joint index holding the root point; it must have a
            nonzero root weight (:func:`check_root_slot`).

    Returns:
        Tensor: (B, K, 3) joints with the joint of ``root_slot`` restored,
        out of place.
    """
    w = root_weights(root, keypoints_3d.shape[1], keypoints_3d.dtype,
                     keypoints_3d.device)
    w_s = w[root_slot]
    others = w.clone()
    others[root_slot] = 0
    joint = (keypoints_3d[:, root_slot] -
             torch.einsum('bkc,k->bc', keypoints_3d, others)) / w_s
    return replace_slot(keypoints_3d, root_slot, joint)


def _bone(bone_length: Tensor, batch: int) -> Tensor:
    """Bone lengths as (B, 1) for broadcasting over joints."""
    return bone_length.reshape(-1, 1).expand(batch, 1)


def encode_25d(keypoints_3d: np.ndarray,
               K_crop: np.ndarray,
               bone_length: Union[float, np.ndarray],
               root: Root = 'palm',
               eps: float = 1e-8,
               root_slot: Optional[int] = None) -> Dict[str, np.ndarray]:
    """Camera-frame joints to the 2.5-D representation, in NumPy (the data
    pipeline's side; decoding is batched torch, in the model).

    Args:
        keypoints_3d: (B, K, 3) metres in the camera frame.
        K_crop: (B, 3, 3) or (3, 3) intrinsics of the crop.
        bone_length: (B,) or scalar reference-bone length in metres.
        root: see :func:`root_weights`.
        eps: depths closer to zero than this are pushed to ``+-eps`` before
            dividing, so a joint on the camera plane stays finite.
        root_slot: the joint whose slot holds the root instead
            (:func:`place_root`); None for none.

    Returns:
        dict: float64 arrays ``uv`` (B, K, 2) crop pixels, ``z_rel`` (B, K)
        and ``z_root`` (B,), both in units of the bone length.
    """
    xyz = np.asarray(keypoints_3d, np.float64)
    B, K = xyz.shape[:2]
    b = np.broadcast_to(np.asarray(bone_length, np.float64).reshape(-1), (B, ))
    w = root_weights(root, K).numpy()
    Z_root = xyz[..., 2] @ w
    if root_slot is not None:  # place_root, in NumPy
        xyz = xyz.copy()
        xyz[:, root_slot] = np.einsum('bkc,k->bc', xyz, w)
    uv = project(xyz, np.asarray(K_crop, np.float64), eps=eps, keep_sign=True)
    return dict(
        uv=uv,
        z_rel=(xyz[..., 2] - Z_root[:, None]) / b[:, None],
        z_root=Z_root / b)


def backproject(uv: Tensor, K_crop: Tensor, eps: float = 1e-8) -> Tensor:
    """Rays ``Xhat = K_crop^-1 [u, v, 1]``, scaled to unit depth.

    Args:
        uv: (B, K, 2) crop pixels.
        K_crop: (B, 3, 3) or (3, 3).

    Returns:
        Tensor: (B, K, 3) with last coordinate 1, so ``X = Xhat * Z``.
    """
    return camera.backproject(uv, K_crop.to(uv).expand(uv.shape[0], 3, 3), eps)


def root_depth_closed_form(xhat: Tensor,
                           z_rel: Tensor,
                           ref_bone: Sequence[int] = (9, 10),
                           eps: float = 1e-8,
                           discriminant_floor: float = 0.) -> Tensor:
    """Root depth ``Z_root / b`` from the unit length of the reference bone.

    Iqbal et al., ECCV 2018, eq. 6-7 as docs/design.md section 4 writes
    it: with ``(x, y)`` of ``Xhat`` and ``z = z_rel`` of the bone's joints
    n and m, solve ``a z^2 + b z + c = 0`` and take the larger root.

    Degenerate inputs stay finite: ``a`` (zero when both joints lie on one
    ray) is clamped to ``eps`` and a negative discriminant (no depth makes
    the bone unit length, e.g. for noisy predictions) to
    ``discriminant_floor``; 0 gives the depth of closest approach
    ``-b / 2a``, the released model's ``1e-8`` adds ``1e-4 / 2a``. When the
    bone points almost along the viewing ray both roots can be positive and the
    true depth the smaller; the larger is still returned, as in the paper
    (the refinement MLP of :class:`Hand25DHead` is there to correct such
    cases).

    Args:
        xhat: (B, K, 3) rays from :func:`backproject`.
        z_rel: (B, K) relative depths in bone units.
        ref_bone: joint indices (n, m) of the reference bone.
        eps: floor of ``a``.
        discriminant_floor: floor of the discriminant.

    Returns:
        Tensor: (B,) root depth in bone units.
    """
    n, m = ref_bone
    xn, yn, zn = xhat[:, n, 0], xhat[:, n, 1], z_rel[:, n]
    xm, ym, zm = xhat[:, m, 0], xhat[:, m, 1], z_rel[:, m]
    a = (xn - xm)**2 + (yn - ym)**2
    b = 2 * (
        zn * (xn**2 + yn**2 - xn * xm - yn * ym) + zm *
        (xm**2 + ym**2 - xn * xm - yn * ym))
    c = ((xn * zn - xm * zm)**2 + (yn * zn - ym * zm)**2 + (zn - zm)**2 - 1)
    disc = (b**2 - 4 * a * c).clamp(min=discriminant_floor)
    return (-b + disc.sqrt()) / (2 * a.clamp(min=eps))


def joints_from_rays(xhat: Tensor, z_rel: Tensor, z_root: Tensor,
                     bone_length: Tensor) -> Tensor:
    """2.5-D representation back to camera-frame joints in metres.

    ``X_j = Xhat_j * (z_rel_j + z_root) * b``, with each joint's ray
    ``Xhat_j`` from :func:`backproject` of its own ``uv``; the root itself
    need not be a joint.

    Args:
        xhat: (B, K, 3) rays at unit depth.
        z_rel: (B, K) depths relative to the root, bone units.
        z_root: (B,) root depth in bone units.
        bone_length: (B,) or scalar, metres.

    Returns:
        Tensor: (B, K, 3) metres.
    """
    b = _bone(torch.as_tensor(bone_length).to(xhat), xhat.shape[0])
    depth = (z_rel + z_root.reshape(-1, 1)) * b
    return xhat * depth[..., None]


def _to_tensor(x, dtype: torch.dtype) -> Tensor:
    return torch.as_tensor(np.asarray(x), dtype=dtype)


@KEYPOINT_CODECS.register_module()
class Hand25DCodec(BaseKeypointCodec):
    """Encode camera-frame hand joints as 2.5-D targets and decode them.

    The one owner of the 2.5-D maths (docs/design.md section 4). In the
    pipeline, ``GenerateTarget`` calls :meth:`encode` with the view's
    ``transformed_keypoints`` and, as auxiliary keys, the sample's
    ``keypoints_3d``, ``K_crop`` and ``bone_length``; ``PackPoseInputs``
    packs the encoded items into ``gt_instance_labels``, where the 2.5-D
    heads read them. In the model, the heads call the batched torch steps
    of the decoding: :meth:`rays` (once per step), :meth:`closed_form_root`
    and :meth:`camera_joints`; :meth:`decode` chains them for arrays, as
    mmpose's codecs decode a model's output.

    Everything is in crop pixels: the labels, the heads' predictions, their
    ``uv`` loss and the decoding's input.

    Encoded items (Iqbal et al., ECCV 2018; PeCLR's fine-tuning head), for N
    instances of K joints:

        - keypoint_labels (N, K, 2): joint projections in crop pixels
        - keypoint_weights (N, K): the keypoints' visibility
        - z_rel_labels (N, K): ``(Z_j - Z_root) / b``
        - z_root_labels (N,): ``Z_root / b``

    where ``b`` is the length of the reference bone (FreiHAND's ``scale``).

    Args:
        input_size: (W, H) of the crop.
        root: ``'palm'`` (midpoint of joints 0 and 9 in 3-D, as the released
            PeCLR model) or a joint index.
        ref_bone: (n, m) joint indices of the reference bone.
        num_keypoints: K.
        root_slot: None (every slot holds its joint), or the joint whose
            slot holds the root point instead, with zero relative depth, as
            the released PeCLR model predicts the palm in the wrist's slot
            (``root='palm', root_slot=0``); decoding recovers that joint
            (:func:`restore_root_slot`).
        max_reprojection_error: :meth:`encode` refuses keypoints further
            than this many crop pixels from the projection of
            ``keypoints_3d`` through ``K_crop``: a geometric transform that
            moved the 2-D keypoints without updating ``K_crop`` would
            otherwise train on inconsistent targets.
    """

    auxiliary_encode_keys = {'keypoints_3d', 'K_crop', 'bone_length'}
    label_mapping_table = dict(
        keypoint_labels='keypoint_labels',
        keypoint_weights='keypoint_weights',
        z_rel_labels='z_rel_labels',
        z_root_labels='z_root_labels')

    def __init__(self,
                 input_size: Tuple[int, int] = (224, 224),
                 root: Root = 'palm',
                 ref_bone: Tuple[int, int] = (9, 10),
                 num_keypoints: int = 21,
                 root_slot: Optional[int] = None,
                 max_reprojection_error: float = 0.05) -> None:
        super().__init__()
        root_weights(root, num_keypoints)  # validates root early
        check_root_slot(root, root_slot, num_keypoints)
        self.root_slot = None if root_slot is None else int(root_slot)
        if len(ref_bone) != 2 or not all(0 <= j < num_keypoints
                                         for j in ref_bone):
            raise ValueError(f'ref_bone must be two joint indices, '
                             f'got {ref_bone}')
        self.input_size = tuple(int(s) for s in input_size)
        self.root = root
        self.ref_bone = tuple(int(j) for j in ref_bone)
        self.num_keypoints = num_keypoints
        self.max_reprojection_error = float(max_reprojection_error)

    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None,
               keypoints_3d: Optional[np.ndarray] = None,
               K_crop: Optional[np.ndarray] = None,
               bone_length: Optional[Union[float, np.ndarray]] = None) -> dict:
        """Encode N hands of K joints.

        Args:
            keypoints: (N, K, 2) crop pixels (the view's
                ``transformed_keypoints``); checked against the projection
                of ``keypoints_3d``, from which ``uv`` is computed.
            keypoints_visible: (N, K); ones when None.
            keypoints_3d: (N, K, 3) metres in the camera frame.
            K_crop: (3, 3) or (N, 3, 3) intrinsics of the crop.
            bone_length: scalar or (N,) reference-bone length in metres.

        Returns:
            dict: ``keypoint_labels``, ``keypoint_weights``,
            ``z_rel_labels``, ``z_root_labels``, computed in float64 and
            returned as float32 for float32 ``keypoints_3d`` (float64
            otherwise).
        """
        missing = [
            name for name, value in (('keypoints_3d', keypoints_3d),
                                     ('K_crop', K_crop), ('bone_length',
                                                          bone_length))
            if value is None
        ]
        if missing:
            raise KeyError(f'{self.__class__.__name__}.encode needs '
                           f'{", ".join(missing)} (the sample must carry '
                           'keypoints_3d, bone_length and a camera K that '
                           'WarpView turns into K_crop)')
        for K in np.asarray(K_crop, np.float64).reshape(-1, 3, 3):
            # a mirrored crop (a left hand) has a negative fx
            camera.check_intrinsics(
                K,
                'K_crop (the sample\'s K composed with its crop)',
                positive_focal=False)
        xyz = np.asarray(keypoints_3d)
        keypoints = np.asarray(keypoints)
        expected = (self.num_keypoints, 3)
        if xyz.ndim != 3 or xyz.shape[1:] != expected:
            raise ValueError(f'keypoints_3d must be (N, {expected[0]}, 3), '
                             f'got {xyz.shape}')
        if keypoints.shape != xyz.shape[:2] + (2, ):
            raise ValueError(f'keypoints {keypoints.shape} do not match '
                             f'keypoints_3d {xyz.shape}')
        enc = encode_25d(
            xyz, K_crop, bone_length, self.root, root_slot=self.root_slot)
        uv = enc['uv']
        checked = np.ones(self.num_keypoints, bool)
        if self.root_slot is not None:  # holds the root, not its keypoint
            checked[self.root_slot] = False
        err = np.abs(uv - keypoints)[:, checked].max()
        if not err <= self.max_reprojection_error:
            raise ValueError(
                f'keypoints differ from the projection of keypoints_3d '
                f'through K_crop by {err:.3g} px (at most '
                f'{self.max_reprojection_error} expected): a geometric '
                'transform moved the keypoints without updating K_crop '
                '(use HandCanonicalCrop, RandomSimilarity and WarpView)')
        if keypoints_visible is None:
            keypoints_visible = np.ones(xyz.shape[:2])
        out_dtype = np.float32 if xyz.dtype == np.float32 else np.float64
        return dict(
            keypoint_labels=uv.astype(out_dtype),
            keypoint_weights=np.asarray(keypoints_visible,
                                        out_dtype).reshape(xyz.shape[:2]),
            z_rel_labels=enc['z_rel'].astype(out_dtype),
            z_root_labels=enc['z_root'].astype(out_dtype))

    def decode(
        self,
        encoded: np.ndarray,
        K_crop: np.ndarray,
        bone_length: Union[float, np.ndarray],
        z_root: Optional[Union[float, np.ndarray]] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Decode N hands to camera-frame joints, as mmpose's codecs decode
        a model's output (the camera and the scale are extra arguments, as
        in mmpose's pose-lifting codecs).

        Args:
            encoded: (N, K, 3) ``[u, v, z_rel]``: crop pixels and relative
                depths in bone units (the labels that :meth:`encode` writes,
                or a head's prediction, side by side).
            K_crop: (3, 3) or (N, 3, 3) intrinsics of the crops.
            bone_length: scalar or (N,) metres.
            z_root: (N,) root depth in bone units; None solves it in closed
                form (:meth:`closed_form_root`).

        Returns:
            tuple: ``keypoints_3d`` (N, K, 3) metres in the camera frame
            (the joint of ``root_slot`` recovered) and ``scores`` (N, K)
            ones.
        """
        encoded = np.asarray(encoded)
        if encoded.ndim != 3 or encoded.shape[1:] != (self.num_keypoints, 3):
            raise ValueError(f'encoded must be (N, {self.num_keypoints}, 3) '
                             f'[u, v, z_rel], got {encoded.shape}')
        dtype = _torch_float(encoded.dtype)
        enc = _to_tensor(encoded, dtype)
        xhat = self.rays(enc[..., :2], _to_tensor(K_crop, dtype))
        z_rel = enc[..., 2]
        if z_root is None:
            z_root = self.closed_form_root(xhat, z_rel)
        else:
            z_root = _to_tensor(z_root, dtype).reshape(-1)
        xyz = self.camera_joints(xhat, z_rel, z_root,
                                 _to_tensor(bone_length, dtype))
        return xyz.numpy(), np.ones(encoded.shape[:2], encoded.dtype)

    def rays(self, uv: Tensor, K_crop: Tensor) -> Tensor:
        """Rays at unit depth (B, K, 3) through ``uv`` (B, K, 2) crop
        pixels, for ``K_crop`` (B, 3, 3) or (3, 3) (:func:`backproject`)."""
        return backproject(uv, K_crop)

    def closed_form_root(self,
                         xhat: Tensor,
                         z_rel: Tensor,
                         discriminant_floor: float = 0.) -> Tensor:
        """Root depth (B,) in bone units from the unit-length reference bone
        (:func:`root_depth_closed_form` on the codec's ``ref_bone``)."""
        return root_depth_closed_form(
            xhat, z_rel, self.ref_bone, discriminant_floor=discriminant_floor)

    def camera_joints(self, xhat: Tensor, z_rel: Tensor, z_root: Tensor,
                      bone_length: Tensor) -> Tensor:
        """Camera-frame joints (B, K, 3) in metres
        (:func:`joints_from_rays`), the joint of ``root_slot`` recovered
        from the root point held in its slot."""
        xyz = joints_from_rays(xhat, z_rel, z_root, bone_length)
        if self.root_slot is not None:
            xyz = restore_root_slot(xyz, self.root, self.root_slot)
        return xyz

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, '
                f'root={self.root!r}, ref_bone={self.ref_bone}, '
                f'num_keypoints={self.num_keypoints}, '
                f'root_slot={self.root_slot})')


def _torch_float(dtype: np.dtype) -> torch.dtype:
    """float32 stays float32; everything else computes in float64."""
    return torch.float32 if dtype == np.float32 else torch.float64
