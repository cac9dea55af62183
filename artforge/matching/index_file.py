"""The index file beside the registry: kept in step with the ``match_layers`` rows, rebuilt on demand.

The file (``<registry>.index.npz``) is a snapshot of :class:`~artforge.matching.index.MatchIndex` that covers
the table's rows up to ``covered_rowid``; rows registered after that are read from SQLite and added in
memory when the index is opened (the *delta*), and :func:`sync_index` rewrites the file once the delta grows
past ``SNAPSHOT_EVERY`` rows.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from artforge.matching import layer_store
from artforge.matching.index import INDEX_FORMAT, MatchIndex
from artforge.registry.database import Registry

SNAPSHOT_EVERY = 2_000  # delta rows that make register rewrite the index file


@dataclass
class IndexStats:
    """What ``artforge index stats`` reports."""

    path: str
    exists: bool
    works: int
    works_with_layers: int
    global_hashes: int
    descriptors: int
    local_kind: str
    covered_rowid: int
    delta_rows: int
    file_bytes: int
    memory_bytes: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def index_path(registry_path: Path) -> Path:
    return registry_path.with_name(registry_path.name + ".index.npz")


def open_index(registry: Registry) -> MatchIndex:
    """The index for a registry: the snapshot on disk plus the rows registered since (or all rows).

    When that meant reading ``SNAPSHOT_EVERY`` rows or more (no snapshot yet on this machine, as on a new
    worker of a shared registry or after ``registry copy``), the snapshot is written for the next process;
    a folder it cannot be written to only costs the next process the same reading.
    """
    rows, max_rowid, _ = layer_store.match_layer_state(registry)
    path = index_path(registry.path)
    index = MatchIndex.load(path)
    if index is None or index.covered_rowid > max_rowid or index.works > rows:
        index = MatchIndex()  # missing, unreadable, or from another registry state: rebuild in memory
    behind = max_rowid - index.covered_rowid
    index.add_rows(layer_store.match_index_rows(registry, index.covered_rowid))
    index.build()
    if behind >= SNAPSHOT_EVERY:
        try:
            index.save(path)
        except OSError:
            pass
    return index


def sync_index(registry: Registry, *, force: bool = False) -> MatchIndex | None:
    """Rewrite the index file when the delta since its snapshot is large (or ``force``); the new index, or None."""
    path = index_path(registry.path)
    _, max_rowid, _ = layer_store.match_layer_state(registry)
    meta = read_meta(path)
    covered = int(meta["covered_rowid"]) if meta else 0
    if not force and max_rowid - covered < SNAPSHOT_EVERY:
        return None
    if not force:
        return open_index(registry)  # behind by SNAPSHOT_EVERY or more: it writes the snapshot itself
    index = MatchIndex()
    index.add_rows(layer_store.match_index_rows(registry, 0))
    index.build()
    index.save(path)
    return index


def rebuild_index(registry: Registry) -> tuple[MatchIndex, float]:
    """Build the index from every layers row and write it; returns it and the seconds taken."""
    started = time.perf_counter()
    index = sync_index(registry, force=True)
    assert index is not None
    return index, time.perf_counter() - started


def index_stats(registry: Registry, index: MatchIndex | None = None) -> IndexStats:
    """Sizes and freshness of a registry's index (``index``: one already open, so it is not read again)."""
    path = index_path(registry.path)
    rows, max_rowid, full = layer_store.match_layer_state(registry)
    meta = read_meta(path)  # the snapshot's metadata only; its arrays stay on disk
    covered = int(meta["covered_rowid"]) if meta else 0
    index = index if index is not None else open_index(registry)
    return IndexStats(
        path=str(path), exists=meta is not None, works=rows, works_with_layers=full,
        global_hashes=len(index.global_codes), descriptors=len(index.local_codes), local_kind=index.local_kind,
        covered_rowid=covered, delta_rows=max_rowid - covered,
        file_bytes=path.stat().st_size if meta is not None else 0, memory_bytes=index.memory_bytes)


def read_meta(path: Path) -> dict | None:
    """The snapshot's metadata alone (the arrays stay on disk), or None."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
    except (OSError, ValueError, KeyError):
        return None
    return meta if meta.get("format") == INDEX_FORMAT else None


def index_state(registry: Registry) -> tuple[int, int]:
    """A cheap change sequence for a long-running reader: the newest layers row and the snapshot file's
    modification time.  Registering adds a row; ``index rebuild`` rewrites the file (and refills rows)."""
    newest = layer_store.newest_rowid(registry)
    try:
        written = index_path(registry.path).stat().st_mtime_ns
    except OSError:
        written = 0
    return newest, written
