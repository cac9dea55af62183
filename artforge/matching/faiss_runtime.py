"""Loading FAISS for the candidate index, and keeping its OpenMP threads safe across fork.

libgomp's thread team belongs to the process that started it: a process forked after FAISS searched on
several threads waits, at its own next parallel search, for threads that were never forked, for ever (a
batch verify's workers hung so).  A forked child therefore searches on one thread, which is what a pool
of processes wants anyway.
"""

from __future__ import annotations

import os

_hooked = False
_forked = False  # this process was forked after FAISS was loaded


def _one_thread_after_fork() -> None:
    global _forked
    _forked = True
    load_faiss().omp_set_num_threads(1)


def load_faiss():
    """The ``faiss`` module, imported on first use (it is slow to import), with the fork hook in place."""
    global _hooked
    # OpenMP threads that spin while waiting wreck throughput when other processes share the cores.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import faiss

    if not _hooked:
        os.register_at_fork(after_in_child=_one_thread_after_fork)
        _hooked = True
    return faiss


def forked_after_load() -> bool:
    """Whether this process was forked after FAISS was loaded (its OpenMP must stay on one thread)."""
    return _forked
