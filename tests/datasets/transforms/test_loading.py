# Copyright (c) peclr_mm authors. All rights reserved.
import cv2
import numpy as np
import pytest

from peclr_mm.datasets.transforms import LoadHandImage


def _write(path, value):
    cv2.imwrite(str(path), np.full((40, 50, 3), value, np.uint8))
    return str(path)


def test_cache_decodes_once_within_its_budget(tmp_path):
    """A cached image is served without reading the file again (deleted
    here), read-only, and only as many images as fit are kept."""
    a, b = _write(tmp_path / 'a.png', 10), _write(tmp_path / 'b.png', 200)
    one_image_mib = 40 * 50 * 3 / 2**20
    load = LoadHandImage(cache_mib=1.5 * one_image_mib)
    first = load(dict(img_path=a))['img']
    assert load(dict(img_path=b))['img'][0, 0, 0] == 200  # not kept
    (tmp_path / 'a.png').unlink()
    again = load(dict(img_path=a))
    assert again['img'] is first and again['img_shape'] == (40, 50)
    assert again['ori_shape'] == (40, 50)
    with pytest.raises(ValueError, match='read-only'):
        again['img'][0, 0, 0] = 1
    (tmp_path / 'b.png').unlink()
    with pytest.raises(FileNotFoundError, match='b.png'):
        load(dict(img_path=b))
    # without a cache every call decodes
    plain = LoadHandImage()
    c = _write(tmp_path / 'c.png', 7)
    assert plain(dict(img_path=c))['img'].flags.writeable
    (tmp_path / 'c.png').unlink()
    with pytest.raises(FileNotFoundError):
        plain(dict(img_path=c))
    assert 'cache_mib=0.0' in repr(plain)
    with pytest.raises(ValueError, match='cache_mib'):
        LoadHandImage(cache_mib=-1)


def test_caching_loaders_share_one_copy(tmp_path):
    """The second view's loader serves what the first decoded (the file is
    gone), the same array, counted in its own budget; freed with the last
    loader that holds it."""
    import gc
    a = _write(tmp_path / 'a.png', 33)
    one_image_mib = 40 * 50 * 3 / 2**20
    first = LoadHandImage(cache_mib=2 * one_image_mib)
    second = LoadHandImage(cache_mib=2 * one_image_mib)
    img = first(dict(img_path=a))['img']
    (tmp_path / 'a.png').unlink()
    assert second(dict(img_path=a))['img'] is img
    assert second._cached_bytes == img.nbytes
    # a loader without a cache, or decoding otherwise, never takes it
    with pytest.raises(FileNotFoundError):
        LoadHandImage()(dict(img_path=a))
    with pytest.raises(FileNotFoundError):
        LoadHandImage(cache_mib=1, color_type='grayscale')(dict(img_path=a))
    del first, second, img
    gc.collect()
    with pytest.raises(FileNotFoundError):
        LoadHandImage(cache_mib=1)(dict(img_path=a))
