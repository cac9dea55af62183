"""``artforge fingerprint``: the exact and perceptual hashes of images, read under the home's size limits."""

from __future__ import annotations

from collections.abc import Sequence

from artforge.imaging import ImageSource
from artforge.provenance.fingerprints import Fingerprint, Progress, fingerprint_all
from artforge.usecases.home import Home


def fingerprint_images(home: Home, paths: Sequence[ImageSource], progress: Progress | None = None) -> list[Fingerprint]:
    """One :class:`Fingerprint` per image (a file or :class:`~artforge.imaging.ImageBytes`), in order; the first
    unreadable one fails them all."""
    return fingerprint_all(paths, progress=progress, **home.settings.image_limits)
