# Copyright (c) peclr_mm authors. All rights reserved.
"""Edits that the benchmark scripts make to the shipped configs."""
__all__ = ['set_input_size']


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
