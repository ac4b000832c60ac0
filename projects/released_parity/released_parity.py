# Copyright (c) peclr_mm authors. All rights reserved.
"""The released PeCLR models through peclr_mm, against the authors' own
procedure.

    python projects/released_parity/released_parity.py [--work-dir DIR] \
        [--num-eval 16] [--depth 50] [--out docs/results/released_parity]

The released files cannot be downloaded here, so a stand-in takes their
place: a checkpoint in the release's exact key layout (``RN_25D_wMLPref``:
``backend_model.*`` torchvision ResNet with a 64-output ``fc``,
``zroot_ref.zroot_ref.*`` root MLP) with seeded weights whose outputs depend
on the image (BatchNorm statistics from the images, an output layer scaled
so that the joints move a few pixels from image to image about a plausible
hand). It is converted by ``tools/convert_peclr_weights.py`` and run on a
synthetic FreiHAND-layout set by ``tools/test.py`` with the released-model
config, which writes ``pred.json``; :class:`AuthorsProcedure` predicts the
same images as the authors' ``testing/pred_fh.py`` + ``fh_utils.py`` do,
re-implemented here from their description with NumPy, OpenCV and
torchvision only (nothing of peclr_mm). The report gives the mean joint
distance between the two, and how far each obvious alternative to one of
the authors' choices moves the joints.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch
import torchvision
from torch import nn

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CROP = 224
FIRST_BOX_SCALE = 0.33
TARGET_DIST = 0.7
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])
FINGERS = ('thumb', 'index', 'middle', 'ring', 'pinky')
STAGES = ('mcp', 'pip', 'dip', 'tip')
#: the release's order: wrist, then every finger's MCP, PIP, DIP, tip
RELEASE_NAMES = ['wrist'] + [f'{f}_{s}' for s in STAGES for f in FINGERS]
#: FreiHAND's: wrist, then each finger from base to tip
FREIHAND_NAMES = ['wrist'] + [f'{f}_{s}' for f in FINGERS for s in STAGES]
TO_FREIHAND = [RELEASE_NAMES.index(n) for n in FREIHAND_NAMES]
BONE = (RELEASE_NAMES.index('middle_mcp'), RELEASE_NAMES.index('middle_pip'))
CONFIGS = {
    'labelled':
    'configs/hand25d/hand25d_resnet{d}-peclr-released_'
    'freihand-224.py',
    'submission':
    'configs/hand25d/hand25d_resnet{d}-peclr-released_'
    'freihand-224_submission.py',
}


class _RootMLP(nn.Module):
    """``zroot_ref``: 64 -> 128 -> 128 -> 1 with BatchNorm1d + LeakyReLU."""

    def __init__(self):
        super().__init__()
        self.zroot_ref = nn.Sequential(
            nn.Linear(64, 128), nn.BatchNorm1d(128), nn.LeakyReLU(),
            nn.Linear(128, 128), nn.BatchNorm1d(128), nn.LeakyReLU(),
            nn.Linear(128, 1))


class ReleaseStandIn(nn.Module):
    """The architecture of the release (``RN_25D_wMLPref``), its forward
    pass as the authors describe it, with their parameter names."""

    def __init__(self, depth: int = 50):
        super().__init__()
        self.backend_model = getattr(torchvision.models, f'resnet{depth}')(
            weights=None)
        self.backend_model.fc = nn.Linear(self.backend_model.fc.in_features,
                                          64)
        self.zroot_ref = _RootMLP()

    def features(self, img: torch.Tensor) -> torch.Tensor:
        m = self.backend_model
        x = m.maxpool(m.relu(m.bn1(m.conv1(img))))
        x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
        return torch.flatten(m.avgpool(x), 1)

    def forward(self, img: torch.Tensor, K: torch.Tensor) -> Dict:
        out = self.backend_model.fc(self.features(img))
        kp25d = out[:, :63].reshape(-1, 21, 3).clone()
        kp25d[:, 0, 2] = 0  # the root's relative depth
        uv, zrel = kp25d[..., :2], kp25d[..., 2:3]
        ones = torch.ones_like(uv[..., :1])
        rays = torch.cat([uv, ones], 2) @ torch.linalg.inv(K).transpose(1, 2)
        eps = torch.tensor(1e-8)
        m, n = BONE
        xm, ym, xn, yn = (rays[:, m, 0], rays[:, m, 1], rays[:, n,
                                                             0], rays[:, n, 1])
        zm, zn = zrel[:, m, 0], zrel[:, n, 0]
        a = (xn - xm)**2 + (yn - ym)**2
        b = 2 * (
            zn * (xn**2 + yn**2 - xn * xm - yn * ym) + zm *
            (xm**2 + ym**2 - xn * xm - yn * ym))
        c = (xn * zn - xm * zm)**2 + (yn * zn - ym * zm)**2 + (zn - zm)**2 - 1
        d = torch.maximum(eps, b**2 - 4 * a * c)
        zroot = ((-b + d.sqrt()) / (2 * torch.maximum(eps, a))).detach()
        zroot = zroot.clamp(4., 50.)
        feat = torch.cat([
            zrel.reshape(-1, 21), rays[..., :2].reshape(-1, 42), zroot[:, None]
        ], 1)
        zroot = zroot + self.zroot_ref.zroot_ref(feat)[:, 0]
        return dict(kp25d=kp25d, kp3d=rays * (zrel + zroot[:, None, None]))


def _transform_from_box(box: np.ndarray) -> np.ndarray:
    """3x3: the box's longer side fills ``TARGET_DIST`` of the crop."""
    w, h = box[2] - box[0], box[3] - box[1]
    s = TARGET_DIST * CROP / float(max(w, h))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return np.array([[s, 0, CROP / 2 - s * cx], [0, s, CROP / 2 - s * cy],
                     [0, 0, 1.]])


