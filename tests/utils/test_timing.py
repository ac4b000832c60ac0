# Copyright (c) peclr_mm authors. All rights reserved.
import time

import pytest

from peclr_mm.utils.timing import time_interleaved, verdict


def test_rounds_interleave_and_flip_the_order():
    calls, seeds = [], []
    fns = [lambda: calls.append('a'), lambda: calls.append('b')]
    times = time_interleaved(
        fns, rounds=3, reps=2, warmup=1, before=seeds.append)
    # warm-up a b, then rounds a a b b | b b a a | a a b b
    assert ''.join(calls) == 'ab' + 'aabb' + 'bbaa' + 'aabb'
    assert seeds == [0, 0, 1, 1, 2, 2]
    assert [len(t) for t in times] == [3, 3]


def test_times_are_per_call():
    slow, fast = (lambda: time.sleep(.004)), (lambda: None)
    t_slow, t_fast = time_interleaved([slow, fast], rounds=2, reps=3)
    assert all(.0035 < t < .05 for t in t_slow)
    assert all(t < .002 for t in t_fast)
    with pytest.raises(ValueError, match='rounds'):
        time_interleaved([fast], rounds=0)
    assert verdict(True) == 'PASS' and verdict(False) == 'FAIL'
