# Copyright (c) peclr_mm authors. All rights reserved.
"""Edits that the benchmark scripts make to the shipped configs."""
__all__ = ['name_run', 'set_input_size', 'use_cross_version_views']


def name_run(cfg, name: str) -> None:
    """Give a run its own mmengine instances, in place.

    mmengine's ``MessageHub`` and ``MMLogger`` are global instances named
    after the experiment (``experiment_name``, by default the config's file
    name, plus a timestamp in seconds), and the visualizer after its
    ``name``. Runs of one config built in the same second in one process
    (the benchmark scripts' short runs, the tests) would share the loss
    history, the log and the visualizer's save folder. Naming each run
    (e.g. after its work dir) keeps them apart.
    """
    cfg['experiment_name'] = name
    if cfg.get('visualizer') is not None:
        cfg['visualizer']['name'] = f'visualizer:{name}'


def set_input_size(cfg_or_pipeline, size: int) -> None:
    """Set the crop/view size everywhere it appears, in place.

    Takes a config (its model's codec and its dataloaders' pipelines) or a
    single pipeline (a list of transform dicts). ``HandCanonicalCrop``'s
    ``input_size``, ``GenerateTarget``'s codec and the transforms inside
    ``MultiViewWithGeometry`` follow.
    """
    if isinstance(cfg_or_pipeline, (list, tuple)):
        for t in cfg_or_pipeline:
            if t['type'] == 'HandCanonicalCrop':
                t['input_size'] = size
            if t['type'] == 'GenerateTarget':
                t['encoder']['input_size'] = (size, size)
            if t['type'] == 'MultiViewWithGeometry':
                set_input_size(t['transforms'], size)
        return
    cfg = cfg_or_pipeline
    codec = cfg.get('model', {}).get('head', {}).get('codec')
    if codec is not None:
        codec['input_size'] = (size, size)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader:
            set_input_size(loader['dataset']['pipeline'], size)


def use_cross_version_views(cfg) -> None:
    """Make a pretraining config draw each view from a random version of its
    hand (``LoadRandomVersion`` first in every ``MultiViewWithGeometry``'s
    view pipeline), in place. The dataset then lists version 0 only, so an
    epoch visits each hand once, as many steps as a one-version set."""
    dataset = cfg['train_dataloader']['dataset']
    found = False
    for t in dataset['pipeline']:
        if t['type'] == 'MultiViewWithGeometry':
            if t['transforms'][0]['type'] != 'LoadRandomVersion':
                t['transforms'].insert(0, dict(type='LoadRandomVersion'))
            found = True
    if not found:
        raise ValueError('use_cross_version_views: the train pipeline has '
                         'no MultiViewWithGeometry (not a pretraining '
                         'config?)')
    dataset['versions'] = [0]
