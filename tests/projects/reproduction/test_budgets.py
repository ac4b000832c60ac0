# Copyright (c) peclr_mm authors. All rights reserved.
"""Each budget of the study parses and names what exists; no budget keeps
its state in git."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from projects.reproduction.reproduce_claim import BUDGETS, ROOT, load_budget


@pytest.mark.parametrize(
    'path', sorted(glob.glob(osp.join(BUDGETS, '*.py'))), ids=osp.basename)
def test_benchmark_budget_names_existing_configs(path):
    """Each reproduction budget parses, names configs that exist, and its
    pretraining changes apply to both methods' configs."""
    b = load_budget(path)
    for kind in ('peclr', 'simclr'):
        cfg = Config.fromfile(osp.join(ROOT, b.pretrain.configs[kind]))
        cfg.merge_from_dict(b.pretrain.get('cfg_options', {}))
        assert cfg.model.head.equivariant is (kind == 'peclr')
    # similar-hand encoders: their config weights by pose, their pairs'
    # source is known, a pseudo-labeller is pretrained before them
    encoders = list(b.pretrain.configs)
    for kind, spec in b.pretrain.get('similar', {}).items():
        cfg = Config.fromfile(osp.join(ROOT, b.pretrain.configs[kind]))
        assert cfg.model.head.pose_weighting == 'linear'
        assert spec['poses'] in ('truth', 'pseudo')
        if spec['poses'] == 'pseudo':
            pl = b.pseudo_labels
            assert encoders.index(pl.encoder) < encoders.index(kind)
            assert pl.fraction in b.fractions and pl.seed in b.seeds
    for challenger, incumbent in b.get('compare', []):
        assert {challenger, incumbent} <= set(encoders) | {'random'}
    assert osp.isfile(osp.join(ROOT, b.downstream_config))
    assert all(0 < f <= 1 for f in b.fractions) and b.seeds
    assert b.probe_iters > 0 and b.finetune_iters > 0


def test_budgets_keep_their_state_outside_git():
    """A budget's state (checkpoints) lies under work_dirs/, which git
    ignores, never in the repository's tracked folders."""
    for path in glob.glob(osp.join(BUDGETS, '*.py')):
        state = load_budget(path).get('state')
        if state:
            assert state.startswith('work_dirs/'), (path, state)


def test_a_budget_is_found_by_name_or_path():
    by_name = load_budget('smoke')
    by_path = load_budget(osp.join(BUDGETS, 'reproduce_smoke.py'))
    assert by_name.fractions == by_path.fractions
    with pytest.raises(FileNotFoundError, match='nope'):
        load_budget('nope')
