# Copyright (c) peclr_mm authors. All rights reserved.
"""The paper-scale configs at FreiHAND's real size, on this CPU.

    python projects/reproduction/benchmarks/fullsize_dry_run.py \
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
  to hold 3960 predictions, and the wall time;
- ``youtube3d``: a synthetic YouTube3DHands set of the official training
  split's size (47125 frames, one hand each) by the same generator; time,
  disk, and the reader's first (json condensed) and cached indexing;
- ``mix ratio``: the FreiHAND + YouTube3DHands config's sampler, the share
  of each source over ``--batches`` batches;
- ``train NAME``: ``tools/train.py`` on the config at its own batch size
  and workers, iteration-based for ``--iters`` iterations (fine-tuning;
  ``--pretrain-iters`` for pretraining): killed-and-resumed at half way
  (one run saves ``iter_K.pth`` with ``max_keep_ckpts=1``, a second run
  ``--resume``-s it to the end), with s/iteration and data s/iteration from
  mmengine's json log, time from the process start to the first iteration,
  the peak memory of main + workers (summed proportional set size, sampled
  every 0.5 s) and the checkpoint's size. Fine-tuning from PeCLR and the
  probe start from the ``train pretrain peclr rn50`` checkpoint.
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
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
MIX = ('configs/peclr/peclr_resnet50_1xb128-100e_'
       'freihand-youtube3d-128.py')
TRAIN = dict(CONFIGS, **{'pretrain peclr rn50 freihand+yt3d': MIX})
NUM_TRAIN, NUM_EVAL, VERSIONS = 32560, 3960, 4
YT3D_HANDS = 47125  # the official training split


def _proc_mib(pid: int, name: str, field: str) -> Optional[float]:
    """Field ``field`` (kB) of ``/proc/PID/NAME`` in MiB; None if gone."""
    try:
        with open(f'/proc/{pid}/{name}') as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _vm_hwm_mib(pid: int) -> Optional[float]:
    return _proc_mib(pid, 'status', 'VmHWM:')


def _du_gib(path: str) -> float:
    total = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            total += osp.getsize(osp.join(dirpath, n))
    return total / 2**30


def _stage_cfg(path: str, data: str, yt3d: Optional[str], cache: Optional[str],
               batch_size: Optional[int], workers: Optional[int]):
    """The config at ``path`` on the dry run's data, with the quick run's
    batch size and workers where given."""
    from mmengine.config import Config

    from peclr_mm.utils.config import set_data_root
    cfg = Config.fromfile(osp.join(ROOT, path))
    set_data_root(cfg, data, yt3d, cache)
    dl = cfg.train_dataloader
    if batch_size:
        dl.batch_size = batch_size
    if workers is not None:
        dl.num_workers = workers
        dl.persistent_workers = workers > 0
    return cfg


def stage_data(data: str, sizes: Dict) -> Dict:
    from peclr_synthetic import generate_freihand
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
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmpose.registry import MODELS

    init_default_scope('mmpose')
    cfg = _stage_cfg(path, data, None, None, batch_size, workers)
    dl = cfg.train_dataloader
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


def stage_youtube3d(yt3d: str, cache: str, num_hands: int) -> Dict:
    from peclr_synthetic import generate_youtube3d
    generated = not osp.isdir(yt3d)
    res = generate_youtube3d(yt3d, num_hands, workers=2) if generated \
        else {}
    index = []
    for _ in ('first', 'cached'):
        out = subprocess.run(
            [sys.executable, __file__, '--index-youtube3d', yt3d, cache],
            cwd=ROOT,
            capture_output=True,
            text=True)
        if out.returncode:
            raise RuntimeError(out.stderr[-3000:])
        index.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return dict(
        seconds=res.get('seconds'),
        hands=num_hands,
        disk_gib=_du_gib(yt3d),
        json_mib=osp.getsize(osp.join(yt3d, 'youtube_train.json')) / 2**20,
        index_first_s=index[0]['seconds'],
        index_first_peak_rss_mib=index[0]['peak_rss_mib'],
        index_cached_s=index[1]['seconds'],
        index_cached_peak_rss_mib=index[1]['peak_rss_mib'],
        dataset_len=index[1]['len'])


def _index_youtube3d(yt3d: str, cache: str) -> None:
    """One indexing of the YouTube3DHands set (run in its own process, so
    its peak memory is its own); prints a json line."""
    from mmengine.registry import init_default_scope

    from peclr_mm.datasets import YouTube3DHandsDataset
    init_default_scope('mmpose')
    t0 = time.time()
    ds = YouTube3DHandsDataset(
        data_root=yt3d,
        ann_file='youtube_train.json',
        cache_dir=cache,
        pipeline=[])
    print(
        json.dumps(
            dict(
                seconds=time.time() - t0,
                len=len(ds),
                peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                / 1024)))


def stage_mix_ratio(data: str, yt3d: str, cache: str, batches: int) -> Dict:
    import numpy as np
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATA_SAMPLERS, DATASETS

    from peclr_mm.utils.config import set_data_root
    init_default_scope('mmpose')
    cfg = Config.fromfile(osp.join(ROOT, MIX))
    set_data_root(cfg, data, yt3d, cache)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    sampler = DATA_SAMPLERS.build(
        cfg.train_dataloader.sampler,
        default_args=dict(dataset=dataset, seed=0))
    n = batches * cfg.train_dataloader.batch_size
    drawn: List[int] = []
    epoch = 0
    while len(drawn) < n:  # as many epochs as the batches need
        sampler.set_epoch(epoch)
        drawn += list(sampler)[:n - len(drawn)]
        epoch += 1
    idx = np.array(drawn)
    source = np.searchsorted(dataset.cumulative_sizes, idx, side='right')
    sizes = np.diff([0] + list(dataset.cumulative_sizes))
    return dict(
        config=MIX,
        samples=int(n),
        source_sizes=[int(x) for x in sizes],
        share=[float(np.mean(source == i)) for i in range(len(sizes))])


class _Monitor(threading.Thread):
    """Samples a process tree every 0.5 s: the peak of its summed
    proportional set size (shared pages split between the processes that
    map them), the most processes seen, and when a new run folder under
    ``work`` (not in ``known``) first holds a logged iteration."""

    def __init__(self, pid: int, work: str, known: set):
        super().__init__(daemon=True)
        self.pid, self.work, self.known = pid, work, known
        self.start_time = time.time()
        self.peak_pss_mib, self.max_procs = 0.0, 0
        self.first_seen_s: Optional[float] = None
        self.stopped = threading.Event()

    @staticmethod
    def _tree(pid: int) -> List[int]:
        pids, todo = [], [pid]
        while todo:
            p = todo.pop()
            pids.append(p)
            try:
                for tid in os.listdir(f'/proc/{p}/task'):
                    with open(f'/proc/{p}/task/{tid}/children') as f:
                        todo += [int(c) for c in f.read().split()]
            except OSError:
                continue
        return pids

    @staticmethod
    def _pss_mib(pid: int) -> float:
        return _proc_mib(pid, 'smaps_rollup', 'Pss:') or 0.0

    def _logged(self) -> bool:
        try:
            new = set(os.listdir(self.work)) - self.known
        except OSError:
            return False
        for d in new:
            path = osp.join(self.work, d, 'vis_data', 'scalars.json')
            if osp.isfile(path) and osp.getsize(path):
                return True
        return False

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            pids = self._tree(self.pid)
            self.max_procs = max(self.max_procs, len(pids))
            self.peak_pss_mib = max(self.peak_pss_mib,
                                    sum(self._pss_mib(p) for p in pids))
            if self.first_seen_s is None and self._logged():
                self.first_seen_s = time.time() - self.start_time


def _train_run(config: str, work: str, extra: List[str], log: str) -> Dict:
    """One ``tools/train.py`` process, monitored."""
    known = set(os.listdir(work))
    with open(log, 'a') as f:
        proc = subprocess.Popen(
            [sys.executable, 'tools/train.py', config, '--work-dir', work] +
            extra,
            cwd=ROOT,
            stdout=f,
            stderr=subprocess.STDOUT)
        mon = _Monitor(proc.pid, work, known)
        mon.start()
        rc = proc.wait()
        mon.stopped.set()
        mon.join()
    if rc:
        with open(log) as f:
            raise RuntimeError(f'tools/train.py {config} failed (rc {rc}); '
                               f'log {log}:\n{f.read()[-3000:]}')
    new = sorted(set(os.listdir(work)) - known - {'last_checkpoint'})
    scalars = []
    for d in new:
        path = osp.join(work, d, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            with open(path) as f:
                scalars += [json.loads(line) for line in f if line.strip()]
    train = [r for r in scalars if 'iter' in r and 'time' in r]
    return dict(
        wall_s=time.time() - mon.start_time,
        first_iter_s=mon.first_seen_s,
        peak_pss_mib=mon.peak_pss_mib,
        processes=mon.max_procs,
        iters=[int(r['iter']) for r in train],
        time=[float(r['time']) for r in train],
        data_time=[float(r['data_time']) for r in train])


def stage_train(name: str,
                data: str,
                yt3d: str,
                cache: str,
                work: str,
                iters: int,
                init_ckpt: Optional[str] = None,
                batch_size: Optional[int] = None,
                workers: Optional[int] = None) -> Dict:
    """``train NAME``: see the module docstring."""
    import statistics

    from peclr_mm.utils.config import set_iteration_loop
    path = TRAIN[name]
    cfg = _stage_cfg(path, data, yt3d, cache, batch_size, workers)
    dl = cfg.train_dataloader
    save_at = max(1, iters // 2)
    # no validation (the submission stage scores the split)
    set_iteration_loop(cfg, iters, save_at, 1)
    backbone = cfg.model.get('backbone', {})
    if 'init_cfg' in backbone:
        backbone.init_cfg = None if init_ckpt is None else dict(
            type='Pretrained', checkpoint=init_ckpt, prefix='backbone.')
    run_dir = osp.join(work, name.replace(' ', '_').replace('+', '_'))
    if osp.isdir(run_dir):
        raise FileExistsError(
            f'{run_dir} holds an unfinished run of this stage; move it '
            'away to rerun the stage')
    os.makedirs(run_dir)
    # outside the run's folder: mmengine writes its merged config (with the
    # first run's max_iters) under the config's name into the work dir
    os.makedirs(osp.join(work, 'configs'), exist_ok=True)
    config = osp.join(work, 'configs', osp.basename(run_dir) + '.py')
    cfg.dump(config)
    log = osp.join(run_dir, 'dry_run.log')
    first = _train_run(config, run_dir,
                       ['--cfg-options', f'train_cfg.max_iters={save_at}'],
                       log)
    second = _train_run(config, run_dir, ['--resume'], log)
    with open(osp.join(run_dir, 'last_checkpoint')) as f:
        last = f.read().strip()
    steady = first['time'][1:] + second['time'][1:]
    data_steady = first['data_time'][1:] + second['data_time'][1:]
    return dict(
        config=path,
        batch_size=dl.batch_size,
        num_workers=dl.num_workers,
        iters=iters,
        init=init_ckpt,
        first_run_iters=first['iters'],
        resumed_run_iters=second['iters'],
        first_iter_s=first['first_iter_s'],
        resume_first_iter_s=second['first_iter_s'],
        s_per_iter=statistics.median(steady or first['time']),
        data_s_per_iter=statistics.median(data_steady or first['data_time']),
        peak_pss_mib=max(first['peak_pss_mib'], second['peak_pss_mib']),
        processes=max(first['processes'], second['processes']),
        checkpoint=last,
        checkpoint_mib=osp.getsize(last) / 2**20,
        wall_s=first['wall_s'] + second['wall_s'])


def markdown(result: Dict) -> str:
    d = result.get('data', {})
    lines = [
        '# The paper-scale configs at FreiHAND\'s size (2-core CPU, '
        'float32)', '',
        '`python projects/reproduction/benchmarks/fullsize_dry_run.py`: '
        'a synthetic set of '
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
    y = result.get('youtube3d')
    if y:
        lines += [
            '', f'YouTube3DHands layout: {y["hands"]} frames (one hand each, '
            f'{y["disk_gib"]:.2f} GiB, json {y["json_mib"]:.0f} MiB' +
            (f', written in {y["seconds"]:.0f} s' if y.get('seconds') else '')
            + f'); the reader indexes it in {y["index_first_s"]:.1f} s the '
            f'first time (json streamed and condensed, peak RSS '
            f'{y["index_first_peak_rss_mib"]:.0f} MiB) and in '
            f'{y["index_cached_s"]:.1f} s from its cache (peak RSS '
            f'{y["index_cached_peak_rss_mib"]:.0f} MiB).'
        ]
    before = result.get('youtube3d json.load (before)')
    if before:
        lines += [
            '', 'Found and fixed: the reader first parsed the whole json '
            f'(`json.load`): {before["index_first_s"]:.0f} s and a peak RSS '
            f'of {before["index_first_peak_rss_mib"] / 1024:.1f} GiB for the '
            f'{before["json_mib"]:.0f} MiB file; it now streams it hand by '
            'hand (`peclr_mm.utils.io.iter_json_object`).'
        ]
    m = result.get('mix ratio')
    if m:
        lines += [
            '', f'FreiHAND + YouTube3DHands mix ({m["source_sizes"][0]} + '
            f'{m["source_sizes"][1]} samples): over {m["samples"]} sampled '
            f'indices the balanced sampler drew {100 * m["share"][0]:.1f} % '
            f'FreiHAND and {100 * m["share"][1]:.1f} % YouTube3DHands.'
        ]
    lines += [
        '', '## Training at full size: `tools/train.py`, killed and resumed',
        '', 'Each config at its own batch size and workers, iteration-based; '
        'a first run saves `iter_K.pth` half way (`max_keep_ckpts=1`), a '
        'second `--resume`-s it to the end. s/iter and data s/iter: medians '
        'from mmengine\'s log (first iteration of each run left out). '
        'Memory: the peak of main + workers\' summed proportional set size. '
        'Fine-tuning runs `--iters` (20) iterations; pretraining, whose step '
        'of 128 pairs takes about a minute (ResNet-50) on two cores in '
        'float32, `--pretrain-iters` (6; ResNet-152: 4, run as '
        '`--stages "train pretrain peclr rn152" --pretrain-iters 4`). '
        'Validation is off in these runs (the submission stage times the '
        'evaluation split); the PeCLR-init fine-tuning and the probe start '
        'from the ResNet-50 pretraining run\'s checkpoint.', '',
        '| config | batch | workers | iterations (first run / resumed) '
        '| to 1st iter (s) | after resume (s) | s/iter | data s/iter | peak '
        'memory (GiB) | checkpoint (MiB) |', '| --- ' * 10 + '|'
    ]
    for name in TRAIN:
        r = result.get(f'train {name}')
        if not r:
            lines.append(f'| {name} | not run | | | | | | | | |')
            continue
        span = (f'{r["first_run_iters"][0]}-{r["first_run_iters"][-1]} / '
                f'{r["resumed_run_iters"][0]}-{r["resumed_run_iters"][-1]}')
        lines.append(
            f'| {name} | {r["batch_size"]} | {r["num_workers"]} | {span} | '
            f'{r["first_iter_s"] or 0:.0f} | '
            f'{r["resume_first_iter_s"] or 0:.0f} | {r["s_per_iter"]:.1f} | '
            f'{r["data_s_per_iter"]:.2f} | {r["peak_pss_mib"] / 1024:.1f} | '
            f'{r["checkpoint_mib"]:.0f} |')
    return '\n'.join(lines) + '\n'


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default='data/freihand_fullsize')
    parser.add_argument('--batches', type=int, default=20)
    parser.add_argument('--youtube3d', default='data/youtube3dhands_fullsize')
    parser.add_argument(
        '--iters',
        type=int,
        default=20,
        help='iterations of each fine-tuning training stage')
    parser.add_argument(
        '--pretrain-iters',
        type=int,
        default=6,
        help='iterations of each pretraining stage (tens of seconds each '
        'on two cores)')
    parser.add_argument('--index-youtube3d', nargs=2, help=argparse.SUPPRESS)
    parser.add_argument('--out', default='docs/results/fullsize_dry_run')
    parser.add_argument('--work-dir', default='work_dirs/fullsize_dry_run')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='a 16-image set, batch 4, no workers (the smoke test)')
    parser.add_argument(
        '--stages',
        nargs='+',
        default=[
            'data', *CONFIGS, 'submission', 'youtube3d', 'mix ratio',
            *(f'train {n}' for n in TRAIN)
        ],
        help='which stages to run (finished ones are reused)')
    args = parser.parse_args(argv)
    import peclr_mm  # noqa: F401
    if args.index_youtube3d:
        _index_youtube3d(*args.index_youtube3d)
        return 0
    sizes = dict(
        train=NUM_TRAIN, eval=NUM_EVAL, versions=VERSIONS, hands=YT3D_HANDS)
    batch_size = workers = None
    if args.quick:
        sizes = dict(train=16, eval=4, versions=1, hands=8)
        batch_size, workers, args.batches = 4, 0, 1
        args.iters = args.pretrain_iters = 2
    from peclr_mm.utils.io import atomic_write, atomic_write_json
    data = osp.abspath(args.data)
    yt3d = osp.abspath(args.youtube3d)
    cache = osp.join(osp.abspath(args.work_dir), 'youtube3d_cache')
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
        elif stage == 'youtube3d':
            result[stage] = stage_youtube3d(yt3d, cache, sizes['hands'])
        elif stage == 'mix ratio':
            result[stage] = stage_mix_ratio(data, yt3d, cache, args.batches)
        elif stage.startswith('train '):
            name = stage[len('train '):]
            pretraining = name.startswith('pretrain')
            init = None
            if name in ('finetune peclr-init rn50', 'probe rn50'):
                init = result.get('train pretrain peclr rn50',
                                  {}).get('checkpoint')
            result[stage] = stage_train(
                name,
                data,
                yt3d,
                cache,
                osp.abspath(args.work_dir),
                args.pretrain_iters if pretraining else args.iters,
                init_ckpt=init,
                batch_size=batch_size,
                workers=workers)
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
