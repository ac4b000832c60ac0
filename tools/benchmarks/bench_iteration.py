# Copyright (c) peclr_mm authors. All rights reserved.
"""Where a training iteration's time goes: the runner's iteration against
the bare network step, for a config as it trains.

For each variant of the config (``--variants``: ``config`` as written,
``nocache`` with the decoded-image cache of ``LoadHandImage`` and
``LoadRandomVersion`` off) a stock
mmengine ``Runner`` trains ``--iters`` iterations on the config's own
loader settings; mmengine's ``IterTimerHook`` gives each iteration's time
and the part of it spent waiting for data (``data_time``), medians after
``--skip`` iterations. With the cache on, the data set is first read once
(as the first epoch would), so the timed iterations see what the later
epochs see.

The reference, measured beside each variant's iterations: the bare step
on one fixed batch, already preprocessed and in the model's memory format
(forward, losses, backward and optimiser step through the runner's
optimiser wrapper), the median of ``--bare-steps``. The variants run in
``--rounds`` interleaved rounds (the machine's speed drifts); printed are
the medians over rounds of each variant's iteration, its data wait, its
bare step and the ratio iteration / bare step, and the per-sample time of
each transform of the training pipeline (one pass over
``--pipeline-samples``).

Example (from the repository root, on the demo's data; CONFIG e.g. the
demo's fine-tuning config)::

    python tools/benchmarks/bench_iteration.py CONFIG \\
        --data data/synthetic_freihand

A pretraining config as the reproduction trains it, each view from a
random version of its hand with 8 GiB of decoded images kept
(``--cross-version 8192``; the data set must have several versions)::

    python tools/benchmarks/bench_iteration.py \\
        configs/peclr/peclr_resnet18-2stage_1xb32-1e_synthetic-64.py \\
        --data work_dirs/reproduce/cpu_versions_20e/data \\
        --cross-version 8192 --variants config
"""
import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

VARIANTS = ('config', 'nocache')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--data', required=True, help='FreiHAND-layout root')
    parser.add_argument('--iters', type=int, default=60)
    parser.add_argument('--skip', type=int, default=10)
    parser.add_argument('--bare-steps', type=int, default=20)
    parser.add_argument(
        '--rounds',
        type=int,
        default=2,
        help='rounds of all variants, interleaved; medians reported')
    parser.add_argument('--pipeline-samples', type=int, default=320)
    parser.add_argument(
        '--variants', nargs='+', choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument(
        '--cross-version',
        type=float,
        metavar='MIB',
        help='a pretraining config\'s views each from a random version of '
        'their hand (as reproduce_claim.py\'s pretrain.cross_version), '
        'keeping MIB of decoded images')
    parser.add_argument(
        '--batch-size', type=int, help='instead of the config\'s')
    parser.add_argument(
        '--out', help='write the numbers to this json file as well')
    args = parser.parse_args(argv)
    if args.skip >= args.iters:
        parser.error(f'--skip {args.skip} must be below --iters {args.iters}')
    return args


LOADERS = ('LoadHandImage', 'LoadRandomVersion', 'LoadSimilarHand')


def _loaders(pipeline) -> list:
    """The image loaders of a pipeline, those of every view included."""
    out = []
    for t in pipeline:
        if isinstance(t, (list, tuple)):  # one pipeline per view
            out += _loaders(t)
        elif t['type'] in LOADERS:
            out.append(t)
        elif 'transforms' in t:
            out += _loaders(t['transforms'])
    return out


def _set_cache(cfg, cache_mib) -> None:
    """Set ``cache_mib`` of every image loader of the train pipeline
    (None: leave the config's)."""
    if cache_mib is None:
        return
    for t in _loaders(cfg.train_dataloader.dataset.pipeline):
        t['cache_mib'] = cache_mib


def _config(cfg_path: str, data: str, args):
    """The config as the benchmark trains it: ``data``, the batch size
    and cross-version views of ``args``."""
    from mmengine.config import Config

    from peclr_mm.utils.config import set_data_root, use_cross_version_views
    cfg = Config.fromfile(cfg_path)
    set_data_root(cfg, data)
    if args.cross_version is not None:
        use_cross_version_views(cfg, args.cross_version)
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    return cfg


def _runner(cfg_path: str, data: str, iters: int, work: str, cache_mib, args):
    from mmengine.runner import Runner

    from peclr_mm.utils.config import name_run, set_iteration_loop
    cfg = _config(cfg_path, data, args)
    name_run(cfg, work)  # its own logger and visualizer in this process
    _set_cache(cfg, cache_mib)
    set_iteration_loop(cfg, iters, iters, iters)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=iters + 1,
        save_last=False)
    backbone = cfg.model.get('backbone', {})
    if 'init_cfg' in backbone:  # random weights time the same
        backbone.init_cfg = None
    cfg.work_dir = work
    cfg.log_level = 'WARNING'
    return Runner.from_cfg(cfg)


def _fill_cache(dataset) -> float:
    """Read every sample once (the first epoch's decoding); seconds."""
    t0 = time.perf_counter()
    for i in range(len(dataset)):
        dataset[i]
    return time.perf_counter() - t0


