"""UMAP's compiled numba code, kept on disk between processes (docs/performance.md).

Used by the theme model's reducer (``themes.discovery``) and by the engines before a fit. It sits
at the top of the package, not in ``themes/``, only because ``themes/`` is being rewritten (the
BERTopic-core change); it belongs beside the reducer that needs it.
"""
from __future__ import annotations

import os

# umap-learn's numba modules: none of their functions asks for numba's disk cache. (pynndescent
# chooses cache=True or cache=False function by function, so it is left as its authors set it.)
UNCACHED_NUMBA = ("umap.umap_", "umap.layouts", "umap.distances", "umap.spectral", "umap.utils", "umap.sparse")
_numba_cache_on = False


def enable_numba_cache() -> int:
    """Let UMAP's numba functions keep their machine code on disk.

    umap-learn declares its ``@njit`` functions without ``cache=True``, so every new process
    spends ~10 s of CPU compiling them before the first fit. Turning numba's own cache on for
    them (before their first call) makes the next process load the compiled code instead. The
    cache lives where numba puts it: ``NUMBA_CACHE_DIR`` if set, else ``__pycache__`` beside the
    package (or the user cache folder when that is read-only); it is keyed by source file,
    signature and CPU, so a library upgrade recompiles. hdbscan is Cython: nothing to compile.
    pynndescent's NNDescent (which UMAP would use from 4,096 points) cannot be cached this way
    (its functions take the distance function as an argument), so ``themes.discovery._umap``
    gives UMAP an exact neighbour graph there instead (docs/performance.md).
    ``FRAMESCOPE_NUMBA_CACHE=0`` turns this off. Returns the number of functions switched on.
    """
    global _numba_cache_on
    if _numba_cache_on or os.environ.get("FRAMESCOPE_NUMBA_CACHE", "1") == "0":
        return 0
    import importlib

    from numba.core.dispatcher import Dispatcher

    n = 0
    for name in UNCACHED_NUMBA:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        for obj in vars(mod).values():
            cache = getattr(obj, "_cache", None)
            if isinstance(obj, Dispatcher) and type(cache).__name__ == "NullCache" and not obj.overloads:
                obj.enable_caching()
                n += 1
    _numba_cache_on = True
    return n
