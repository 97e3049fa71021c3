"""Work spread over this machine's processes.

joblib's ``loky`` backend starts its processes fresh (not forked from a process that may hold
torch's thread pools) and keeps them for the next call, so a process loads a model once per run.
:func:`in_runs` cuts a list into runs in order and concatenates the runs' results in order, so
the result is the one a single process gives whenever ``func`` treats each run as a list of
independent items (the callers say why theirs do).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system reports one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def in_runs(func: Callable[[list], list], items: Sequence, workers: int | None, min_items: int,
            run_size: int = 1, runs_per_worker: int = 4) -> list:
    """``func(items)``, computed as ``func`` of consecutive runs of the items over ``workers``
    processes (None: every available core) when there are at least ``min_items`` items; each run
    holds a whole number of ``run_size`` items (the last may be shorter), about ``runs_per_worker``
    runs per process. ``func`` must be a module-level function (it is sent to the processes)."""
    items = list(items)
    workers = available_cores() if workers is None else workers
    if workers <= 1 or len(items) < max(min_items, 2):
        return func(items)
    from joblib import Parallel, delayed

    size = run_size * max(1, -(-len(items) // (run_size * runs_per_worker * workers)))
    runs = [items[i:i + size] for i in range(0, len(items), size)]
    with Parallel(n_jobs=min(workers, len(runs)), backend="loky") as parallel:
        done = parallel(delayed(func)(r) for r in runs)
    return [x for part in done for x in part]
