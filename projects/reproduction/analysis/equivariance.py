# Copyright (c) peclr_mm authors. All rights reserved.
"""What the paper's figure shows, measured: does a pretrained latent move
with the image (PeCLR) or stay put (SimCLR), and do its frozen features
retrieve similar hand poses?

    python projects/reproduction/analysis/equivariance.py --data DATA \\
        --encoder simclr=work_dirs/reproduce/cpu/pretrain_simclr/epoch_3.pth \\
        --encoder peclr=work_dirs/reproduce/cpu/pretrain_peclr/epoch_3.pth \\
        --out work_dirs/equivariance

1. **Equivariance.** Each of ``--num`` evaluation hands is cropped as in
   pretraining, then rotated by each of ``--angles`` degrees (and, apart,
   shifted by each of ``--shifts`` of the view size) about the view
   centre. For every view the projection (D numbers read as D/2 points in
   2-D, unit length) is compared with the untransformed view's:
   ``moved`` (how far it went), ``should`` (how far PeCLR's latent
   geometry says it should go) and ``error`` (the distance left after the
   view's geometry is undone on it, as the loss undoes it: 0 for a
   perfectly equivariant encoder, ``should`` for an invariant one).
2. **Rotation read-out.** Training (gallery) and evaluation hands, each
   view turned by its own angle in +-45 degrees; a ridge probe of the
   pooled frozen features predicts the angle (``rotation_readout``): an
   encoder invariant to rotation answers no better than ``chance``. Beside
   it, the spread of the hands' own in-plane orientation
   (``orientation_spread``, wrist -> middle MCP).
3. **Retrieval.** Average-pooled encoder features of the evaluation hands
   (queries) and of ``--gallery`` training hands; each query's top-``k``
   neighbours by cosine similarity; the mean per-joint distance (mm) of
   their poses to the query's, root-relative (the hand as the camera sees
   it) and Procrustes-aligned (the articulation alone), beside ``chance``
   (k random gallery hands) and ``oracle`` (the k closest poses).

Writes ``equivariance.json``, ``equivariance.md``, ``equivariance.png``
(latent movement against angle) and ``retrieval.jpg`` (queries and their
neighbours). ``--config`` builds the encoders (the pretraining config; any
PeCLR/SimCLR checkpoint of that architecture loads).
"""
import argparse
import os
import os.path as osp
import sys
import time

import numpy as np

from projects.reproduction.analysis.encoder_args import add_encoder_args

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'peclr',
                          'peclr_resnet18-2stage_1xb32-1e_synthetic-64.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', required=True, help='FreiHAND-layout root')
    add_encoder_args(parser, DEFAULT_CONFIG, 'a pretraining run')
    parser.add_argument(
        '--size',
        type=int,
        default=None,
        help='view size (default: the config\'s)')
    parser.add_argument(
        '--num', type=int, default=200, help='evaluation hands')
    parser.add_argument(
        '--gallery',
        type=int,
        default=5000,
        help='training hands searched for neighbours')
    parser.add_argument('--k', type=int, default=5)
    parser.add_argument(
        '--angles',
        type=float,
        nargs='+',
        default=[-90, -60, -45, -30, -15, 15, 30, 45, 60, 90])
    parser.add_argument(
        '--shifts', type=float, nargs='+', default=[-0.1, -0.05, 0.05, 0.1])
    parser.add_argument('--out', required=True, help='output folder')
    return parser.parse_args(argv)


