# Copyright (c) peclr_mm authors. All rights reserved.
"""Write and read FreiHAND server submissions.

The server reads ``pred.json`` (at the root of the uploaded zip) holding
``[xyz_list, verts_list]``: N x 21 x 3 joints and N x 778 x 3 MANO vertices,
metres, camera frame, in the order of ``evaluation_xyz.json``.
"""
import json
import logging
import os.path as osp
import zipfile
from typing import Optional, Tuple

import numpy as np
from mmengine.logging import print_log

from ..utils.arrays import NUM_JOINTS, check_points
from ..utils.io import atomic_write

__all__ = ['write_freihand_submission', 'load_freihand_submission']

NUM_VERTS = 778
# Hands sit well within 10 m of the camera; a larger depth means millimetres.
_MAX_MEDIAN_DEPTH_M = 10.0


def _check_points(arr, num: int, what: str, source: str) -> np.ndarray:
    """Return ``arr`` as float64 (N, num, 3) in metres or raise ValueError.

    ``source`` names where ``arr`` came from (argument or file and field).
    """
    arr = check_points(arr, f'{source}: {what}', num)
    depth = float(np.median(np.abs(arr[..., 2])))
    if depth > _MAX_MEDIAN_DEPTH_M:
        raise ValueError(
            f'{source}: {what} has a median |z| of {depth:.4g}, which looks '
            'like millimetres; FreiHAND submissions must be in metres')
    return arr


def write_freihand_submission(path_json: str,
                              xyz: np.ndarray,
                              verts: Optional[np.ndarray] = None,
                              zip_path: Optional[str] = None) -> str:
    """Write the official ``pred.json`` and, optionally, the zip to upload.

    Args:
        path_json (str): where to write ``pred.json`` (any file name).
        xyz (np.ndarray): (N, 21, 3) joints in metres, camera frame, in
            annotation order.
        verts (np.ndarray, optional): (N, 778, 3) mesh vertices in metres.
            This project predicts no mesh: ``None`` writes zeros, which the
            server needs to accept the file; its mesh scores are then
            meaningless.
        zip_path (str, optional): also write this zip, holding the json as
            ``pred.json`` at its root.

    Returns:
        str: ``zip_path`` if given, else ``path_json``.

    Raises:
        ValueError: wrong shapes, non-finite values, N differs between xyz
            and verts, or the values look like millimetres.
    """
    xyz = _check_points(xyz, NUM_JOINTS, 'xyz', 'write_freihand_submission')
    if verts is None:
        print_log(
            'FreiHAND submission without a mesh: writing zero vertices; the '
            "server's mesh scores (mesh error, F-scores) will be meaningless.",
            logger='current',
            level=logging.WARNING)
        verts = np.zeros((len(xyz), NUM_VERTS, 3))
    else:
        verts = _check_points(verts, NUM_VERTS, 'verts',
                              'write_freihand_submission')
    if len(verts) != len(xyz):
        raise ValueError(f'write_freihand_submission: xyz has {len(xyz)} '
                         f'samples but verts has {len(verts)}')

    def dump(name: str) -> None:
        with open(name, 'w') as f:
            json.dump([xyz.tolist(), verts.tolist()], f)

    atomic_write(path_json, dump)
    if zip_path is None:
        return path_json

    def pack(name: str) -> None:
        with zipfile.ZipFile(name, 'w', zipfile.ZIP_DEFLATED) as zf:
            zf.write(path_json, arcname='pred.json')

    atomic_write(zip_path, pack)
    return zip_path


def load_freihand_submission(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read a submission, either ``pred.json`` or a zip holding it at its
    root, and check it as the server would.

    Returns:
        tuple: ``xyz`` (N, 21, 3) and ``verts`` (N, 778, 3), float64 metres.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: not JSON, a zip without ``pred.json``, not a pair
            ``[xyz_list, verts_list]``, a field of the wrong shape or in
            millimetres, or the two fields differ in length.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'FreiHAND submission {path} does not exist')
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                if 'pred.json' not in zf.namelist():
                    raise ValueError(
                        f'{path}: the zip must hold pred.json at its root, '
                        f'found {zf.namelist()[:5]}')
                pred = json.loads(zf.read('pred.json'))
            source = f'{path}:pred.json'
        else:
            with open(path) as f:
                pred = json.load(f)
            source = path
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f'{path}: not valid JSON ({exc})') from exc
    except zipfile.BadZipFile as exc:
        raise ValueError(f'{path}: damaged zip ({exc})') from exc
    if not isinstance(pred, list) or len(pred) != 2:
        raise ValueError(
            f'{source}: expected a list [xyz_list, verts_list] of two '
            f'fields, got {type(pred).__name__} of length '
            f'{len(pred) if isinstance(pred, (list, dict)) else "n/a"}')
    xyz = _check_points(pred[0], NUM_JOINTS, 'field 0 (xyz)', source)
    verts = _check_points(pred[1], NUM_VERTS, 'field 1 (verts)', source)
    if len(xyz) != len(verts):
        raise ValueError(f'{source}: field 0 (xyz) has {len(xyz)} samples '
                         f'but field 1 (verts) has {len(verts)}')
    return xyz, verts
