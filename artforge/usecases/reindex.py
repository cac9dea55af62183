"""``artforge index rebuild|stats``: keep the matcher's index and layers in step with the registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from artforge.matching import layer_store
from artforge.matching.index_file import IndexStats, index_stats, rebuild_index
from artforge.matching.layers import MatchLayers, work_tiles
from artforge.matching.matcher import analyse_for_registration
from artforge.provenance.fingerprints import Progress, analyse_all
from artforge.registry.database import Registry
from artforge.usecases.home import Home


@dataclass(frozen=True)
class RebuildResult:
    """What ``index rebuild`` did."""

    layers_added: int  # works whose layers were computed from the given images
    tiles_added: int  # works whose tone tiles were computed from their stored thumbnails
    images_unmatched: list[str]  # given images whose pixels match no registered work
    works_without_layers: int  # still lacking layers (matched by their global PDQ only)
    seconds: float
    stats: IndexStats

    def to_dict(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items() if k != "stats"}, "seconds": round(self.seconds, 3),
                "stats": self.stats.to_dict()}


def rebuild(home: Home, images: Sequence[str | Path] = (), *, workers: int | None = None,
            progress: Progress | None = None) -> RebuildResult:
    """Fill in missing layers from ``images`` (matched to works by pixel hash), then rebuild the index file.

    Works registered before layers existed are found by their global PDQ only until their images are given
    here.  Works registered before tone tiles existed get them from their stored thumbnails.  The layers
    are written in one transaction; the index file is written whole and renamed.
    """
    added, unmatched = 0, []
    with home.registry() as registry:
        tiles_added = fill_tiles(registry)
        if images:
            missing: dict[str, list[str]] = {}
            for work_id, pixel_sha256 in layer_store.works_without_layers(registry):
                missing.setdefault(pixel_sha256, []).append(work_id)
            analysed = analyse_all(images, analyse_for_registration, workers=workers, progress=progress,
                                   **home.settings.image_limits)
            with registry.transaction():
                for path, item in zip(images, analysed):
                    work_ids = missing.pop(item.fingerprint.pixel_sha256, None)
                    if work_ids is None:
                        unmatched.append(str(path))
                        continue
                    for work_id in work_ids:
                        layer_store.put_match_layers(registry, work_id, bytes.fromhex(item.fingerprint.pdq), item.layers.to_row())
                        added += 1
        index, seconds = rebuild_index(registry)
        remaining = len(layer_store.works_without_layers(registry))
        return RebuildResult(added, tiles_added, unmatched, remaining, seconds, index_stats(registry, index))


def fill_tiles(registry: Registry) -> int:
    """Compute the tone tiles of layer rows that predate them (b"" for textured works); returns how many."""
    rows = layer_store.rows_without_tiles(registry)
    with registry.transaction():
        for row in rows:
            layers = MatchLayers.from_row(row)
            layer_store.put_tile_hashes(registry, row["work_id"], work_tiles(layers.thumbnail, len(layers.points), layers.box_quality))
    return len(rows)


def stats(home: Home) -> IndexStats:
    """Sizes and freshness of the home's index."""
    with home.registry() as registry:
        return index_stats(registry)
