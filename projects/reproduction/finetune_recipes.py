# Copyright (c) peclr_mm authors. All rights reserved.
"""Which fine-tuning recipe learns hand pose in a CPU budget? One change at
a time, each measured against the mean pose.

    python -m projects.reproduction.finetune_recipes --data DATA --out OUT \
        [--variants base size96 ...] [--pretrained CKPT] [--threads 2]

Every variant is the fine-tuning config of the demo
(``configs/hand25d/``
``hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py``) with the
settings of :data:`BASE` and the variant's changes, trained by a stock
mmengine runner for a fixed number of iterations and tested on the evaluation
split by
``FreiHand3DMetric`` with its mean-pose reference. Finished variants are
kept (``OUT/NAME/metrics.json``, written atomically) so a killed search
resumes; ``OUT/results.md`` and ``OUT/results.json`` are rewritten after
every variant. The table lists each score beside the mean pose's and the
ratio model / mean pose.
"""
import argparse
import os
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

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
    margin=(0.85, 1.15),
    shift=0.05,
    hsv=0.5,
    versions=None,
    subset=None,
    loss_weights=(1., 5., 1.),
    stages=4,
    zero_init_residual=True,
    heatmap_loss=0.,
    workers=2)


def _chain(*steps):
    """Cumulative variants: each step keeps the changes of those before."""
    out, acc = {}, {}
    for name, what, changes in steps:
        acc = dict(acc, **changes)
        out[name] = (what, dict(acc))
    return out


#: name -> (what changed, overrides of BASE). The chain adds one change at a
#: time; the side branches change one thing of a chain step.
VARIANTS = _chain(
    ('base', 'the demo as it was', {}),
    ('bf16', '+ bf16 autocast + channels-last',
     dict(bf16=True, channels_last=True)),
    ('workers0', '+ data loading in the main process (no workers)',
     dict(workers=0)),
    ('uv_px', '+ uv loss in crop pixels (weight 64 at 64 px)',
     dict(loss_weights=(64., 5., 1.))),
    ('box', '+ crop a box around the hand', dict(crop='bbox')),
    ('heatmap8', '+ heatmap head on the stride-8 stage (2-stage ResNet)',
     dict(head='heatmap8', stages=2)),
    ('res_init', '+ residual branches not zero-initialised',
     dict(zero_init_residual=False)),
    ('hm_loss', '+ heatmaps also supervised (cross-entropy to a Gaussian, '
     'weight 1)', dict(heatmap_loss=1.)),
    ('iters3000', '+ 3000 iterations', dict(iters=3000)),
)
_AT = VARIANTS['heatmap8'][1]
VARIANTS.update({
    'iters3000_latent':
    ('heatmap8 with 3000 iterations (zero-initialised '
     'residual branches, latent heatmaps)', dict(_AT, iters=3000)),
    'heatmap32':
    ('heatmap8 with 3 deconvolutions of the last stage of '
     'the full ResNet instead', dict(_AT, head='heatmap', stages=4)),
    'pool8': ('heatmap8 with the pooled regression head instead',
              dict(_AT, head='pool')),
    'no_hsv': ('heatmap8 without the HSV jitter', dict(_AT, hsv=0.)),
    'no_aug': ('heatmap8 without any augmentation',
               dict(_AT, hsv=0., rotate=0., margin=(1., 1.), shift=0.)),
    'lr2e-3': ('heatmap8 with Adam 2e-3', dict(_AT, lr=2e-3)),
    'size96': ('heatmap8 at 96 px', dict(_AT, size=96)),
    'z10': ('heatmap8 with z_rel loss weight 10',
            dict(_AT, loss_weights=(64., 10., 1.))),
    'z20': ('heatmap8 with z_rel loss weight 20',
            dict(_AT, loss_weights=(64., 20., 1.))),
    'labels2000': ('heatmap8 on 2000 of the labeled hands (the old demo\'s '
                   'count)', dict(_AT, subset=2000)),
})

