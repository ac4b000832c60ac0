# Copyright (c) peclr_mm authors. All rights reserved.
"""The command-line arguments that the probe and analysis tools share.

``--encoder NAME[=CHECKPOINT]`` names an encoder to measure (repeatable)
and ``--config`` the config that builds every one of them. The tools
import it as (the development install puts the checkout on the path)::

    from projects.reproduction.analysis.encoder_args import add_encoder_args
"""
import argparse
import os.path as osp
from typing import Optional, Tuple

__all__ = ['DOWNSTREAM_CONFIG', 'encoder_arg', 'add_encoder_args']

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

#: The config whose encoder and test pipeline the probing tools use by
#: default: the demo's 2.5-D fine-tuning on synthetic data, 64 px.
DOWNSTREAM_CONFIG = osp.join(
    ROOT, 'configs', 'hand25d',
    'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py')


def encoder_arg(text: str) -> Tuple[str, Optional[str]]:
    """Parse one ``--encoder`` value, an ``argparse`` type.

    Args:
        text: ``NAME`` (random initialisation) or ``NAME=CHECKPOINT``.

    Returns:
        tuple: the name and the checkpoint path (None for random weights).

    Raises:
        argparse.ArgumentTypeError: no name, or the checkpoint is no file.
    """
    name, _, path = text.partition('=')
    if not name:
        raise argparse.ArgumentTypeError(
            f'--encoder takes NAME or NAME=CHECKPOINT, got {text!r}')
    if path and not osp.isfile(path):
        raise argparse.ArgumentTypeError(
            f'--encoder {name}: checkpoint {path} does not exist')
    return name, path or None


def add_encoder_args(parser: argparse.ArgumentParser,
                     default_config: str = DOWNSTREAM_CONFIG,
                     weights: str = 'backbone.* weights') -> None:
    """Add ``--encoder`` (repeatable, at least one) and ``--config``.

    Args:
        parser: the tool's parser.
        default_config: the config that builds every encoder; by default
            the synthetic fine-tuning config, whose test pipeline the probes
            use.
        weights: what the checkpoints hold, for the help text.
    """
    parser.add_argument(
        '--encoder',
        action='append',
        type=encoder_arg,
        required=True,
        help=f'NAME (random init) or NAME=CHECKPOINT ({weights}); repeat')
    parser.add_argument('--config', default=default_config)
