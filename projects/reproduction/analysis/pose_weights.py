# Copyright (c) peclr_mm authors. All rights reserved.
"""What SiMHand's pose-distance weights do to the contrastive loss on real
mined pairs: the loss of three ideal latents, weighted and not, against the
batch size.

    python projects/reproduction/analysis/pose_weights.py \\
        --similar DATA/similar_hands_training_k8.npz --batch 32 128 512

For batches of mined pairs (each hand with a random one of its k
neighbours, as ``LoadSimilarHand`` draws them), the weights of
``peclr_mm.models.losses.pose_distance_weights`` and the NT-Xent of
``peclr_mm.models.losses.nt_xent`` for: ``orthogonal`` (every view
orthogonal to every other, the positives too), ``ideal`` (each positive
pair equal, all else orthogonal) and ``collapsed`` (every view the same
vector). Unweighted, a collapsed latent costs exactly what the orthogonal
one does (log(2N - 1)); a weighting under which it costs less rewards
collapse. Prints a table and, with ``--out``, writes it as json.
"""
import argparse
import sys

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--similar',
        required=True,
        help='the .npz of tools/mine_similar_hands.py')
    parser.add_argument('--batch', type=int, nargs='+', default=[32, 128])
    parser.add_argument('--temperature', type=float, default=0.2)
    parser.add_argument('--batches', type=int, default=20)
    parser.add_argument('--k', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='a json to write')
    return parser.parse_args(argv)


def latents(n: int) -> dict:
    """The three reference latents of a batch of ``n`` pairs."""
    import torch
    e = torch.eye(2 * n, dtype=torch.float64)
    same = torch.full((n, 2 * n), (2 * n)**-0.5, dtype=torch.float64)
    return dict(
        orthogonal=(e[:n], e[n:]),
        ideal=(e[:n], e[:n].clone()),
        collapsed=(same, same.clone()))


def measure(mined: dict, batch: int, temperature: float, batches: int, k: int,
            seed: int) -> dict:
    """Mean weights and losses over ``batches`` batches of mined pairs."""
    import torch

    from peclr_mm.datasets.similar_hands import pose_descriptor
    from peclr_mm.models.losses import nt_xent, pose_distance_weights
    desc = pose_descriptor(mined['poses'])
    k = min(k, mined['index'].shape[1])
    if batch > len(desc):
        raise ValueError(f'--batch {batch} exceeds the {len(desc)} mined '
                         'hands')
    rng = np.random.default_rng(seed)
    cases = latents(batch)
    out = {f'{w}/{c}': [] for w in ('weighted', 'unweighted') for c in cases}
    out.update(pos_weight=[], neg_weight=[])
    off = ~torch.eye(2 * batch, dtype=torch.bool)
    for _ in range(batches):
        i = rng.choice(len(desc), batch, replace=False)
        j = mined['index'][i, rng.integers(0, k, batch)]
        w_pos, w_neg = pose_distance_weights(
            torch.from_numpy(desc[i]), torch.from_numpy(desc[j]))
        out['pos_weight'].append(float(w_pos.mean()))
        out['neg_weight'].append(float(w_neg[off].mean()))
        for name, (a, b) in cases.items():
            out[f'weighted/{name}'].append(
                float(
                    nt_xent(
                        a,
                        b,
                        temperature,
                        pos_weights=w_pos,
                        neg_weights=w_neg)[0]))
            out[f'unweighted/{name}'].append(
                float(nt_xent(a, b, temperature)[0]))
    return {key: float(np.mean(v)) for key, v in out.items()}


def main(argv=None) -> int:
    args = parse_args(argv)
    from peclr_mm.datasets.similar_hands import load_similar_hands
    from peclr_mm.utils.io import atomic_write_json
    try:
        mined = load_similar_hands(args.similar)
    except (OSError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    if 'poses' not in mined:
        print(
            f'error: {args.similar}: no mined poses (mine again)',
            file=sys.stderr)
        return 2
    rows = {}
    for n in args.batch:
        try:
            rows[n] = measure(mined, n, args.temperature, args.batches, args.k,
                              args.seed)
        except ValueError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return 2
    lines = [
        f'NT-Xent (T = {args.temperature:g}) of reference latents on '
        f'batches of mined pairs from {args.similar} (mean of '
        f'{args.batches} batches); SiMHand\'s linear weights against none.',
        '', '| batch | mean positive weight | mean negative weight | '
        'weighted: orthogonal | ideal | collapsed | unweighted: orthogonal '
        '| ideal | collapsed |', '|---|---|---|---|---|---|---|---|---|'
    ]
    for n, r in rows.items():
        lines.append(
            f'| {n} | {r["pos_weight"]:.3f} | {r["neg_weight"]:.3f} | ' +
            ' | '.join(f'{r[f"{w}/{c}"]:.3f}'
                       for w in ('weighted', 'unweighted')
                       for c in ('orthogonal', 'ideal', 'collapsed')) + ' |')
    print('\n'.join(lines))
    if args.out:
        atomic_write_json(
            args.out,
            dict(args=vars(args), rows={
                str(n): r
                for n, r in rows.items()
            }),
            indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
