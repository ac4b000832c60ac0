# Copyright (c) peclr_mm authors. All rights reserved.
"""The paper-scale configs' data side at FreiHAND's real size, on this CPU.

    python tools/benchmarks/fullsize_dry_run.py \
        [--data data/freihand_fullsize] [--batches 20] \
        [--out docs/results/fullsize_dry_run] [--stages ...]

Stages (each one's result is kept in ``OUT.json`` and reused when the
script runs again, so a killed run resumes):

- ``data``: a synthetic FreiHAND set of the real size (32560 x 4 training
  images, 3960 evaluation images) by the project's generator; time and
  disk;
- one stage per paper-scale config: the data set indexed from its config
  (time to the first batch), ``--batches`` batches of its own batch size
  through its own pipeline with its configured workers (s/batch, samples/s),
  the peak resident memory of the main process and of each worker
  (``VmHWM``; shared pages count in each), and the size of a checkpoint of
  its model (weights and, for training, Adam-sized optimizer state);
- ``submission``: ``tools/test.py`` with the submission config over all
  3960 evaluation images (seeded weights), the ``pred.json`` / zip checked
  to hold 3960 predictions, and the wall time.

Model steps at the paper's batch sizes are not timed here: one ResNet-50
step of 128 pairs at 128 px takes minutes on two cores
(``tools/benchmarks/gpu_check.py`` measures them on a GPU).
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'pretrain peclr rn50':
    'configs/peclr/peclr_resnet50_1xb128-100e_'
    'freihand-128.py',
    'pretrain peclr rn152':
    'configs/peclr/peclr_resnet152_1xb128-100e_'
    'freihand-128.py',
    'pretrain simclr rn50':
    'configs/simclr/simclr_resnet50_1xb128-100e_'
    'freihand-128.py',
    'finetune peclr-init rn50':
    'configs/hand25d/hand25d_resnet50-peclr_'
    '1xb64-100e_freihand-128.py',
    'finetune random-init rn50':
    'configs/hand25d/hand25d_resnet50_1xb64-'
    '100e_freihand-128.py',
    'probe rn50':
    'configs/hand25d/hand25d_resnet50-peclr-probe_1xb64-100e_'
    'freihand-128.py',
}
SUBMISSION = ('configs/hand25d/hand25d_resnet50-peclr_1xb64-100e_'
              'freihand-128_submission.py')
NUM_TRAIN, NUM_EVAL, VERSIONS = 32560, 3960, 4


def _vm_hwm_mib(pid: int) -> Optional[float]:
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _du_gib(path: str) -> float:
    total = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            total += osp.getsize(osp.join(dirpath, n))
    return total / 2**30


def stage_data(data: str, sizes: Dict) -> Dict:
    from peclr_mm.datasets.synthetic import generate_freihand
    t0 = time.time()
    generated = not osp.isfile(osp.join(data, 'evaluation_xyz.json'))
    if generated:
        generate_freihand(
            data,
            num_train=sizes['train'],
            num_eval=sizes['eval'],
            versions=sizes['versions'],
            seed=0,
            workers=2)
    return dict(
        seconds=time.time() - t0 if generated else None,
        disk_gib=_du_gib(data),
        training_images=sizes['train'] * sizes['versions'],
        evaluation_images=sizes['eval'])


def stage_config(path: str,
                 data: str,
                 batches: int,
                 batch_size: Optional[int] = None,
                 workers: Optional[int] = None) -> Dict:
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    cfg = Config.fromfile(osp.join(ROOT, path))
    dl = cfg.train_dataloader
    dl.dataset.data_root = data
    if batch_size:
        dl.batch_size = batch_size
    if workers is not None:
        dl.num_workers = workers
        dl.persistent_workers = workers > 0
    if 'init_cfg' in cfg.model.get('backbone', {}):
        cfg.model.backbone.init_cfg = None
    t0 = time.time()
    loader = Runner.build_dataloader(dl)
    indexed = time.time() - t0
    num_samples = len(loader.dataset)
    it = iter(loader)
    next(it)
    first = time.time() - t0
    start = time.time()
    for _ in range(batches):
        next(it)
    per_batch = (time.time() - start) / batches
    workers = [w.pid for w in getattr(it, '_workers', [])]
    worker_mib = [_vm_hwm_mib(p) for p in workers]
    main_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del it, loader
    model = MODELS.build(cfg.model)
    params = sum(p.numel() for p in model.parameters())
    with tempfile.TemporaryDirectory() as tmp:
        f = osp.join(tmp, 'ckpt.pth')
        torch.save({'state_dict': model.state_dict()}, f)
        weights_mib = osp.getsize(f) / 2**20
    return dict(
        config=path,
        batch_size=dl.batch_size,
        num_workers=dl.num_workers,
        dataset_len=num_samples,
        index_s=indexed,
        first_batch_s=first,
        data_s_per_batch=per_batch,
        samples_per_s=dl.batch_size / per_batch,
        peak_rss_main_mib=main_mib,
        peak_rss_workers_mib=worker_mib,
        params_m=params / 1e6,
        checkpoint_weights_mib=weights_mib,
        # Adam keeps two moments per parameter: about 3x the weights
        checkpoint_with_adam_mib_estimate=3 * weights_mib)


def stage_submission(data: str, work: str, num_eval: int) -> Dict:
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    cfg = Config.fromfile(osp.join(ROOT, SUBMISSION))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(work, exist_ok=True)
    ckpt = osp.join(work, 'seeded_rn50.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    prefix = osp.join(work, 'fullsize')
    t0 = time.time()
    res = subprocess.run([
        sys.executable, 'tools/test.py', SUBMISSION, ckpt, '--work-dir',
        osp.join(work, 'test'), '--cfg-options',
        f'test_dataloader.dataset.data_root={data}',
        f'test_evaluator.outfile_prefix={prefix}',
        f'test_evaluator.submission_size={num_eval}'
    ],
                         cwd=ROOT,
                         capture_output=True,
                         text=True)
    seconds = time.time() - t0
    if res.returncode:
        raise RuntimeError(res.stderr[-3000:])
    with open(prefix + '.pred.json') as f:
        xyz, verts = json.load(f)
    return dict(
        seconds=seconds,
        predictions=len(xyz),
        vertices=len(verts),
        zip_mib=osp.getsize(prefix + '.pred.zip') / 2**20)


def markdown(result: Dict) -> str:
    d = result.get('data', {})
    lines = [
        '# The paper-scale configs at FreiHAND\'s size (data side, 2-core '
        'CPU)', '',
        '`python tools/benchmarks/fullsize_dry_run.py`: a synthetic set of '
        f'{d.get("training_images")} training and '
        f'{d.get("evaluation_images")} evaluation images '
        f'({d.get("disk_gib", 0):.2f} GiB' +
        (f', written in {d["seconds"]:.0f} s' if d.get('seconds') else '') +
        ').', '',
        '| config | batch | workers | index (s) | first batch (s) | data '
        's/batch | samples/s | peak RSS main / each worker (MiB) | params '
        '(M) | weights (MiB) |', '| --- ' * 10 + '|'
    ]
    for name in CONFIGS:
        r = result.get(name)
        if not r:
            lines.append(f'| {name} | not run | | | | | | | | |')
            continue
        wk = '/'.join(f'{m:.0f}' for m in r['peak_rss_workers_mib'] if m)
        lines.append(
            f'| {name} | {r["batch_size"]} | {r["num_workers"]} | '
            f'{r["index_s"]:.2f} | {r["first_batch_s"]:.1f} | '
            f'{r["data_s_per_batch"]:.2f} | {r["samples_per_s"]:.0f} | '
            f'{r["peak_rss_main_mib"]:.0f} / {wk or "-"} | '
            f'{r["params_m"]:.1f} | {r["checkpoint_weights_mib"]:.0f} |')
    s = result.get('submission')
    lines.append('')
    if s:
        lines.append(
            f'Submission config over all {s["predictions"]} evaluation images '
            f'(seeded ResNet-50 at 128 px, `tools/test.py`): '
            f'{s["seconds"]:.0f} s, pred.json with {s["predictions"]} joints '
            f'and {s["vertices"]} meshes, zip {s["zip_mib"]:.1f} MiB.')
    else:
        lines.append('Submission over the full evaluation split: not run.')
    lines += [
        '', 'Not measured here: model steps at the paper\'s batch sizes '
        '(minutes per step on two cores; `tools/benchmarks/gpu_check.py` '
        'on a GPU), and the FreiHAND + YouTube3DHands mix (no '
        'YouTube3DHands-layout writer yet).'
    ]
    return '\n'.join(lines) + '\n'


def main(argv: Optional[List[str]] = None) -> int:
    sys.path.insert(0, ROOT)
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default='data/freihand_fullsize')
    parser.add_argument('--batches', type=int, default=20)
    parser.add_argument('--out', default='docs/results/fullsize_dry_run')
    parser.add_argument('--work-dir', default='work_dirs/fullsize_dry_run')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='a 16-image set, batch 4, no workers (the smoke test)')
    parser.add_argument(
        '--stages',
        nargs='+',
        default=['data', *CONFIGS, 'submission'],
        help='which stages to run (finished ones are reused)')
    args = parser.parse_args(argv)
    sizes = dict(train=NUM_TRAIN, eval=NUM_EVAL, versions=VERSIONS)
    batch_size = workers = None
    if args.quick:
        sizes = dict(train=16, eval=4, versions=1)
        batch_size, workers, args.batches = 4, 0, 1
    import peclr_mm  # noqa: F401
    from peclr_mm.utils.io import atomic_write, atomic_write_json
    data = osp.abspath(args.data)
    result = {}
    if osp.isfile(args.out + '.json'):
        with open(args.out + '.json') as f:
            result = json.load(f)
    for stage in args.stages:
        if stage in result:
            print(f'{stage}: reused')
            continue
        print(f'{stage} ...', flush=True)
        if stage == 'data':
            result[stage] = stage_data(data, sizes)
        elif stage == 'submission':
            result[stage] = stage_submission(data, args.work_dir,
                                             sizes['eval'])
        else:
            result[stage] = stage_config(CONFIGS[stage], data, args.batches,
                                         batch_size, workers)
        atomic_write_json(args.out + '.json', result, indent=1)
        print(json.dumps(result[stage], indent=1), flush=True)
    text = markdown(result)
    atomic_write(args.out + '.md', lambda n: open(n, 'w').write(text))
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
