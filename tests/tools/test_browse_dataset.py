# Copyright (c) peclr_mm authors. All rights reserved.
import importlib.util
import os
import shutil

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _tool():
    spec = importlib.util.spec_from_file_location(
        'browse_dataset',
        os.path.join(ROOT, 'tools', 'misc', 'browse_dataset.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_an_image_of_another_size_ends_the_run_naming_it(
        synthetic_root, tmp_path):
    """An oversized training image (issue 36, item 5) is not drawn as a
    grey corner: one line names the file, its size and the expected one."""
    import cv2
    data = tmp_path / 'fh'
    shutil.copytree(synthetic_root, data)
    cv2.imwrite(
        str(data / 'training' / 'rgb' / '00000005.jpg'),
        np.zeros((600, 800, 3), np.uint8))
    cfg = os.path.join(
        ROOT, 'configs', 'hand25d',
        'hand25d_resnet18-2stage-peclr_1xb32-12e_synthetic-64.py')
    with pytest.raises(
            SystemExit,
            match=r'error: sample 5: image .*'
            r'00000005.jpg: is 800x600 px, but its data set '
            r'expects 224x224 px'):
        _tool().main([
            cfg, '--output-dir',
            str(tmp_path / 'out'), '--num-samples', '48', '--cfg-options',
            f'train_dataloader.dataset.data_root={data}'
        ])