class Views:
    """Canonical crops of a split (the package's ``HandCanonicalCrop`` at
    the tight box), re-viewed by a chosen similarity through the package's
    view pipeline (``FixedSimilarity``, ``WarpView``, ``PackPeCLRInputs``)."""

    def __init__(self, data: str, split: str, num: int, size: int):
        from mmpose.registry import DATASETS
        dataset = DATASETS.build(
            dict(
                type='FreiHand3DDataset',
                data_root=data,
                split=split,
                versions=[0] if split == 'training' else None,
                pipeline=[
                    dict(type='LoadHandImage'),
                    dict(
                        type='HandCanonicalCrop', input_size=size, padding=1.0)
                ]))
        if num > len(dataset):
            raise ValueError(f'{data}: the {split} split has {len(dataset)} '
                             f'hands, {num} asked for')
        self.samples = [dataset[i] for i in range(num)]
        self.xyz = np.stack([
            np.asarray(s['keypoints_3d'], np.float64).reshape(-1, 3)
            for s in self.samples
        ])
        self.size = size

    def packed(self, theta=0., shift=(0., 0.)) -> list:
        """The views rotated by ``theta`` degrees (one angle, or one per
        sample) and shifted by ``shift`` (fractions of the view size),
        packed as in pretraining."""
        from mmcv.transforms import Compose

        def pipeline(angle):
            return Compose([
                dict(
                    type='MultiViewWithGeometry',
                    num_views=1,
                    transforms=[
                        dict(
                            type='FixedSimilarity',
                            theta=float(angle),
                            shift=tuple(shift)),
                        dict(type='WarpView')
                    ]),
                dict(type='PackPeCLRInputs')
            ])

        angles = np.broadcast_to(
            np.asarray(theta, np.float64), (len(self.samples), ))
        pipelines = {a: pipeline(a) for a in np.unique(angles)}
        return [pipelines[a](dict(s)) for a, s in zip(angles, self.samples)]

    def keypoints(self) -> np.ndarray:
        """(N, 21, 2) the hands' joints in their source images, pixels."""
        return np.stack([
            np.asarray(s['keypoints'], np.float64).reshape(-1, 2)
            for s in self.samples
        ])

    def view_keypoints(self) -> np.ndarray:
        """(N, 21, 2) the hands' joints in their untransformed views
        (the crop's matrix applied: a mirrored left hand is a right one)."""
        uv = self.keypoints()
        mat = np.stack(
            [np.asarray(s['crop_mat'], np.float64) for s in self.samples])
        return np.einsum('nij,nkj->nki', mat[:, :, :2], uv) + mat[:, None, :,
                                                                  2]

    def images(self) -> np.ndarray:
        """(N, H, W, 3) uint8 untransformed views, for the figure."""
        return np.stack(
            [p['inputs'][0].numpy().transpose(1, 2, 0) for p in self.packed()])


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from peclr_mm.utils.io import atomic_write_json
    from projects.reproduction.probes import (build_with_encoder,
                                              hand_orientation,
                                              knn_pose_distance,
                                              latent_equivariance,
                                              orientation_spread,
                                              pooled_features, pose_distance,
                                              projections, rotation_readout)
    init_default_scope('mmpose')
    t0 = time.time()
    cfg = Config.fromfile(args.config)
    size = args.size or cfg.get('view_size', 64)
    os.makedirs(args.out, exist_ok=True)
    query = Views(args.data, 'evaluation', args.num, size)
    gallery = Views(args.data, 'training', args.gallery, size)
    x0, xg = query.packed(), gallery.packed()
    transforms = [(a, (0., 0.)) for a in args.angles] + \
        [(0., (s, 0.)) for s in args.shifts] + \
        [(0., (0., s)) for s in args.shifts]
    x_t = {t: query.packed(*t) for t in transforms}
    # the rotation read-out: every view turned by its own angle (a grid of
    # 5-degree steps in the pretraining's +-45), fitted on the gallery
    rng = np.random.default_rng(0)
    grid = np.arange(-45., 46., 5.)
    th_g = rng.choice(grid, len(gallery.samples))
    th_q = rng.choice(grid, len(query.samples))
    xg_rot, xq_rot = gallery.packed(th_g), query.packed(th_q)
    o_g = hand_orientation(gallery.view_keypoints())
    o_q = hand_orientation(query.view_keypoints())

    results = dict(args={k: v for k, v in vars(args).items()}, encoders={})
    neighbours = {}
    for name, ckpt in args.encoder:
        model = build_with_encoder(cfg.model, ckpt, prefix=None)
        p0 = projections(model, x0)
        rows = []
        for (theta, shift), x in x_t.items():
            p = projections(model, x)
            n = len(p)
            eq = latent_equivariance(
                p0, p, torch.full((n, ), theta, dtype=torch.float64),
                torch.tensor(shift, dtype=torch.float64).expand(n, 2))
            rows.append(
                dict(
                    theta=theta,
                    shift=list(shift),
                    **{
                        k: float(v.mean())
                        for k, v in eq.items()
                    }))
        fq, fg = pooled_features(model, x0), pooled_features(model, xg)
        ret = {}
        for aligned in (False, True):
            r = knn_pose_distance(
                fq, fg, query.xyz, gallery.xyz, k=args.k, aligned=aligned)
            ret['aligned' if aligned else 'root_relative'] = float(
                r['distance'].mean())
            neighbours[name] = r['index']
        readout = rotation_readout(
            pooled_features(model, xg_rot), th_g,
            pooled_features(model, xq_rot), th_q)
        # the hand's own orientation in its untransformed view, which a
        # rotation-invariant encoder cannot keep
        orientation = rotation_readout(fg, o_g, fq, o_q)
        results['encoders'][name] = dict(
            latent=rows,
            retrieval_mm=ret,
            rotation_readout=readout,
            orientation_readout=orientation)

    # references: k random gallery hands, and the k closest poses
    rng = np.random.default_rng(0)
    refs = {}
    for aligned in (False, True):
        d = np.stack([
            pose_distance(
                np.broadcast_to(q, gallery.xyz.shape), gallery.xyz, aligned)
            for q in query.xyz
        ])
        key = 'aligned' if aligned else 'root_relative'
        chance = np.take_along_axis(
            d, rng.integers(0, d.shape[1], size=(len(d), args.k)), axis=1)
        refs.setdefault('chance', {})[key] = float(chance.mean())
        refs.setdefault('oracle', {})[key] = float(
            np.sort(d, axis=1)[:, :args.k].mean())
    results['retrieval_references_mm'] = refs
    # how the hands lie in their images before any augmentation
    results['orientation'] = orientation_spread(gallery.keypoints())
    results['seconds'] = time.time() - t0
    atomic_write_json(
        osp.join(args.out, 'equivariance.json'), results, indent=1)
    text = _table(results, args)
    with open(osp.join(args.out, 'equivariance.md'), 'w') as f:
        f.write(text)
    _plot(results, args, osp.join(args.out, 'equivariance.png'))
    _retrieval_figure(query, gallery, neighbours,
                      osp.join(args.out, 'retrieval.jpg'))
    print(text)
    print(f'{time.time() - t0:.0f} s; results in {args.out}')
    return 0


