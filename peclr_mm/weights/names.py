# Copyright (c) peclr_mm authors. All rights reserved.
"""Config names, resolved as mmpose's inferencers resolve them: a model
name of ``model-index.yml`` (its metafiles' ``Models``) gives its config and,
where published, the address of its weights; any other config under
``configs/`` is found by its file name. The checkout's files are read, or
those an installed package carries in ``peclr_mm/.mim``.
"""
import os
import os.path as osp
from typing import Dict, List, Optional

__all__ = ['UnknownConfigError', 'model_index', 'find_config', 'find_weights']


class UnknownConfigError(ValueError):
    """A name is neither a config file nor a config's name."""


def _roots() -> List[str]:
    """The folders that may hold ``model-index.yml`` and ``configs/``."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    return [osp.dirname(package), osp.join(package, '.mim')]


def model_index() -> Dict[str, dict]:
    """The models that ``model-index.yml`` lists.

    Returns:
        dict: model name -> ``config`` (an absolute path) and ``weights``
        (the published address, or None), from the first root that has a
        ``model-index.yml``; empty when none has.
    """
    import yaml
    for root in _roots():
        index = osp.join(root, 'model-index.yml')
        if not osp.isfile(index):
            continue
        with open(index) as f:
            metafiles = (yaml.safe_load(f) or {}).get('Import', [])
        models = {}
        for metafile in metafiles:
            with open(osp.join(root, metafile)) as f:
                for model in (yaml.safe_load(f) or {}).get('Models', []):
                    models[model['Name']] = dict(
                        config=osp.join(root, model['Config']),
                        weights=model.get('Weights'))
        return models
    return {}


def _stem(name: str) -> str:
    base = osp.basename(name)
    return base[:-len('.py')] if base.endswith('.py') else base


def find_config(config: str) -> str:
    """The file of a config given by path or by name.

    Args:
        config: a path, or a config's name (``hand25d_resnet50-peclr-
            released_freihand-224``, ``.py`` optional): a model of
            :func:`model_index`, else a file of that name under
            ``configs/`` (``_base_`` excluded).

    Returns:
        str: the config's path.

    Raises:
        UnknownConfigError: no such config.
    """
    if osp.isfile(config):
        return config
    name = _stem(config)
    model = model_index().get(name)
    if model is not None and osp.isfile(model['config']):
        return model['config']
    for root in _roots():
        for folder, _, files in os.walk(osp.join(root, 'configs')):
            if name + '.py' in files and '_base_' not in folder:
                return osp.join(folder, name + '.py')
    raise UnknownConfigError(f'config {config} not found (neither a file '
                             'nor a config name under configs/)')


def find_weights(name: str) -> Optional[str]:
    """The published address of a model's weights (``Weights`` of its
    metafile entry), or None when it has none or is not listed."""
    model = model_index().get(_stem(name))
    return None if model is None else model['weights']