def time_iterations(runner, skip: int) -> dict:
    """Train and return the median iteration and data-wait times (s)."""
    runner.train()
    hub = runner.message_hub
    t = hub.get_scalar('train/time').data[0][skip:]
    d = hub.get_scalar('train/data_time').data[0][skip:]
    return dict(
        iteration_s=float(statistics.median(t)),
        data_s=float(statistics.median(d)),
        iterations=len(t))


def time_bare_step(runner, steps: int) -> float:
    """Median seconds of forward + losses + backward + optimiser step on one
    fixed preprocessed batch (the model as the runner left it)."""
    import torch
    model, wrapper = runner.model, runner.optim_wrapper
    batch = model.data_preprocessor(next(iter(runner.train_dataloader)), True)
    inputs = batch['inputs']
    if any(type(h).__name__ == 'ChannelsLastHook' for h in runner.hooks):
        # one tensor, or one per view (pretraining)
        inputs = [
            x.contiguous(memory_format=torch.channels_last)
            for x in ([inputs] if torch.is_tensor(inputs) else inputs)
        ]
        inputs = inputs[0] if torch.is_tensor(batch['inputs']) else inputs
    model.train()
    times = []
    for _ in range(steps + 3):
        t0 = time.perf_counter()
        with wrapper.optim_context(model):
            losses = model(inputs, batch['data_samples'], mode='loss')
        loss, _ = model.parse_losses(losses)
        wrapper.update_params(loss)
        times.append(time.perf_counter() - t0)
    return float(statistics.median(times[3:]))


def time_transforms(cfg_path: str, data: str, n: int, args) -> dict:
    """ms per sample of each transform of the training pipeline, one pass
    over ``n`` samples (decoding included); a multi-view transform's own
    transforms as ``Outer/Inner``, summed over the views."""
    from mmpose.registry import DATASETS
    cfg = _config(cfg_path, data, args)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    totals = {}

    def timed(transform, outer=''):
        name = outer + type(transform).__name__
        # the views' own transforms too (all views of a sample together)
        for pipeline in {
                id(p): p
                for p in getattr(transform, 'pipelines', [])
        }.values():
            pipeline.transforms = [
                timed(t, f'{name}/') for t in pipeline.transforms
            ]

        def run(results):
            t0 = time.perf_counter()
            out = transform(results)
            totals[name] = totals.get(name, 0.) + time.perf_counter() - t0
            return out

        return run

    dataset.pipeline.transforms = [
        timed(t) for t in dataset.pipeline.transforms
    ]
    n = min(n, len(dataset))
    for i in range(n):
        dataset[i]
    return {k: 1e3 * v / n for k, v in totals.items()}


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from mmengine.registry import init_default_scope

    import peclr_mm  # noqa: F401
    from peclr_mm.utils.io import atomic_write_json
    init_default_scope('mmpose')
    results = dict(
        config=args.config,
        cross_version_cache_mib=args.cross_version,
        batch_size=args.batch_size,
        threads=torch.get_num_threads(),
        rounds=[],
        variants={})
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            row = {}
            for variant in args.variants:
                runner = _runner(args.config, args.data, args.iters,
                                 osp.join(tmp, f'{variant}_{r}'),
                                 0 if variant == 'nocache' else None, args)
                loader = runner.build_dataloader(runner._train_dataloader)
                runner._train_dataloader = loader
                cached = any(
                    t.get('cache_mib') for t in _loaders(
                        runner.cfg.train_dataloader.dataset.pipeline))
                res = dict(
                    cache_fill_s=_fill_cache(loader.dataset
                                             ) if cached else None)
                res.update(time_iterations(runner, args.skip))
                # the reference, beside each variant's iterations
                res['bare_step_s'] = time_bare_step(runner, args.bare_steps)
                res['ratio_to_bare'] = res['iteration_s'] / res['bare_step_s']
                row[variant] = res
            results['rounds'].append(row)
    for variant in args.variants:
        runs = [row[variant] for row in results['rounds']]
        results['variants'][variant] = {
            k: float(statistics.median(r[k] for r in runs))
            for k in ('iteration_s', 'data_s', 'bare_step_s', 'ratio_to_bare')
        }
    results['transforms_ms_per_sample'] = time_transforms(
        args.config, args.data, args.pipeline_samples, args)
    print(f'{args.config} ({results["threads"]} torch threads, medians of '
          f'{args.rounds} rounds)')
    for variant, r in results['variants'].items():
        print(f'{variant:8s} iteration {1e3 * r["iteration_s"]:6.1f} ms '
              f'(data wait {1e3 * r["data_s"]:5.1f} ms), bare step '
              f'{1e3 * r["bare_step_s"]:6.1f} ms, ratio to bare '
              f'{r["ratio_to_bare"]:.2f}')
    print('training pipeline, ms per sample (one pass, decoding included):')
    for name, ms in results['transforms_ms_per_sample'].items():
        print(f'  {name:26s} {ms:6.3f}')
    if args.out:
        atomic_write_json(args.out, results, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