def latent_means(latent: list, rotation: bool) -> dict:
    """Mean ``moved``, ``should`` and ``error`` of an encoder's latent rows
    (``equivariance.json``'s ``encoders.NAME.latent``) over the rotations
    (``rotation=True``) or over the shifts; ``error / should`` is the
    equivariance error as a fraction of an invariant latent's."""
    sel = [x for x in latent if (x['theta'] != 0) == rotation]
    return {
        k: float(np.mean([x[k] for x in sel]))
        for k in ('moved', 'should', 'error')
    }


def _table(results: dict, args) -> str:
    lines = [
        f'Latent movement of {args.num} evaluation hands (unit latents, '
        'Euclidean distance to the untransformed view\'s): `moved` = where '
        'it went, `should` = where PeCLR\'s geometry puts it, `error` = '
        'left after undoing the view\'s geometry (0: equivariant; equal '
        'to `should`: invariant). Mean over rotations '
        f'({", ".join(f"{a:g}" for a in args.angles)} degrees) and over '
        f'shifts ({", ".join(f"{s:g}" for s in args.shifts)} of the view, '
        'along x and y).', '',
        '| encoder | rotation: moved | should | error | error / should | '
        'shift: moved | should | error | error / should |',
        '|---|---|---|---|---|---|---|---|---|'
    ]
    for name, r in results['encoders'].items():
        cells = []
        for rot in (True, False):
            m = latent_means(r['latent'], rot)
            cells += [
                f'{m["moved"]:.3f}', f'{m["should"]:.3f}', f'{m["error"]:.3f}',
                f'{m["error"] / m["should"]:.2f}'
            ]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    refs = results['retrieval_references_mm']
    lines += [
        '', f'Pose retrieval from the frozen encoder\'s pooled features: '
        f'mean per-joint distance (mm) of the top-{args.k} of '
        f'{args.gallery} training hands to each of {args.num} evaluation '
        'hands (`chance`: random hands; `oracle`: the closest poses).', '',
        '| encoder | root-relative | Procrustes-aligned |', '|---|---|---|'
    ]
    for name, r in list(results['encoders'].items()) + [
        (k, dict(retrieval_mm=v)) for k, v in refs.items()
    ]:
        ret = r['retrieval_mm']
        lines.append(f'| {name} | {ret["root_relative"]:.1f} | '
                     f'{ret["aligned"]:.1f} |')
    o = results['orientation']
    lines += [
        '', 'Rotation read-out: ridge regression from the pooled frozen '
        f'features of the {args.gallery} training hands, each view turned '
        'by its own angle (5-degree grid in +-45), to the angle, scored on '
        f'the {args.num} evaluation hands turned alike (mean absolute '
        'error; `chance` answers the mean angle).', '',
        'Orientation read-out: the same from the untransformed views to the '
        'hand\'s own in-plane orientation (wrist -> middle MCP in the view), '
        'which a rotation-invariant encoder cannot keep.', '',
        '| encoder | rotation error (deg) | chance (deg) | orientation error '
        '(deg) | chance (deg) |', '|---|---|---|---|---|'
    ]
    for name, r in results['encoders'].items():
        ro, oo = r['rotation_readout'], r['orientation_readout']
        lines.append(f'| {name} | {ro["error_deg"]:.1f} | '
                     f'{ro["chance_deg"]:.1f} | {oo["error_deg"]:.1f} | '
                     f'{oo["chance_deg"]:.1f} |')
    lines += [
        '', 'The training hands\' own in-plane orientation (wrist -> middle '
        f'MCP in the source image): circular std {o["circular_std_deg"]:.1f}'
        f' degrees about {o["mean_deg"]:.0f}, 10-90 % of the deviations in '
        f'[{o["p10_deg"]:.0f}, {o["p90_deg"]:.0f}] degrees.'
    ]
    return '\n'.join(lines) + '\n'


