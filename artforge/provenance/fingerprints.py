"""Fingerprints of one image: exact hashes and perceptual hashes, as pure functions.

* ``file_sha256``: the file's bytes; changes with any re-encode.
* ``pixel_sha256``: the canonical decoded pixels (see :mod:`artforge.imaging`); survives re-encoding and
  metadata stripping, nothing else.
* ``phash64``, ``phash256``, ``dhash``: exactly ``imagehash.phash(img)``, ``imagehash.phash(img, 16)`` and
  ``imagehash.dhash(img)`` of the RGB image; anyone with imagehash reproduces them bit for bit.
* ``pdq`` (256 bits) and ``pdq_quality`` (0-100): Meta's PDQ via ``pdqhash``, computed on the image reduced
  to at most 512 px on its long side, as PDQ's authors advise for speed (PDQ itself reduces to 64x64).
* ``colorhash``: ``imagehash.colorhash`` (42 bits) of the image reduced to at most 256 px; it is a
  histogram of colour fractions, which the reduction barely moves.

Computing them together shares the decode and the greyscale conversion, and batches run on every core;
``benchmarks/fingerprint_speed.py`` measures the gain over calling each library one by one.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from artforge.errors import ArtforgeError, BadInput
from artforge.imaging import ImageBytes, ImageSource, LoadedImage, load_image, pixel_sha256

T = TypeVar("T")

FINGERPRINT_VERSION = 1
PDQ_MAX_SIDE = 512
COLORHASH_MAX_SIDE = 256
# Hash name -> bit length, for distances and display.
PERCEPTUAL_BITS = {"phash64": 64, "phash256": 256, "dhash": 64, "pdq": 256, "colorhash": 42}


@dataclass(frozen=True)
class Fingerprint:
    """All fingerprints of one image; hashes are lower-case hex strings."""

    file_sha256: str
    pixel_sha256: str
    phash64: str
    phash256: str
    dhash: str
    pdq: str
    pdq_quality: int
    colorhash: str
    width: int
    height: int
    mode: str
    version: int = FINGERPRINT_VERSION

    def to_dict(self) -> dict:
        """Plain dict, JSON-ready."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Fingerprint":
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**fields)


@dataclass(frozen=True)
class ExactPrint:
    """A disputed image's exact hashes and size: what ``verify`` looks up before it matches.

    The matcher's own layers (dihedral PDQ, content box, keypoints) stand in for the perceptual hashes of
    a :class:`Fingerprint`, so a query skips them: they were a third of its analysis time.
    """

    file_sha256: str
    pixel_sha256: str
    pdq_quality: int  # of the matcher's PDQ (the image as analysed for matching)
    width: int
    height: int
    mode: str


