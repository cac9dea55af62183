"""Making images: train, generate (and register what is generated), interpolate, evaluate.

The generation wing makes the images and knows nothing of keys or the registry; :func:`generate_and_register`
joins it to registration, so that a generated work's record names its checkpoint, seed, prompt and dataset.
The CLI and the Python API reach the generation wing only through this module.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from PIL import Image

from artforge.errors import UsageError
from artforge.fsutil import write_output
from artforge.generation import sampling
from artforge.generation.quality import QualityReport, evaluate_checkpoint
from artforge.generation.recipes import OptimConfig
from artforge.generation.sampling import GenerateResult, parse_seeds
from artforge.generation.train_config import RUN_OPTIONS, TrainConfig, parse_duration
from artforge.generation.training import Callback, TrainResult, train
from artforge.imaging import pixel_sha256
from artforge.matching import watermark as watermark_scheme
from artforge.matching.matcher import analyse_for_registration
from artforge.provenance.fingerprints import Progress, analyse_all
from artforge.usecases.credentials import credentials_bytes
from artforge.usecases.home import Home
from artforge.usecases.register import register_analysed
from artforge.usecases.watermarking import mark_id_for, marked_pixels

# What the callers build their requests from, named here so they need no other module.
__all__ = ["RUN_OPTIONS", "Callback", "GenerateResult", "OptimConfig", "QualityReport", "TrainConfig", "TrainResult",
           "evaluate", "generate", "generate_and_register", "interpolate", "parse_duration", "parse_seeds",
           "train_generator"]


def train_generator(config: TrainConfig, callbacks: Sequence[Callback] = (), resume: str | None = None,
                    given: Collection[str] | None = None) -> TrainResult:
    """Train as ``config`` says (``resume``: a checkpoint, or ``latest`` in ``config.out``); a checkpoint
    results.  ``given``: the fields the user chose (default: those that differ from the defaults)."""
    return train(config, list(callbacks), resume=resume, given=given)


def generate(checkpoint: str | Path, out_dir: str | Path, seeds: list[int], *, label: int | None = None,
             prompt: str | None = None, truncation: float = 1.0, grid: str | Path | None = None,
             prefix: str = "img") -> GenerateResult:
    """Sample one PNG per seed into ``out_dir`` (nothing is registered)."""
    result, _model = sampling.generate_images(checkpoint, out_dir, seeds, label=label, prompt=prompt,
                                              truncation=truncation, grid=grid, prefix=prefix)
    return result


def interpolate(checkpoint: str | Path, seed_from: int, seed_to: int, frames: int, out: str | Path, *,
                label: int | None = None, prompt: str | None = None, truncation: float = 1.0) -> list[str]:
    """Frames between two seeds: a GIF when ``out`` ends in .gif, else a folder of PNG frames."""
    return sampling.interpolate(checkpoint, seed_from, seed_to, frames, out, label=label, prompt=prompt,
                                truncation=truncation)


def evaluate(checkpoint: str | Path, *, samples: int = 1000, seed: int = 0,
             features: str | None = None) -> QualityReport:
    """Classifier-FID and KID against the checkpoint's training data (and per-condition accuracy)."""
    return evaluate_checkpoint(checkpoint, samples=samples, seed=seed, features=features)


def generate_and_register(home: Home, checkpoint: str | Path, out_dir: str | Path, seeds: list[int], *,
                          licence_id: str, key_name: str | None = None, label: int | None = None,
                          prompt: str | None = None, truncation: float = 1.0, grid: str | Path | None = None,
                          prefix: str = "img", progress: Progress | None = None,
                          watermark: bool = False, credentials: bool = False) -> sampling.GenerateResult:
    """Generate, then register every image with origin ``generated`` in one transaction (``progress`` is told
    as each image is analysed for its record).  With ``watermark``, each image carries an invisible mark
    (see :mod:`artforge.usecases.watermarking`) before it is written, and its record signs the mark; images
    too small to carry one are refused before anything is written.  With ``credentials``, a copy of each
    image carrying its signed Content Credentials is written beside it as ``<name>.c2pa.png``.

    The licence and key are checked before anything is written.  The files are left as registered: the
    record's ``file_sha256`` is that of the PNG the user receives (a record id written into the file
    afterwards would change its hash, and no file can hold the hash of itself); ``verify`` finds the record.
    """
    with home.registry() as registry:
        registry.licence(licence_id)
        signer = home.signer(key_name)
        made: list[dict] = []
        finish = (lambda picture: _marked(picture, signer.key_id, made)) if watermark else None
        result, model = sampling.generate_images(checkpoint, out_dir, seeds, label=label, prompt=prompt,
                                                 truncation=truncation, grid=grid, prefix=prefix, finish=finish)
        paths = [Path(item.path) for item in result.images]
        analysed = analyse_all(paths, analyse_for_registration, workers=1, progress=progress,
                               **home.settings.image_limits)
        items = [(str(path), fp, f"{model.family} seed {item.seed}" + (f": {prompt}" if prompt else ""),
                  sampling.generation_origin(model, item.seed, label, prompt, truncation))
                 for path, fp, item in zip(paths, analysed, result.images)]
        registered = register_analysed(registry, home, items, licence_id=licence_id, key_name=key_name,
                                       marks={str(path): mark for path, mark in zip(paths, made)})
        for item, work, mark in zip(result.images, registered, made or [None] * len(registered)):
            item.work_id = work.work_id
            item.mark_id = mark["id"] if mark else None
            if credentials:
                path = Path(item.path)
                item.c2pa_path = str(write_output(path.with_name(f"{path.stem}.c2pa.png"), credentials_bytes(
                    home, registry, work.work_id, path.read_bytes(), str(path), key_name)))
    result.registered = True
    return result


def _marked(picture: Image.Image, key_id: str, made: list[dict]) -> Image.Image:
    """A generated picture with its mark (the mark is appended to ``made``); grey pictures stay grey."""
    if not watermark_scheme.can_carry(picture.width, picture.height):
        raise UsageError(f"generated images are {picture.width}x{picture.height} px: too small to carry a watermark "
                         f"(needs at least {watermark_scheme.MIN_SIDE} px a side)")
    rgb = picture.convert("RGB")
    mark_id = mark_id_for(key_id, pixel_sha256(rgb))
    marked, _psnr = marked_pixels(rgb, mark_id)
    made.append({"scheme": watermark_scheme.SCHEME, "id": mark_id})
    return marked.convert(picture.mode) if picture.mode == "L" else marked