def _plot(results: dict, args, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key in zip(axes, ('moved', 'error')):
        for i, (name, r) in enumerate(results['encoders'].items()):
            rot = [x for x in r['latent'] if x['theta'] != 0]
            ax.plot([x['theta'] for x in rot], [x[key] for x in rot],
                    marker='o',
                    label=name,
                    color=f'C{i}')
            if i == 0 or key == 'moved':
                ax.plot([x['theta'] for x in rot], [x['should'] for x in rot],
                        linestyle='--',
                        color=f'C{i}',
                        alpha=.6,
                        label=f'{name}: should move'
                        if key == 'moved' else 'invariant latent')
        ax.set_xlabel('rotation of the image (degrees)')
        ax.grid(alpha=.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel('latent distance to the unrotated view')
    axes[0].set_title('how far the latent moves')
    axes[1].set_ylabel('distance after undoing the rotation')
    axes[1].set_title('equivariance error (0 = equivariant)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _retrieval_figure(query,
                      gallery,
                      neighbours: dict,
                      path: str,
                      rows: int = 4) -> None:
    """Each row: a query, then its neighbours under each encoder."""
    import cv2
    q_imgs, g_imgs = query.images(), gallery.images()
    pick = np.linspace(0, len(q_imgs) - 1, rows).astype(int)
    size, gap = query.size, 4
    lines = []
    for i in pick:
        tiles = [q_imgs[i]]
        for name, idx in neighbours.items():
            tiles.append(np.full((size, gap, 3), 255, np.uint8))
            tiles += [g_imgs[j] for j in idx[i]]
        lines.append(np.concatenate(tiles, 1))
    img = np.concatenate(lines, 0)
    img = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    header = np.full((24, img.shape[1], 3), 255, np.uint8)
    x = 2 * size + 2 * gap
    for name, idx in neighbours.items():
        cv2.putText(header, name, (x + 4, 17), cv2.FONT_HERSHEY_SIMPLEX, .5,
                    (0, 0, 0), 1, cv2.LINE_AA)
        x += 2 * (size * idx.shape[1] + gap)
    cv2.putText(header, 'query', (4, 17), cv2.FONT_HERSHEY_SIMPLEX, .5,
                (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(path, np.concatenate([header, img], 0))


if __name__ == '__main__':
    sys.exit(main())
