# Copyright (c) peclr_mm authors. All rights reserved.
"""Which fine-tuning recipe learns hand pose in a CPU budget? One change at
a time, each measured against the mean pose.

    python tools/benchmarks/finetune_recipes.py --data DATA --out OUT \
        [--variants base size96 ...] [--pretrained CKPT] [--threads 2]

Every variant is the fine-tuning config of the demo
(``configs/hand25d_resnet18_demo_synthetic.py``) with the settings of
:data:`BASE` and the variant's changes, trained by a stock mmengine runner
for a fixed number of iterations and tested on the evaluation split by
``FreiHand3DMetric`` with its mean-pose reference. Finished variants are
kept (``OUT/NAME/metrics.json``, written atomically) so a killed search
resumes; ``OUT/results.md`` and ``OUT/results.json`` are rewritten after
every variant. The table lists each score beside the mean pose's and the
ratio model / mean pose.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

#: The starting point: the demo's fine-tuning as it was when this search
#: began (64 px whole image, pooled regression, fp32, Adam 1e-3).
BASE = dict(
    size=64,
    crop='image',
    head='pool',
    iters=1000,
    batch=32,
    lr=1e-3,
    bf16=False,
    channels_last=False,
    rotate=30.,
    versions=None,
    subset=None,
    loss_weights=(1., 5., 1.))

#: name -> (what changed, overrides of BASE)
VARIANTS = {
    'base': ('the demo as it was', {}),
    'fast': ('bf16 autocast + channels-last',
             dict(bf16=True, channels_last=True)),
    'heatmap': ('2.5-D heatmap head (3 deconvs from the last stage)',
                dict(bf16=True, channels_last=True, head='heatmap')),
    'size96': ('96 px', dict(bf16=True, channels_last=True, size=96)),
    'size128': ('128 px', dict(bf16=True, channels_last=True, size=128)),
    'bbox': ('crop a box around the hand',
             dict(bf16=True, channels_last=True, crop='bbox')),
    'bbox_heatmap':
    ('box crop + heatmap head',
     dict(bf16=True, channels_last=True, crop='bbox', head='heatmap')),
    'size96_heatmap':
    ('96 px + heatmap head',
     dict(bf16=True, channels_last=True, size=96, head='heatmap')),
    'pool_wpx':
    ('uv loss weight 64 (uv in crop pixels at 64 px)',
     dict(bf16=True, channels_last=True, loss_weights=(64., 5., 1.))),
    'heatmap_wpx': ('heatmap head, uv weight 64',
                    dict(
                        bf16=True,
                        channels_last=True,
                        head='heatmap',
                        loss_weights=(64., 5., 1.))),
    'bbox_heatmap_wpx': ('box crop, heatmap head, uv weight 64',
                         dict(
                             bf16=True,
                             channels_last=True,
                             crop='bbox',
                             head='heatmap',
                             loss_weights=(64., 5., 1.))),
    'lr3e-3': ('Adam 3e-3', dict(bf16=True, channels_last=True, lr=3e-3)),
    'iters2000': ('2000 iterations',
                  dict(bf16=True, channels_last=True, iters=2000)),
}

HEADS = {
    'pool':
    lambda c: dict(type='Hand25DHead', in_channels=c),
    'heatmap':
    lambda c: dict(
        type='Hand25DHeatmapHead',
        in_channels=c,
        deconv_out_channels=(128, 128, 128),
        deconv_kernel_sizes=(4, 4, 4)),
}


def recipe_cfg(data: str, work: str, opts: dict, pretrained: str = None):
    """The demo's fine-tuning config with the recipe ``opts``."""
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'hand25d_resnet18_demo_synthetic.py'))
    cfg.work_dir = work
    # its own visualizer: mmengine reuses one of the same name, logs too
    cfg.visualizer['name'] = f'visualizer:{work}'
    size = opts['size']
    codec = dict(cfg.model.head.codec, input_size=(size, size))
    cfg.model.head = dict(
        HEADS[opts['head']](512),
        codec=codec,
        loss_weights=opts['loss_weights'])
    cfg.model.backbone.init_cfg = None if pretrained is None else dict(
        type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg[name]
        dl.dataset.data_root = data
        for t in dl.dataset.pipeline:
            if t['type'] == 'HandCanonicalCrop':
                t.update(input_size=size, source=opts['crop'])
            elif t['type'] == 'GenerateTarget':
                t['encoder'] = codec
            elif t['type'] == 'RandomSimilarity':
                t['rotate'] = opts['rotate']
    train = cfg.train_dataloader
    train.batch_size = opts['batch']
    train.dataset.versions = opts['versions']
    train.dataset.subset = opts['subset']
    train.sampler = dict(type='InfiniteSampler', shuffle=True)
    iters = opts['iters']
    cfg.train_cfg = dict(by_epoch=False, max_iters=iters, val_interval=iters)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_evaluator = dict(
        type='FreiHand3DMetric', mean_pose=dict(data_root=data))
    cfg.log_processor = dict(by_epoch=False)
    cfg.optim_wrapper = dict(
        type='BF16OptimWrapper' if opts['bf16'] else 'OptimWrapper',
        optimizer=dict(type='Adam', lr=opts['lr']))
    cfg.param_scheduler = [
        dict(
            type='LinearLR',
            start_factor=1e-2,
            by_epoch=False,
            begin=0,
            end=min(50, iters)),
        dict(
            type='CosineAnnealingLR',
            T_max=iters,
            by_epoch=False,
            begin=0,
            end=iters)
    ]
    cfg.custom_hooks = [dict(type='SyncBuffersHook')] + (
        [dict(type='ChannelsLastHook')] if opts['channels_last'] else [])
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=iters,
        max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 50
    cfg.randomness = dict(seed=0)
    cfg.log_level = 'WARNING'
    return cfg


def run_variant(name: str,
                data: str,
                out: str,
                pretrained: str = None,
                iters: int = None):
    from mmengine.runner import Runner
    work = osp.join(out, name)
    done = osp.join(work, 'metrics.json')
    if osp.isfile(done):
        return json.load(open(done))
    what, changes = VARIANTS[name]
    opts = dict(BASE, **changes)
    if iters:
        opts['iters'] = iters
    runner = Runner.from_cfg(recipe_cfg(data, work, opts, pretrained))
    t = time.time()
    runner.train()
    train_s = time.time() - t
    t = time.time()
    metrics = runner.test()
    test_s = time.time() - t
    hub = runner.message_hub
    losses = {}
    for key in ('loss_uv', 'loss_zrel', 'loss_zroot'):
        values = hub.get_scalar(f'train/{key}').data[0]
        n = max(1, min(50, len(values) // 4))
        losses[f'{key}_first'] = float(sum(values[:n]) / n)
        losses[f'{key}_last'] = float(sum(values[-n:]) / n)
    result = dict(
        name=name,
        what=what,
        opts=opts,
        train_s=train_s,
        test_s=test_s,
        samples_per_s=opts['iters'] * opts['batch'] / train_s,
        metrics={
            k: float(v)
            for k, v in metrics.items() if '_j' not in k
        },
        losses=losses)
    tmp = done + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, done)
    return result


def table(results: list) -> str:
    rows = [
        '| variant | what changed | train min | img/s | EPE-2D px '
        '(x mean) | RR-EPE mm (x mean) | PA-EPE mm (x mean) | loss_uv '
        'first -> last |', '| --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    for r in results:
        m = r['metrics']

        def cell(key):
            return (f"{m[f'freihand/{key}']:.1f} "
                    f"(x{m[f'freihand/ratio/{key}']:.2f})")

        rows.append(f"| {r['name']} | {r['what']} | {r['train_s'] / 60:.1f} "
                    f"| {r['samples_per_s']:.0f} | {cell('EPE-2D')} | "
                    f"{cell('RR-EPE')} | {cell('PA-EPE')} | "
                    f"{r['losses']['loss_uv_first']:.3f} -> "
                    f"{r['losses']['loss_uv_last']:.3f} |")
    if results:
        m = results[0]['metrics']
        rows.append(f"| mean pose | ignores the image | - | - | "
                    f"{m['freihand/mean-pose/EPE-2D']:.1f} | "
                    f"{m['freihand/mean-pose/RR-EPE']:.1f} | "
                    f"{m['freihand/mean-pose/PA-EPE']:.1f} | - |")
    return '\n'.join(rows) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument(
        '--variants', nargs='+', default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument('--pretrained')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument(
        '--iters',
        type=int,
        help='override every variant\'s iterations (a smoke run)')
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    from mmengine.registry import init_default_scope

    import peclr_mm  # noqa: F401
    init_default_scope('mmpose')
    os.makedirs(args.out, exist_ok=True)
    results = []
    for name in args.variants:
        results.append(
            run_variant(name, args.data, args.out, args.pretrained,
                        args.iters))
        with open(osp.join(args.out, 'results.json'), 'w') as f:
            json.dump(results, f, indent=1)
        with open(osp.join(args.out, 'results.md'), 'w') as f:
            f.write(table(results))
        print(table(results), flush=True)


if __name__ == '__main__':
    main()
