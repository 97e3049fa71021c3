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

import numpy as np


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system reports one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def equal_runs(weights: Sequence[float], n: int) -> list[tuple[int, int]]:
    """Runs ``[a, b)`` of consecutive items, in order, of about equal total weight (at most ``n``
    runs, none empty)."""
    edges = np.searchsorted(np.cumsum(weights), np.linspace(0, sum(weights), n + 1)[1:-1], side="right")
    bounds = [0, *sorted(set(int(e) for e in edges) - {0, len(weights)}), len(weights)]
    return list(zip(bounds, bounds[1:]))


def in_runs(func: Callable[[list], list], items: Sequence, workers: int | None, min_items: int,
            run_size: int = 1, weights: Sequence[float] | None = None, runs_per_worker: int = 4) -> list:
    """``func(items)``, computed as ``func`` of consecutive runs of the items over ``workers``
    processes (None: every available core) when there are at least ``min_items`` items, else in
    this process. About ``runs_per_worker`` runs per process, of about equal total ``weights``
    (default: equal counts), each starting at a multiple of ``run_size`` items. ``func`` must be
    picklable: a module-level function, or a ``functools.partial`` of one."""
    items = list(items)
    workers = available_cores() if workers is None else workers
    if workers <= 1 or len(items) < max(min_items, 2):
        return func(items)
    from joblib import Parallel, delayed

    runs = equal_runs([1.0] * len(items) if weights is None else weights, runs_per_worker * workers)
    starts = sorted({a // run_size * run_size for a, _ in runs})
    bounds = list(zip(starts, [*starts[1:], len(items)]))
    with Parallel(n_jobs=min(workers, len(bounds)), backend="loky") as parallel:
        done = parallel(delayed(func)(items[a:b]) for a, b in bounds)
    return [x for part in done for x in part]