HEADS = {
    'pool':
    lambda c: dict(type='Hand25DHead', in_channels=c),
    # on the stride-8 stage (the backbone cut after two stages), one
    # deconvolution to stride 4
    'heatmap8':
    lambda c: dict(
        type='Hand25DHeatmapHead',
        in_channels=c,
        deconv_out_channels=(128, ),
        deconv_kernel_sizes=(4, )),
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

    from peclr_mm.utils.config import name_run, set_data_root, set_input_size
    from projects.reproduction.schedules import set_iteration_budget
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'hand25d',
                 'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py'))
    cfg.work_dir = work
    name_run(cfg, work)
    codec = cfg.model.head.codec
    stages = opts['stages']
    cfg.model.backbone.update(
        num_stages=stages,
        strides=(1, 2, 2, 2)[:stages],
        dilations=(1, ) * stages,
        out_indices=(stages - 1, ),
        zero_init_residual=opts['zero_init_residual'])
    cfg.model.head = dict(
        HEADS[opts['head']](64 * 2**(stages - 1)),
        codec=codec,
        loss_weights=opts['loss_weights'])
    if opts['heatmap_loss']:
        cfg.model.head['heatmap_loss_weight'] = opts['heatmap_loss']
    cfg.model.backbone.init_cfg = None if pretrained is None else dict(
        type='Pretrained', checkpoint=pretrained, prefix='backbone.')
    set_data_root(cfg, data)
    set_input_size(cfg, opts['size'])
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for t in cfg[name].dataset.pipeline:
            if t['type'] == 'HandCanonicalCrop':
                t['source'] = opts['crop']
            elif t['type'] == 'RandomSimilarity':
                t.update(
                    rotate=opts['rotate'],
                    margin_range=opts['margin'],
                    shift=opts['shift'])
            elif t['type'] == 'HSVJitter':
                t['prob'] = opts['hsv']
    train = cfg.train_dataloader
    train.batch_size = opts['batch']
    train.num_workers = opts['workers']
    train.persistent_workers = opts['workers'] > 0
    train.dataset.versions = opts['versions']
    train.dataset.subset = opts['subset']
    set_iteration_budget(cfg, opts['iters'])
    cfg.test_evaluator = dict(
        type='FreiHand3DMetric', mean_pose=dict(data_root=data))
    cfg.optim_wrapper = dict(
        type='BF16OptimWrapper' if opts['bf16'] else 'OptimWrapper',
        optimizer=dict(type='Adam', lr=opts['lr']))
    cfg.custom_hooks = [dict(type='SyncBuffersHook')] + (
        [dict(type='ChannelsLastHook')] if opts['channels_last'] else [])
    cfg.randomness = dict(seed=0)
    cfg.log_level = 'WARNING'
    return cfg


def run_variant(name: str,
                data: str,
                out: str,
                pretrained: str = None,
                iters: int = None):
    from projects.reproduction.runs import cached_train_test
    what, changes = VARIANTS[name]
    opts = dict(BASE, **changes)
    if iters:
        opts['iters'] = iters
    work = osp.join(out, name)
    return cached_train_test(
        recipe_cfg(data, work, opts, pretrained),
        osp.join(work, 'metrics.json'), lambda r: dict(
            name=name,
            what=what,
            opts=opts,
            samples_per_s=opts['iters'] * opts['batch'] / r['train_s'],
            **r))


def table(results: list) -> str:
    """The markdown table: every score beside the mean pose's."""
    rows = [
        '| variant | what changed | train min | img/s | EPE-2D px (x mean '
        '/ x mean in box) | RR-EPE mm (x mean) | PA-EPE mm (x mean) | '
        'loss_uv first -> last |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    for r in results:
        m = {k.replace('freihand/', ''): v for k, v in r['metrics'].items()}
        rows.append(
            f"| {r['name']} | {r['what']} | {r['train_s'] / 60:.1f} | "
            f"{r['samples_per_s']:.0f} | {m['EPE-2D']:.1f} "
            f"(x{m['ratio/EPE-2D']:.2f} / x{m['ratio/EPE-2D-in-box']:.2f}) "
            f"| {m['RR-EPE']:.1f} (x{m['ratio/RR-EPE']:.2f}) | "
            f"{m['PA-EPE']:.1f} (x{m['ratio/PA-EPE']:.2f}) | "
            f"{r['losses']['loss_uv_first']:.3f} -> "
            f"{r['losses']['loss_uv_last']:.3f} |")
    if results:
        m = {
            k.replace('freihand/', ''): v
            for k, v in results[0]['metrics'].items()
        }
        rows.append(f"| mean pose | ignores the image | - | - | "
                    f"{m['mean-pose/EPE-2D']:.1f} (in box: "
                    f"{m['mean-pose/EPE-2D-in-box']:.1f}) | "
                    f"{m['mean-pose/RR-EPE']:.1f} | "
                    f"{m['mean-pose/PA-EPE']:.1f} | - |")
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
    from peclr_mm.utils.io import atomic_write_json
    init_default_scope('mmpose')
    os.makedirs(args.out, exist_ok=True)
    results = []
    for name in args.variants:
        results.append(
            run_variant(name, args.data, args.out, args.pretrained,
                        args.iters))
        atomic_write_json(
            osp.join(args.out, 'results.json'), results, indent=1)
        with open(osp.join(args.out, 'results.md'), 'w') as f:
            f.write(table(results))
        print(table(results), flush=True)


if __name__ == '__main__':
    main()
