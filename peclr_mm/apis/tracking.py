# Copyright (c) peclr_mm authors. All rights reserved.
"""Hands found in a video, frame after frame: one box per hand (a
detector's tracking duplicates merged) and one handedness per track (the
running majority, so a label that flips at the frame's edge does not
mirror the crop)."""
from collections import deque
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['box_iou', 'box_overlap', 'merge_duplicates', 'HandTracker']


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0., x2 - x1) * max(0., y2 - y1)
    union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) -
             inter)
    return float(inter / union) if union > 0 else 0.


def box_overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """The intersection of two ``[x1, y1, x2, y2]`` boxes over the smaller
    box's area (1 when one box holds the other)."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0., x2 - x1) * max(0., y2 - y1)
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(inter / small) if small > 0 else 0.


def merge_duplicates(dets: Sequence[dict],
                     iou_thr: float = 0.5,
                     overlap_thr: float = 0.8) -> Tuple[List[dict], int]:
    """The detector's hands with every box that is an earlier one's
    duplicate dropped: IoU above ``iou_thr``, or lying mostly inside it
    (MediaPipe's video mode can report one hand twice, the second box
    often a part of the first); the first, most confident report is kept.

    Args:
        dets: hands as the detectors return them (``bbox`` each).
        iou_thr: the IoU above which two boxes are one hand.
        overlap_thr: the share of the smaller box inside the other above
            which two boxes are one hand.

    Returns:
        tuple: the kept hands and how many were merged away.
    """
    kept: List[dict] = []
    for det in dets:
        if all(
                box_iou(det['bbox'], k['bbox']) <= iou_thr
                and box_overlap(det['bbox'], k['bbox']) <= overlap_thr
                for k in kept):
            kept.append(det)
    return kept, len(dets) - len(kept)


class HandTracker:
    """Hands followed across a video's frames by box overlap; each track's
    handedness is the majority of the detector's labels over its last
    ``window`` frames, weighted by the detector's handedness score.

    Args:
        iou_thr: the least IoU of a box with a track's last box to continue
            it.
        window: how many of a track's latest labels vote.
        max_age: frames a track survives unseen.
    """

    def __init__(self,
                 iou_thr: float = 0.3,
                 window: int = 15,
                 max_age: int = 5):
        self.iou_thr = float(iou_thr)
        self.window = int(window)
        self.max_age = int(max_age)
        self.tracks: List[dict] = []
        self._next_id = 0

    def update(self, dets: Sequence[dict]) -> List[Tuple[int, Optional[str]]]:
        """Match this frame's hands to the tracks and vote.

        Args:
            dets: this frame's hands (``bbox``, ``handedness`` or ``None``,
                ``score``, its confidence, or ``None``).

        Returns:
            list: per hand, its track id and the track's majority
            handedness (``None`` when no label has been seen).
        """
        for track in self.tracks:
            track['age'] += 1
        free = list(range(len(self.tracks)))
        out = []
        for det in dets:
            best, best_iou = None, self.iou_thr
            for k in free:
                iou = box_iou(det['bbox'], self.tracks[k]['bbox'])
                if iou >= best_iou:
                    best, best_iou = k, iou
            if best is None:
                track = dict(id=self._next_id, votes=deque(maxlen=self.window))
                self._next_id += 1
                self.tracks.append(track)
            else:
                free.remove(best)
                track = self.tracks[best]
            track.update(bbox=np.asarray(det['bbox'], np.float64), age=0)
            if det.get('handedness') is not None:
                score = det.get('score')
                track['votes'].append(
                    (det['handedness'], 1. if score is None else score))
            out.append((track['id'], self._majority(track)))
        self.tracks = [t for t in self.tracks if t['age'] <= self.max_age]
        return out

    @staticmethod
    def _majority(track: dict) -> Optional[str]:
        totals: dict = {}
        for label, score in track['votes']:
            totals[label] = totals.get(label, 0.) + float(score)
        if not totals:
            return None
        return max(sorted(totals), key=lambda k: totals[k])
