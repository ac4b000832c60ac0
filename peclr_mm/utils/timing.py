# Copyright (c) peclr_mm authors. All rights reserved.
"""The timer the benchmark scripts share: candidates measured in the same
run, interleaved, so that the shared machine's momentary load falls on
both sides of a ratio."""
import time
from typing import Callable, List, Optional, Sequence

__all__ = ['time_interleaved', 'verdict']


def time_interleaved(fns: Sequence[Callable[[], object]],
                     rounds: int,
                     reps: int = 1,
                     warmup: int = 1,
                     before: Optional[Callable[[int], None]] = None
                     ) -> List[List[float]]:
    """Seconds per call of each function, per round.

    Each round calls every function ``reps`` times in a row; the order of
    the functions flips every round (A B, B A, ...) so neither side always
    runs first.

    Args:
        fns: the candidates, called without arguments.
        rounds: number of rounds.
        reps: calls per function and round (the round's time is divided by
            it).
        warmup: untimed calls of every function first.
        before: called with the round index before each function's part of
            a round (e.g. to seed a generator so both draw the same).

    Returns:
        list: per function, ``rounds`` times in seconds per call.
    """
    if rounds < 1 or reps < 1:
        raise ValueError(f'rounds and reps must be >= 1, got {rounds}, '
                         f'{reps}')
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: List[List[float]] = [[] for _ in fns]
    for r in range(rounds):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for j in order:
            if before is not None:
                before(r)
            start = time.perf_counter()
            for _ in range(reps):
                fns[j]()
            times[j].append((time.perf_counter() - start) / reps)
    return times


def verdict(ok: bool) -> str:
    """``PASS`` or ``FAIL``, the word every benchmark summary ends a target
    line with."""
    return 'PASS' if ok else 'FAIL'
