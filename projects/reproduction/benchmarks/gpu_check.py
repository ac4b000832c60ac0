# Copyright (c) peclr_mm authors. All rights reserved.
"""One command for a lent GPU: the paper-scale configs' throughput, their
data loader, model FLOP utilisation and peak memory.

    python projects/reproduction/benchmarks/gpu_check.py \
        [--out docs/results/gpu_check] [--iters 20] [--workers 16] \
        [--peak-tflops 790]
    python projects/reproduction/benchmarks/gpu_check.py --quick \
        --device cpu   # the CI test

Measured, in one run (sized for about 8 minutes on one H200 with 16 cores):

1. PeCLR ResNet-50 pretraining at 128 px
   (``configs/peclr/peclr_resnet50_1xb128-100e_freihand-128.py``, its batch
   of 128): images/s of a whole training step (preprocessor, forward,
   loss, backward, optimizer) under autocast in bfloat16 and float16 (with
   a gradient scaler), channels-last on and off;
2. ResNet-50 fine-tuning (``configs/hand25d/hand25d_resnet50-peclr_1xb64-
   100e_freihand-128.py``, batch 64), bfloat16;
3. whether the data loader keeps up: samples/s the pretraining loader
   delivers with ``--workers`` workers from a synthetic FreiHAND-layout set
   against the samples/s the step consumes;
4. model FLOP utilisation: FLOPs of one step counted by
   ``torch.utils.flop_counter.FlopCounterMode`` (forward and backward, not
   estimated by hand) over the step time, against ``--peak-tflops`` (the
   H200's dense bfloat16 peak, 790 TFLOP/s);
5. peak GPU memory of each step (``torch.cuda.max_memory_allocated``).

Writes ``OUT.json`` and ``OUT.md``. Nothing else in the project depends on
it; a test runs ``--quick --device cpu`` so that it cannot rot.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Dict, List, Optional

import torch

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
PRETRAIN = 'configs/peclr/peclr_resnet50_1xb128-100e_freihand-128.py'
FINETUNE = 'configs/hand25d/hand25d_resnet50-peclr_1xb64-100e_freihand-128.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--workers', type=int, default=16)
    parser.add_argument('--loader-batches', type=int, default=30)
    parser.add_argument('--peak-tflops', type=float, default=790.)
    parser.add_argument('--num-images', type=int, default=4096)
    parser.add_argument('--out', default='docs/results/gpu_check')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='2 iterations, batch 2, 64 px, 2 workers (the CPU test)')
    args = parser.parse_args(argv)
    if args.quick:
        args.iters, args.warmup, args.workers = 2, 0, 2
        args.loader_batches, args.num_images = 2, 16
    return args


def _config(path: str, data_root: str, quick: bool):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, path))
    from peclr_mm.utils.config import set_data_root, set_input_size
    dl = cfg.train_dataloader
    set_data_root(cfg, data_root)
    if quick:
        dl.batch_size = 2
        set_input_size(cfg, 64)
    if 'init_cfg' in cfg.model.get('backbone', {}):
        cfg.model.backbone.init_cfg = None
    return cfg


def _loader(cfg, workers: int):
    from mmengine.runner import Runner
    dl = copy.deepcopy(cfg.train_dataloader)
    dl.num_workers = workers
    dl.persistent_workers = workers > 0
    return Runner.build_dataloader(dl)


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def time_steps(model,
               batch,
               device: str,
               dtype: torch.dtype,
               channels_last: bool,
               iters: int,
               warmup: int,
               count_flops: bool = False) -> Dict:
    """Seconds per training step on one fixed batch, the step's FLOPs (when
    asked) and the peak memory."""
    model = model.to(device).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    scaler = torch.amp.GradScaler(
        device.split(':')[0], enabled=dtype == torch.float16)
    dev_type = device.split(':')[0]

    def step():
        data = model.data_preprocessor(batch, True)
        inputs = data['inputs']
        if channels_last:
            inputs = [x.contiguous(memory_format=torch.channels_last)
                      for x in inputs] if isinstance(inputs, list) else \
                inputs.contiguous(memory_format=torch.channels_last)
        with torch.autocast(dev_type, dtype=dtype):
            losses = model(inputs, data['data_samples'], mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    for _ in range(warmup):
        step()
    flops = None
    if count_flops:
        from torch.utils.flop_counter import FlopCounterMode
        counter = FlopCounterMode(display=False)
        with counter:
            step()
        flops = int(counter.get_total_flops())
    if dev_type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    _sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        step()
    _sync(device)
    seconds = (time.perf_counter() - start) / iters
    peak = (
        torch.cuda.max_memory_allocated() /
        2**30 if dev_type == 'cuda' else None)
    return dict(step_s=seconds, flops=flops, peak_gib=peak)


def loader_rate(loader, batches: int) -> float:
    """Samples per second the loader delivers (after its first batch)."""
    it = iter(loader)
    first = next(it)
    n = len(first['inputs'][0]) if isinstance(first['inputs'], list) else len(
        first['inputs'])
    start = time.perf_counter()
    got = 0
    for _ in range(batches):
        try:
            next(it)
        except StopIteration:
            it = iter(loader)
            next(it)
        got += n
    return got / (time.perf_counter() - start)


def run(args) -> Dict:
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import peclr_mm  # noqa: F401
    from peclr_synthetic import generate_freihand
    init_default_scope('mmpose')
    torch.manual_seed(0)
    result = dict(
        device=args.device,
        device_name=(torch.cuda.get_device_name(0)
                     if args.device.startswith('cuda') else 'cpu'),
        torch=torch.__version__,
        peak_tflops=args.peak_tflops,
        quick=args.quick,
        iters=args.iters,
        rows=[])
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        root = osp.join(tmp, 'fh')
        generate_freihand(
            root,
            num_train=args.num_images,
            num_eval=4,
            versions=1,
            seed=0,
            workers=min(args.workers,
                        os.cpu_count() or 1))
        result['data_s'] = time.time() - t0
        dtypes = [('bf16', torch.bfloat16), ('fp16', torch.float16)]
        for name, path, combos in (('pretrain PeCLR RN50', PRETRAIN, [
            (d, cl) for d in dtypes for cl in (True, False)
        ]), ('finetune Hand25D RN50', FINETUNE, [(dtypes[0], True)])):
            cfg = _config(path, root, args.quick)
            loader = _loader(cfg, args.workers)
            batch = next(iter(loader))
            bs = cfg.train_dataloader.batch_size
            for (dname, dtype), cl in combos:
                row = dict(run=name, dtype=dname, channels_last=cl, batch=bs)
                model = MODELS.build(cfg.model)
                model.init_weights()
                try:
                    t = time_steps(
                        model,
                        batch,
                        args.device,
                        dtype,
                        cl,
                        args.iters,
                        args.warmup,
                        count_flops=(dname == 'bf16'))
                except RuntimeError as exc:  # e.g. fp16 kernels on CPU
                    row['error'] = str(exc).splitlines()[0][:200]
                    result['rows'].append(row)
                    continue
                row['images_s'] = bs / t['step_s']
                row['step_ms'] = t['step_s'] * 1000
                row['peak_gib'] = t['peak_gib']
                if t['flops']:
                    row['tflop_per_step'] = t['flops'] / 1e12
                    row['mfu'] = t['flops'] / t['step_s'] / (
                        args.peak_tflops * 1e12)
                result['rows'].append(row)
                del model
            if name.startswith('pretrain'):
                consumed = max(
                    r.get('images_s', 0.) for r in result['rows']
                    if r['run'] == name)
                delivered = loader_rate(loader, args.loader_batches)
                result['loader'] = dict(
                    workers=args.workers,
                    delivered_samples_s=delivered,
                    consumed_samples_s=consumed,
                    keeps_up=delivered >= consumed)
    result['wall_s'] = time.time() - t0
    return result


def markdown(result: Dict) -> str:
    lines = [
        f'# GPU check on {result["device_name"]}', '',
        '`python projects/reproduction/benchmarks/gpu_check.py`, '
        f'torch {result["torch"]}, '
        f'{result["iters"]} timed steps per row; MFU against '
        f'{result["peak_tflops"]:g} TFLOP/s (FLOPs counted by '
        'torch.utils.flop_counter). Wall time '
        f'{result["wall_s"]:.0f} s.', '',
        '| run | dtype | channels-last | batch | images/s | step (ms) | '
        'TFLOP/step | MFU | peak GiB |', '| --- ' * 9 + '|'
    ]

    def f(v, fmt):
        return '–' if v is None else format(v, fmt)

    for r in result['rows']:
        if 'error' in r:
            lines.append(f'| {r["run"]} | {r["dtype"]} | {r["channels_last"]}'
                         f' | {r["batch"]} | failed: {r["error"]} | | | | |')
            continue
        lines.append(
            f'| {r["run"]} | {r["dtype"]} | {r["channels_last"]} | '
            f'{r["batch"]} | {r["images_s"]:.1f} | {r["step_ms"]:.1f} | '
            f'{f(r.get("tflop_per_step"), ".3f")} | '
            f'{f(r.get("mfu"), ".3f")} | {f(r.get("peak_gib"), ".2f")} |')
    ld = result.get('loader')
    if ld:
        lines += [
            '', f'Data loader, {ld["workers"]} workers: delivers '
            f'{ld["delivered_samples_s"]:.0f} samples/s, the fastest step '
            f'consumes {ld["consumed_samples_s"]:.0f}: '
            f'{"keeps up" if ld["keeps_up"] else "does NOT keep up"}.'
        ]
    return '\n'.join(lines) + '\n'


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    result = run(args)
    from peclr_mm.utils.io import atomic_write, atomic_write_json
    atomic_write_json(args.out + '.json', result, indent=1)
    text = markdown(result)
    atomic_write(args.out + '.md', lambda n: open(n, 'w').write(text))
    print(json.dumps(result, indent=1))
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
