"""A long-running verifier (one per HTTP service worker): the index loaded once, kept in step with the registry.

Each request checks a cheap change sequence (:func:`artforge.matching.index_file.index_state`: the newest
layers row, the index snapshot's time) and reloads the index only when another process registered works or
rebuilt it, so several workers on several machines can share one registry and each sees new works at its
next request.  Verification keeps per-process state (see :func:`iter_verify`), so a worker verifies one image
at a time; more workers give more throughput.
"""

from __future__ import annotations

import threading

from artforge.imaging import ImageBytes
from artforge.matching.index import MatchIndex
from artforge.matching.index_file import index_state, open_index
from artforge.registry import transparency_log as translog
from artforge.usecases.home import Home
from artforge.usecases.verify import DisputeReport, VerifyFailure, iter_verify


class VerifyService:
    """Verify uploaded images against one home's registry, the index held between requests."""

    def __init__(self, home: Home):
        self.home = home
        self._lock = threading.Lock()
        self._index: MatchIndex | None = None
        self._state: tuple[int, int] | None = None
        self.reloads = 0  # how many times the index was (re)loaded: 1 + the changes seen

    def _current_index(self) -> MatchIndex:
        with self.home.registry() as registry:
            state = index_state(registry)
            if self._index is None or state != self._state:
                self._index, self._state = open_index(registry), state
                self.reloads += 1
        return self._index

    def verify(self, data: bytes, name: str = "upload") -> DisputeReport:
        """The dispute report of one image's bytes (the same as ``artforge verify``'s); a bad image raises its
        :class:`~artforge.errors.BadInput`, with the same one-line reason."""
        with self._lock:
            (item,) = list(iter_verify(self.home, [ImageBytes(data, name)], workers=1, index=self._current_index(),
                                       open_private=False))
        if isinstance(item, VerifyFailure):
            raise item.error
        item.path = name
        return item


def newest_checkpoint(home: Home) -> dict | None:
    """The newest signed checkpoint as stored (nothing is signed here: a reader holds no key), or None."""
    with home.registry() as registry:
        latest = translog.latest_checkpoint(registry.db)
        if latest is None:
            return None
        origin, public = translog.log_key(registry.db, latest.key_id)
        return {**latest.to_dict(), "log_size": translog.size(registry.db), "origin": origin,
                "public_key": public.hex()}
