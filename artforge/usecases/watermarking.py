"""``register --watermark --out DIR``: mark copies of images with an invisible id, then register the copies.

The mark id is derived from the signing key and the original's pixels, so marking the same image again with
the same key writes the same pixels and registration returns the work already there (idempotent, like a
plain ``register``).  The registration record signs ``work.watermark`` = ``{"scheme", "id"}`` and the marked
file's hashes: the marked copy is the work.  All or nothing: the copies are written under temporary names,
renamed into place only once the registry has committed, and removed on any error.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from artforge.errors import BadInput, UsageError
from artforge.imaging import LoadedImage, load_image, pixel_sha256
from artforge.matching import watermark
from artforge.matching.matcher import Analysed, analyse_for_registration
from artforge.provenance.fingerprints import Progress, analyse_all
from artforge.usecases.home import Home
from artforge.usecases.register import RegisteredWork, checked_title, clean_title, register_analysed

MARK_DOMAIN = b"artforge-mark-id-v1\0"


def mark_id_for(key_id: str, pixel_sha256_hex: str) -> str:
    """The mark id a key gives an image (16 hex characters): the same pixels and key always give the same."""
    return hashlib.sha256(MARK_DOMAIN + key_id.encode() + b"\0" + pixel_sha256_hex.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MarkedImage:
    """A marked copy of one image, analysed for registration (made in a worker process)."""

    png: bytes
    mark: dict  # {"scheme", "id"}
    psnr: float
    analysed: Analysed


def marked_pixels(image: Image.Image, mark_id: str) -> tuple[Image.Image, float]:
    """``image`` (RGB or RGBA) with ``mark_id`` in its colour channels (transparency kept), and the PSNR."""
    array = np.asarray(image)
    marked, psnr = watermark.embed(np.ascontiguousarray(array[..., :3]), mark_id)
    if image.mode == "RGBA":
        marked = np.dstack([marked, array[..., 3]])
    return Image.fromarray(marked, mode=image.mode), psnr


def mark_and_analyse(loaded: LoadedImage, *, key_id: str) -> MarkedImage:
    """Mark one loaded image for ``key_id`` and analyse the marked copy as registration would."""
    name = str(loaded.path or "<image>")
    if not watermark.can_carry(loaded.width, loaded.height):
        raise BadInput(f"{name}: {loaded.width}x{loaded.height} px is too small to carry a watermark "
                       f"(needs at least {watermark.MIN_SIDE} px a side)")
    mark_id = mark_id_for(key_id, pixel_sha256(loaded.image))
    image, psnr = marked_pixels(loaded.image, mark_id)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    png = buffer.getvalue()
    analysed = analyse_for_registration(load_image(png, name=name))
    return MarkedImage(png, {"scheme": watermark.SCHEME, "id": mark_id}, psnr, analysed)


def _targets(paths: Sequence[Path], out_dir: Path) -> list[Path]:
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInput(f"{out_dir}: not a folder")
    targets = [out_dir / f"{path.stem}.png" for path in paths]
    seen: dict[Path, Path] = {}
    for path, target in zip(paths, targets):
        if target in seen:
            raise UsageError(f"{seen[target]} and {path} would both be written to {target}")
        if path.resolve() == target.resolve():
            raise UsageError(f"{path}: the marked copy would replace the original; choose another output folder")
        seen[target] = path
    return targets


def _write_temporary(target: Path, data: bytes) -> Path:
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
    except OSError as exc:
        raise BadInput(f"{target.parent}: cannot write ({exc.strerror or type(exc).__name__})") from None
    return temporary


def register_watermarked(
    home: Home,
    paths: Sequence[str | Path],
    out_dir: Path,
    *,
    licence_id: str,
    title: str | None = None,
    key_name: str | None = None,
    parents: Sequence[str] = (),
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[RegisteredWork]:
    """Write a marked PNG copy of each image into ``out_dir`` (as ``<stem>.png``) and register the copies.

    A marked copy that is already in ``out_dir`` with other bytes is not overwritten (an error, before
    anything is written).  Either every copy is written and registered, or nothing is.
    """
    title = checked_title(title, len(paths))
    path_list = [Path(p) for p in paths]
    targets = _targets(path_list, out_dir)
    with home.registry() as registry:
        registry.licence(licence_id)  # fail on an unknown licence or a locked key before any work is done
        signer = home.signer(key_name)
        marked = analyse_all(path_list, functools.partial(mark_and_analyse, key_id=signer.key_id), workers=workers,
                             progress=progress, **home.settings.image_limits)
        for target, copy in zip(targets, marked):
            if target.exists() and target.read_bytes() != copy.png:
                raise BadInput(f"{target}: already exists with other content; not overwritten")
        made_folder = not out_dir.exists()
        out_dir.mkdir(parents=True, exist_ok=True)
        temporaries: list[Path] = []
        results: list[RegisteredWork] = []
        try:
            for target, copy in zip(targets, marked):
                temporaries.append(_write_temporary(target, copy.png))
            items = [(str(target), copy.analysed, title or clean_title(path.stem))
                     for path, target, copy in zip(path_list, targets, marked)]
            results = register_analysed(registry, home, items, licence_id=licence_id, key_name=key_name,
                                        parents=parents, marks={str(t): c.mark for t, c in zip(targets, marked)})
            for temporary, target in zip(temporaries, targets):
                os.replace(temporary, target)
        finally:
            for temporary in temporaries:
                temporary.unlink(missing_ok=True)
            if made_folder and not results:
                with contextlib.suppress(OSError):
                    out_dir.rmdir()  # nothing was registered: leave no empty folder behind
    return [replace(result, source=str(path), mark=copy.mark, psnr=round(copy.psnr, 2))
            for result, path, copy in zip(results, path_list, marked)]
