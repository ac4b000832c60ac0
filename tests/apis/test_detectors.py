# Copyright (c) peclr_mm authors. All rights reserved.
from types import SimpleNamespace

import numpy as np
import pytest

from peclr_mm.apis.detectors import MediaPipeHands, import_mediapipe_hands


def _has_mediapipe() -> bool:
    try:
        import_mediapipe_hands()
    except ImportError:
        return False
    return True


def _landmarks(points):
    return SimpleNamespace(
        landmark=[SimpleNamespace(x=p[0], y=p[1], z=p[2]) for p in points])


def _result(hands):
    """What ``mediapipe.solutions.hands.Hands.process`` returns for
    ``hands``: (normalised points, label, score) each."""
    return SimpleNamespace(
        multi_hand_landmarks=[_landmarks(p) for p, _, _ in hands] or None,
        multi_hand_world_landmarks=[_landmarks(p * 0.01) for p, _, _ in hands]
        or None,
        multi_handedness=[
            SimpleNamespace(
                classification=[SimpleNamespace(label=lab, score=s)])
            for _, lab, s in hands
        ] or None)


def _stubbed(hands, selfie=False):
    detect = MediaPipeHands.__new__(MediaPipeHands)
    detect.selfie = selfie
    detect._hands = SimpleNamespace(
        process=lambda rgb: _result(hands), close=lambda: None)
    return detect


def test_landmarks_become_pixels_and_labels_the_hand_seen():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.2, 0.8, (2, 21, 3))
    img = np.zeros((100, 200, 3), np.uint8)  # H 100, W 200
    hands = _stubbed([(a, 'Right', 0.7), (b, 'Left', 0.9)])(img)
    assert [h['score'] for h in hands] == [0.9, 0.7]  # most confident first
    # MediaPipe labels a mirrored image: on a photo 'Right' is a left hand
    assert [h['handedness'] for h in hands] == ['right', 'left']
    np.testing.assert_allclose(hands[1]['keypoints'], a[:, :2] * [200, 100])
    np.testing.assert_allclose(
        hands[1]['bbox'],
        [*(a[:, :2] * [200, 100]).min(0), *(a[:, :2] * [200, 100]).max(0)])
    np.testing.assert_allclose(hands[1]['keypoints_world'], a * 0.01)
    selfie = _stubbed([(a, 'Right', 0.7)], selfie=True)(img)
    assert selfie[0]['handedness'] == 'right'
    assert _stubbed([])(img) == []


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match='uint8'):
        _stubbed([])(np.zeros((10, 10), np.uint8))


@pytest.mark.skipif(not _has_mediapipe(), reason='needs mediapipe')
def test_nothing_found_in_a_blank_image():
    with MediaPipeHands(min_detection_confidence=0.5) as detect:
        assert detect(np.full((128, 128, 3), 127, np.uint8)) == []
        assert 'min_detection_confidence=0.5' in repr(detect)
    with pytest.raises(ValueError, match='min_detection_confidence'):
        MediaPipeHands(min_detection_confidence=2.)
