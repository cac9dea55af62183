"""The invisible watermark as one more, independent piece of evidence in a dispute report.

A disputed image is read for a mark (:mod:`artforge.matching.watermark`) as it is, and, when the pixel match
found a work whose signed record carries a mark and the plain read did not find it, again after warping the
image into that original's frame by the match's alignment (a crop, a pad or a turn moves the mark's frame).
A mark names a work only through the work's signed registration (``work.watermark``); the ``watermarks``
table only finds it.  Registries with no marked work skip all of this: their reports are as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from artforge.matching import layer_store, mark_store, watermark
from artforge.matching.compare import oriented_query
from artforge.matching.layers import QueryLayers, thumbnail_shape
from artforge.provenance.sealing import is_sealed
from artforge.registry.database import Registry

ALIGNED_LONG_SIDE = 512  # px of the original's frame the image is warped into (the mark lives far below it)
# Art this alike under a mirror, flip or half turn may have been aligned under one of them: its aligned read also
# tries the turns and flips (a flag, a badge).  Photographs stay well under it.
SYMMETRIC = 0.8


@dataclass(frozen=True)
class WatermarkFinding:
    """What the image's pixels say about marks, next to what the signed records say."""

    found: bool
    mark_id: str | None
    read: str  # "as-is" (the image as it came, under each turn and flip) or "aligned" (onto the matched original)
    strength: float  # mean agreement of the mark's bits, 0..1 (about 0.1 on unmarked images)
    work_id: str | None  # the registered work whose signed record carries the mark found
    expected: str | None  # the mark the matched work's signed record carries, if any

    @property
    def agrees(self) -> bool | None:
        """Whether the mark found is the matched work's (None when there is nothing to compare)."""
        if self.expected is None or not self.found:
            return None
        return self.mark_id == self.expected

    def to_dict(self) -> dict:
        return {"found": self.found, "mark_id": self.mark_id, "read": self.read, "strength": round(self.strength, 3),
                "work_id": self.work_id, "expected": self.expected, "agrees": self.agrees}

    def summary(self) -> str:
        """One line for the terminal report."""
        if self.found and self.agrees:
            return f"{self.mark_id}, the matched work's own mark (read {self.read})"
        if self.found and self.work_id:
            return f"{self.mark_id}, the mark of registered work {self.work_id[:12]} (read {self.read})"
        if self.found:
            return f"{self.mark_id}: a mark no work in this registry signs (read {self.read})"
        return f"not found (the matched work carries {self.expected}; edits or a re-encode removed it)"


def _signed_mark(registration: dict | None) -> str | None:
    mark = (registration or {}).get("work", {}).get("watermark")
    return mark.get("id") if isinstance(mark, dict) and mark.get("scheme") == watermark.SCHEME else None


def _aligned_read(registry: Registry, query: QueryLayers, evidence, work_size: tuple[int, int],
                  expected: str) -> watermark.MarkReading:
    """Read the image warped into the matched original's frame through the match's alignment."""
    row = layer_store.match_layers_of(registry, evidence.work_id)
    if row is None or not row.get("thumbnail") or is_sealed(row["thumbnail"]):  # a private work carries no mark
        return watermark.MarkReading(False, None, 0.0, "aligned")
    thumb_h, thumb_w = thumbnail_shape(row["thumbnail"])
    width, height = work_size
    scale = ALIGNED_LONG_SIDE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    to_frame = np.diag([size[0] / thumb_w, size[1] / thumb_h, 1.0])
    matrix = (to_frame @ np.vstack([np.asarray(evidence.matrix, np.float64), [0, 0, 1]]))[:2]
    image = oriented_query(query, evidence.dihedral, evidence.mirrored)
    return watermark.read_mark_aligned(image, matrix, size, expected, symmetric=evidence.symmetry >= SYMMETRIC)


def find_watermark(registry: Registry, query: QueryLayers, registration_of, match,
                   plain: watermark.MarkReading | None = None) -> WatermarkFinding | None:
    """The watermark finding for one disputed image, or None when the registry holds no marked work.

    ``registration_of(work_id)`` gives a work's verified registration payload (None when its chain fails);
    ``match`` is the report's matched candidate, or None; ``plain`` the image read as it came, at full size
    (read here from the matcher's smaller working copy when not given: 1-3% of marks are lost that way).
    """
    if not mark_store.has_marks(registry):
        return None
    expected = _signed_mark(registration_of(match.work_id)) if match is not None else None
    given = query.as_given if query.as_given is not None else query
    reading, how = (plain if plain is not None else watermark.read_mark(given.work)), "as-is"
    if not reading.found and expected is not None and match.evidence is not None:
        work = registry.work(match.work_id)
        aligned = _aligned_read(registry, query, match.evidence, (work.width, work.height), expected)
        if aligned.found:
            reading, how = aligned, "aligned"
    if not reading.found and expected is None:
        return None  # nothing found and nothing expected: nothing to say
    owner = None
    if reading.found:
        owner = next((work_id for work_id in mark_store.works_with_mark(registry, reading.mark_id)
                      if _signed_mark(registration_of(work_id)) == reading.mark_id), None)
    return WatermarkFinding(reading.found, reading.mark_id, how, reading.strength, owner, expected)


def watermark_notes(finding: WatermarkFinding | None, match) -> list[str]:
    """What a reader must not miss: a mark that names another work than the pixels, or a work no match found."""
    if finding is None or not finding.found or finding.work_id is None:
        return []
    if match is None:
        return [f"the image carries the invisible mark of registered work {finding.work_id[:12]}, "
                "though its pixels were not matched to it"]
    if finding.work_id != match.work_id:
        return [f"the image carries the invisible mark of registered work {finding.work_id[:12]}, "
                f"not of the matched work {match.work_id[:12]}"]
    return []


def settled_by_mark(finding: WatermarkFinding | None, verdict: str, candidates: list) -> object | None:
    """Of works whose pixels match alike (an ``ambiguous`` verdict), the one whose signed mark the image
    carries, if any.  A mark anyone could embed only chooses among works the pixels already match."""
    if verdict != "ambiguous" or finding is None or not finding.found or finding.work_id is None:
        return None
    return next((c for c in candidates if c.kind is not None and c.work_id == finding.work_id), None)