class AuthorsProcedure:
    """The prediction of the authors' FreiHAND test script, one image at a
    time, with switches for the choices that an implementation might make
    otherwise (the defaults are the authors').

    Args:
        model: a :class:`ReleaseStandIn` (or the real architecture).
        integer_box: the second crop's box from ``int()``-truncated extents.
        passes: 2 (the authors') or 1.
        border: constant outside the image (the authors' borderValue of
            ImageNet means in [0, 1] is 0 on uint8 images).
        normalise: ``'unit'`` (divide by 255, then ImageNet mean/std, in
            float64, the authors') or ``'bytes'`` (mean and std times 255 in
            float32, as mmpose's preprocessor).
        first_crop: ``'centre'`` (the 224 px box scaled by 0.33) or
            ``'whole'`` (the whole image filling 0.7 of the view).
    """

    def __init__(self,
                 model: nn.Module,
                 integer_box: bool = True,
                 passes: int = 2,
                 border: int = 0,
                 normalise: str = 'unit',
                 first_crop: str = 'centre'):
        self.model = model.eval()
        self.integer_box = integer_box
        self.passes = passes
        self.border = border
        self.normalise = normalise
        self.first_crop = first_crop

    def first_transform(self) -> np.ndarray:
        scale = FIRST_BOX_SCALE if self.first_crop == 'centre' else 1.
        half = CROP * scale / 2
        box = np.array([
            CROP / 2 - half, CROP / 2 - half, CROP / 2 + half, CROP / 2 + half
        ])
        return _transform_from_box(box)

    def crop(self, img_rgb: np.ndarray, T: np.ndarray) -> torch.Tensor:
        crop = cv2.warpAffine(
            img_rgb,
            T[:2], (CROP, CROP),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(self.border, ) * 3)
        if self.normalise == 'unit':
            x = (crop.astype(np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD
        else:
            x = (crop.astype(np.float32) - np.float32(
                IMAGENET_MEAN * 255)) / np.float32(IMAGENET_STD * 255)
        return torch.from_numpy(x.transpose(2, 0, 1)[None]).float()

    @torch.no_grad()
    def run(self, img_rgb, K, T) -> Dict:
        Kc = torch.from_numpy(T @ K)[None].float()
        return self.model(self.crop(img_rgb, T), Kc)

    def predict(self, img_rgb: np.ndarray, K: np.ndarray,
                scale: float) -> np.ndarray:
        """(21, 3) metres, camera frame, FreiHAND order."""
        T = self.first_transform()
        out = self.run(img_rgb, K, T)
        if self.passes == 2:
            uv = out['kp25d'][0, :, :2].numpy()
            lo, hi = uv.min(0), uv.max(0)
            if self.integer_box:
                lo, hi = np.array([int(v) for v in lo
                                   ]), np.array([int(v) for v in hi])
            corners = np.linalg.inv(T)[:2] @ np.array(
                [[lo[0], hi[0]], [lo[1], hi[1]], [1., 1.]])
            box = corners.T.reshape(4)
            T = _transform_from_box(box)
            out = self.run(img_rgb, K, T)
        kp3d = out['kp3d'][0].numpy().astype(np.float64)
        kp3d[0] = 2 * kp3d[0] - kp3d[RELEASE_NAMES.index('middle_mcp')]
        return kp3d[TO_FREIHAND] * scale


def _eval_set(data_root: str):
    with open(osp.join(data_root, 'evaluation_K.json')) as f:
        Ks = np.asarray(json.load(f), np.float64)
    with open(osp.join(data_root, 'evaluation_scale.json')) as f:
        scales = np.asarray(json.load(f), np.float64)
    return Ks, scales


def read_rgb(data_root: str, idx: int) -> np.ndarray:
    path = osp.join(data_root, 'evaluation', 'rgb', f'{idx:08d}.jpg')
    img = cv2.imread(path)
    if img is None:
        raise OSError(f'cannot read {path}')
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@torch.no_grad()
def make_standin(data_root: str,
                 depth: int = 50,
                 seed: int = 0,
                 num_images: int = 16,
                 uv_std: float = 4.,
                 zrel_std: float = 0.15) -> ReleaseStandIn:
    """Seeded weights in the release's layout whose outputs depend on the
    image: BatchNorm statistics of the evaluation images' first crops, an
    output layer whose rows vary by ``uv_std`` px (``zrel_std`` bone
    lengths) across them about the images' mean 2.5-D pose, and a root MLP
    with non-trivial statistics that corrects by about one bone length."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = ReleaseStandIn(depth)
    Ks, scales = _eval_set(data_root)
    with open(osp.join(data_root, 'evaluation_xyz.json')) as f:
        xyz = np.asarray(json.load(f), np.float64)
    proc = AuthorsProcedure(model)
    T = proc.first_transform()
    n = min(num_images, len(Ks))
    x = torch.cat([proc.crop(read_rgb(data_root, i), T) for i in range(n)])
    for m in model.backend_model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batch
    model.backend_model.train()
    model.backend_model(x)
    model.eval()
    feats = model.features(x)
    # the targets: each image's 2.5-D pose in the first crop, release order
    target = np.zeros((n, 21, 3))
    for i in range(n):
        X = xyz[i].copy()
        X[0] = (X[0] + X[9]) / 2  # the palm in the wrist's slot
        uvw = X @ (T @ Ks[i]).T
        target[i, :, :2] = uvw[:, :2] / uvw[:, 2:]
        target[i, :, 2] = (X[:, 2] - X[0, 2]) / scales[i]
    target = target[:, [FREIHAND_NAMES.index(n) for n in RELEASE_NAMES]]
    mean = torch.from_numpy(target.mean(0).reshape(63)).float()
    std = torch.tensor([uv_std, uv_std, zrel_std] * 21)
    W = torch.randn(64, feats.shape[1], generator=g)
    out = feats @ W.T
    W[:63] *= (std / out[:, :63].std(0).clamp(min=1e-6))[:, None]
    bias = torch.randn(64, generator=g)
    bias[:63] = mean - (feats @ W[:63].T).mean(0)
    model.backend_model.fc.weight.copy_(W)
    model.backend_model.fc.bias.copy_(bias)
    mlp = model.zroot_ref.zroot_ref
    for bn in (mlp[1], mlp[4]):
        bn.running_mean.uniform_(-0.2, 0.2, generator=g)
        bn.running_var.uniform_(0.5, 2., generator=g)
        bn.weight.uniform_(0.5, 1.5, generator=g)
        bn.bias.uniform_(-0.1, 0.1, generator=g)
    mlp[6].weight.mul_(3.)
    return model


def save_release_layout(model: ReleaseStandIn, path: str) -> None:
    """``{'state_dict': ...}`` with exactly the release's keys."""
    torch.save({'state_dict': model.state_dict()}, path)


def run_tool(args: List[str], log: str) -> None:
    env = dict(os.environ, PYTHONPATH=ROOT)
    with open(log, 'w') as f:
        proc = subprocess.run(
            [sys.executable] + args,
            cwd=ROOT,
            stdout=f,
            stderr=subprocess.STDOUT,
            env=env)
    if proc.returncode:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{" ".join(args)} failed ({log}):\n{tail}')


def ours_pred_json(data_root: str, ckpt: str, work_dir: str, depth: int,
                   which: str, num_eval: int) -> np.ndarray:
    """``tools/test.py`` with the released-model config; the pred.json's
    joints (N, 21, 3)."""
    prefix = osp.join(work_dir, f'ours_{which}')
    opts = [
        f'test_dataloader.dataset.data_root={data_root}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'test_evaluator.outfile_prefix={prefix}',
    ]
    if which == 'labelled':
        opts.append(f'test_evaluator.mean_pose.data_root={data_root}')
    else:
        opts.append(f'test_evaluator.submission_size={num_eval}')
    run_tool([
        'tools/test.py', CONFIGS[which].format(d=depth), ckpt, '--work-dir',
        osp.join(work_dir, f'test_{which}'), '--cfg-options', *opts
    ], osp.join(work_dir, f'test_{which}.log'))
    with open(prefix + '.pred.json') as f:
        return np.asarray(json.load(f)[0], np.float64)


def reference_predictions(model: nn.Module, data_root: str, n: int,
                          **choices) -> np.ndarray:
    Ks, scales = _eval_set(data_root)
    proc = AuthorsProcedure(model, **choices)
    return np.stack([
        proc.predict(read_rgb(data_root, i), Ks[i], scales[i])
        for i in range(n)
    ])


def joint_distance_mm(a: np.ndarray, b: np.ndarray) -> Dict[str, float]:
    d = np.linalg.norm(a - b, axis=-1) * 1000
    return dict(mean_mm=float(d.mean()), max_mm=float(d.max()))


#: the obvious alternatives to the authors' choices, as AuthorsProcedure
#: switches
CHOICES = {
    'float box instead of int()-truncated':
    dict(integer_box=False),
    'one pass instead of two':
    dict(passes=1),
    'border of ImageNet mean colour instead of 0':
    dict(border=124),
    'mean/std x 255 in float32 instead of /255 first':
    dict(normalise='bytes'),
    'first crop: whole image instead of the 0.33 centre box':
    dict(first_crop='whole'),
}


def run_parity(work_dir: str,
               depth: int = 50,
               num_eval: int = 16,
               seed: int = 0,
               which=('submission', ),
               choices: bool = False) -> Dict:
    """Write the data set and the stand-in, convert, test, compare.

    Returns:
        dict: per config in ``which`` the mean and max joint distance (mm)
        between ``pred.json`` and the authors' procedure; with ``choices``
        how far each alternative of :data:`CHOICES` moves the authors'
        joints; wall times.
    """
    from peclr_synthetic import generate_freihand
    os.makedirs(work_dir, exist_ok=True)
    times = {}
    t0 = time.time()
    data_root = osp.join(work_dir, 'data')
    if not osp.isdir(data_root):
        generate_freihand(
            data_root, num_train=8, num_eval=num_eval, versions=1, seed=seed)
    times['data_s'] = time.time() - t0
    t0 = time.time()
    model = make_standin(data_root, depth, seed, num_eval)
    src = osp.join(work_dir, f'rn{depth}_standin_release_layout.pth')
    dst = osp.join(work_dir, f'rn{depth}_standin_converted.pth')
    save_release_layout(model, src)
    run_tool(['tools/convert_peclr_weights.py', src, dst],
             osp.join(work_dir, 'convert.log'))
    times['standin_and_convert_s'] = time.time() - t0
    t0 = time.time()
    ref = reference_predictions(model, data_root, num_eval)
    times['reference_s'] = time.time() - t0
    result = dict(
        depth=depth, num_images=num_eval, seed=seed, parity={}, times=times)
    for w in which:
        t0 = time.time()
        ours = ours_pred_json(data_root, dst, work_dir, depth, w, num_eval)
        times[f'tools_test_{w}_s'] = time.time() - t0
        result['parity'][w] = joint_distance_mm(ours, ref)
    if choices:
        result['choices'] = {
            name:
            joint_distance_mm(
                reference_predictions(model, data_root, num_eval, **kw), ref)
            for name, kw in CHOICES.items()
        }
    result['spread_mm'] = float(
        np.linalg.norm(ref - ref.mean(0), axis=-1).mean() * 1000)
    return result


def write_report(result: Dict, out: str) -> None:
    from peclr_mm.utils.io import atomic_write, atomic_write_json
    atomic_write_json(out + '.json', result, indent=1)
    lines = [
        '# The released models through peclr_mm: parity with the authors\' '
        'procedure', '',
        'Measured by `python projects/released_parity/released_parity.py` on '
        f'{result["num_images"]} synthetic FreiHAND-layout evaluation images '
        f'with a seeded ResNet-{result["depth"]} stand-in in the release\'s '
        'key layout (the release files cannot be downloaded here).', '',
        '| path | mean joint distance (mm) | max (mm) |', '| --- | --- | --- |'
    ]
    for w, d in result['parity'].items():
        lines.append(f'| `tools/test.py` {w} config -> pred.json vs the '
                     f'authors\' procedure | {d["mean_mm"]:.2e} | '
                     f'{d["max_mm"]:.2e} |')
    lines += [
        '', 'The stand-in\'s joints vary from image to image by '
        f'{result["spread_mm"]:.1f} mm on average (distance to their mean). '
        'How far each obvious alternative to one of the authors\' choices '
        'moves its joints (all else the authors\'):', '',
        '| choice | mean (mm) | max (mm) |', '| --- | --- | --- |'
    ]
    for name, d in result.get('choices', {}).items():
        lines.append(f'| {name} | {d["mean_mm"]:.3g} | {d["max_mm"]:.3g} |')
    lines += [
        '', 'These movements are the stand-in\'s: random weights are less '
        'smooth in the image than a trained model, so they bound how much '
        'each choice matters rather than measure it for the release.', '',
        'Wall times (s): ' + ', '.join(f'{k[:-2]} {v:.1f}'
                                       for k, v in result['times'].items())
    ]
    atomic_write(out + '.md',
                 lambda n: open(n, 'w').write('\n'.join(lines) + '\n'))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/released_parity')
    parser.add_argument('--num-eval', type=int, default=16)
    parser.add_argument('--depth', type=int, default=50, choices=(50, 152))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='docs/results/released_parity')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = run_parity(
        args.work_dir,
        args.depth,
        args.num_eval,
        args.seed,
        which=('labelled', 'submission'),
        choices=True)
    write_report(result, args.out)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