def exact_print(loaded: LoadedImage, pdq_quality: int) -> ExactPrint:
    """The exact hashes and size of an already loaded image."""
    return ExactPrint(file_sha256=loaded.file_sha256, pixel_sha256=pixel_sha256(loaded.image),
                      pdq_quality=pdq_quality, width=loaded.width, height=loaded.height, mode=loaded.image.mode)


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two equal-length hex hashes."""
    if len(a_hex) != len(b_hex):
        raise ValueError("hashes of different lengths")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def _bits_to_hex(bits: np.ndarray) -> str:
    return np.packbits(np.asarray(bits, dtype=bool).ravel()).tobytes().hex()


def _reduced(image: Image.Image, max_side: int) -> Image.Image:
    """Shrink so the long side is at most ``max_side`` (box filter, integer factor: fast and alias-free)."""
    factor = max(image.width, image.height) // max_side
    return image.reduce(factor) if factor >= 2 else image


def _phash_bits(grey: Image.Image, hash_size: int) -> np.ndarray:
    # Same steps as imagehash.phash (grey input makes its convert("L") a no-op copy).
    import scipy.fftpack

    size = hash_size * 4
    pixels = np.asarray(grey.resize((size, size), Image.Resampling.LANCZOS))
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)
    low = dct[:hash_size, :hash_size]
    return low > np.median(low)


def _dhash_bits(grey: Image.Image, hash_size: int = 8) -> np.ndarray:
    pixels = np.asarray(grey.resize((hash_size + 1, hash_size), Image.Resampling.LANCZOS))
    return pixels[:, 1:] > pixels[:, :-1]


def _colorhash_hex(rgb: Image.Image) -> str:
    import imagehash

    return str(imagehash.colorhash(_reduced(rgb, COLORHASH_MAX_SIDE), binbits=3))


def pdq_hash(rgb: Image.Image) -> tuple[str, int]:
    """PDQ hash (hex) and quality of an RGB image, as stored by artforge."""
    import pdqhash

    array = np.ascontiguousarray(np.asarray(_reduced(rgb, PDQ_MAX_SIDE)))
    bits, quality = pdqhash.compute(array)
    return _bits_to_hex(bits), int(quality)


def fingerprint_image(loaded: LoadedImage) -> Fingerprint:
    """All fingerprints of an already loaded image."""
    rgb = loaded.rgb()
    grey = rgb.convert("L")  # shared by pHash-64, pHash-256 and dHash
    pdq, quality = pdq_hash(rgb)
    return Fingerprint(
        file_sha256=loaded.file_sha256,
        pixel_sha256=pixel_sha256(loaded.image),
        phash64=_bits_to_hex(_phash_bits(grey, 8)),
        phash256=_bits_to_hex(_phash_bits(grey, 16)),
        dhash=_bits_to_hex(_dhash_bits(grey)),
        pdq=pdq,
        pdq_quality=quality,
        colorhash=_colorhash_hex(rgb),
        width=loaded.width,
        height=loaded.height,
        mode=loaded.image.mode,
    )


def fingerprint_file(path: str | Path, **load_options: int) -> Fingerprint:
    """Load one image file safely and fingerprint it."""
    return fingerprint_image(load_image(path, **load_options))


def _analyse_or_error(args: tuple[Callable[[LoadedImage], T], str | ImageBytes, dict]) -> T | Exception:
    analyse, source, options = args
    try:
        if isinstance(source, ImageBytes):
            return analyse(load_image(source.data, name=source.name, **options))
        return analyse(load_image(source, **options))
    except Exception as exc:  # returned, not raised: the caller decides per file
        return exc


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_POLL_S = 0.5  # how often a worker without PR_SET_PDEATHSIG checks that its parent lives


def _die_with_parent(parent_pid: int) -> None:
    """Pool initializer: the worker ends when the process that started it dies, even by SIGKILL.

    A killed parent runs no clean-up, and forked workers hold both ends of the pool's pipes, so they never
    see EOF and would wait for work for ever.  On Linux the kernel sends them SIGKILL (PR_SET_PDEATHSIG):
    at once, and also while a worker is busy in OpenCV holding the GIL, which a polling thread would wait
    for.  The signal follows the *thread* that forked the worker; with the fork context, ProcessPoolExecutor
    starts every worker at the first ``map`` call in the thread that runs :func:`analyse_files`, which
    lives until the pool is shut down.  Elsewhere (macOS has no PDEATHSIG) a daemon thread polls getppid.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent_pid:  # the parent died between fork and prctl: no signal will come
                os._exit(1)
            return
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="artforge-parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:  # an orphan is re-parented (to init or a subreaper)
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def default_workers() -> int:
    """Worker processes for batches: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def analyse_files(
    paths: Iterable[ImageSource], analyse: Callable[[LoadedImage], T], *, workers: int | None = None,
    **load_options: int,
) -> Iterator[tuple[Path, T | Exception]]:
    """Load each file (or :class:`ImageBytes`) safely and run ``analyse`` (a module-level function) on it, on
    ``workers`` processes.

    Yields ``(path, result)`` or ``(path, error)`` in input order (bytes under their name): one bad file does
    not stop the batch.
    """
    sources = [p if isinstance(p, ImageBytes) else str(p) for p in paths]
    path_list = [Path(p.name if isinstance(p, ImageBytes) else p) for p in sources]
    workers = default_workers() if workers is None else workers
    jobs = [(analyse, source, load_options) for source in sources]
    if workers <= 1 or len(path_list) < 4:
        yield from zip(path_list, map(_analyse_or_error, jobs))
        return
    # Import the hashing libraries once here, so forked workers inherit them instead of each paying ~0.4 s.
    import imagehash  # noqa: F401
    import pdqhash  # noqa: F401
    import scipy.fftpack  # noqa: F401

    # fork starts workers in milliseconds; the parent holds no threads or locks at this point.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        chunk = max(1, min(16, len(jobs) // (workers * 4)))
        yield from zip(path_list, pool.map(_analyse_or_error, jobs, chunksize=chunk))


def fingerprint_files(
    paths: Iterable[ImageSource], *, workers: int | None = None, **load_options: int
) -> Iterator[tuple[Path, Fingerprint | Exception]]:
    """Fingerprint many files, in input order, on ``workers`` processes (default: all cores)."""
    yield from analyse_files(paths, fingerprint_image, workers=workers, **load_options)


Progress = Callable[[int, int], None]  # (done, total): called after each image of a batch


def analyse_all(paths: Iterable[ImageSource], analyse: Callable[[LoadedImage], T], *, workers: int | None = None,
                progress: Progress | None = None, **load_options: int) -> list[T]:
    """``analyse`` of every path, in order, or :class:`BadInput` naming the first bad file; ``progress`` is
    told after each image."""
    sources = list(paths)
    results = []
    for path, result in analyse_files(sources, analyse, workers=workers, **load_options):
        if isinstance(result, ArtforgeError):
            raise result
        if isinstance(result, Exception):
            raise BadInput(f"{path}: cannot fingerprint ({type(result).__name__}: {result})")
        results.append(result)
        if progress is not None:
            progress(len(results), len(sources))
    return results


def fingerprint_all(paths: Iterable[ImageSource], *, workers: int | None = None, progress: Progress | None = None,
                    **load_options: int) -> list[Fingerprint]:
    """Fingerprints of every path, in order, or :class:`BadInput` naming the first bad file."""
    return analyse_all(paths, fingerprint_image, workers=workers, progress=progress, **load_options)
