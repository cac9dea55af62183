"""Checkpoint -> images: seeded sampling, grids and interpolation (registering them is ``usecases.generate``).

Each image's noise comes from its own seed (``torch.Generator().manual_seed(seed)``), so the same seed
gives the same pixels whatever else is generated with it.  ``truncation`` scales the noise towards the
mean (the "truncation trick"): lower values trade variety for fidelity.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, PngImagePlugin

from artforge.errors import BadInput, UsageError
from artforge.fsutil import atomic_write
from artforge.generation.data import to_uint8
from artforge.generation.model_checkpoint import Checkpoint, load_checkpoint
from artforge.generation.models.cgan import Condition
from artforge.generation.models.text import Vocabulary
from artforge.generation.recipes import ModelSpec, OptimConfig, Recipe, build_recipe
from artforge.version import __version__

MAX_IMAGES = 10_000


def parse_seeds(text: str | None, count: int, start: int = 0) -> list[int]:
    """``"0-15"``, ``"3,7,9"`` or ``"0-3,10"`` -> seeds; without text, ``count`` seeds from ``start``."""
    if not text:
        return list(range(start, start + count))
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise UsageError(f"cannot read seeds {text!r}: use e.g. 0-15 or 1,5,9")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise UsageError(f"seed range {part.strip()!r} runs backwards")
        seeds.extend(range(first, last + 1))
        if len(seeds) > MAX_IMAGES:
            raise UsageError(f"more than {MAX_IMAGES} seeds")
    return seeds


def image_from_tensor(image: torch.Tensor) -> Image.Image:
    """(C, H, W) in [-1, 1] -> PIL image (L or RGB)."""
    array = to_uint8(image).cpu().numpy()
    if array.shape[0] == 1:
        return Image.fromarray(array[0], "L")
    return Image.fromarray(np.ascontiguousarray(array.transpose(1, 2, 0)), "RGB")


def png_bytes(image: Image.Image, text: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def save_grid(images: torch.Tensor, path: Path, columns: int = 8, padding: int = 2) -> Path:
    """Tile (N, C, H, W) images in [-1, 1] into one PNG (written atomically)."""
    count, channels, height, width = images.shape
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    tiles = to_uint8(images).cpu()
    grid = torch.zeros(channels, rows * (height + padding) + padding, columns * (width + padding) + padding,
                       dtype=torch.uint8)
    for index in range(count):
        r, c = divmod(index, columns)
        top, left = padding + r * (height + padding), padding + c * (width + padding)
        grid[:, top:top + height, left:left + width] = tiles[index]
    atomic_write(path, png_bytes(image_from_tensor(grid.float() / 127.5 - 1)))
    return path


@dataclass
class LoadedModel:
    """A model rebuilt from its checkpoint alone, ready to sample."""

    checkpoint: Checkpoint
    recipe: Recipe
    condition: Condition
    vocabulary: Vocabulary | None = None

    @property
    def family(self) -> str:
        return self.recipe.spec.family

    def condition_input(self, count: int, label: int | None, prompt: str | None) -> torch.Tensor | None:
        """The condition tensor for ``count`` images, or a clear error for a wrong label/prompt."""
        mode = self.condition.mode
        if mode == "none":
            if label is not None or prompt is not None:
                raise UsageError(f"this {self.family} model is unconditional: drop `label`/`prompt`")
            return None
        if mode == "label":
            if prompt is not None:
                raise UsageError("this model is conditioned on classes: use `label=N`, not `prompt`")
            if label is None:
                raise UsageError(f"give `label` 0..{self.condition.num_classes - 1} "
                                 f"({', '.join(self.condition.class_names)})")
            if not 0 <= label < self.condition.num_classes:
                raise UsageError(f"label {label} is out of range 0..{self.condition.num_classes - 1}")
            return torch.full((count,), label, dtype=torch.int64)
        if label is not None:
            raise UsageError("this model is conditioned on text: use `prompt`, not `label`")
        if not prompt:
            raise UsageError("this model needs `prompt` (words from its training captions)")
        return self.vocabulary.batch([prompt] * count)

    def prompt_notes(self, prompt: str | None) -> list[str]:
        """Warnings about a prompt: the words it holds that the model knows nothing of (they were left out)."""
        if not prompt or self.vocabulary is None:
            return []
        unknown = self.vocabulary.unknown(prompt)
        if not unknown:
            return []
        return [f"left out of the prompt, the model knows nothing of: {', '.join(unknown)} "
                f"(it knows: {', '.join(self.vocabulary.words[:16])})"]


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the sampling network from a checkpoint file."""
    checkpoint = load_checkpoint(path, map_location=device)
    if checkpoint.spec.get("family") == "style":  # artforge.generation.style_network: it transforms, not samples
        raise BadInput(f"{path}: a style model repaints pictures; use: artforge stylize CONTENT --model {path}")
    try:
        spec = ModelSpec(**checkpoint.spec)
        optim = OptimConfig.from_dict(checkpoint.data.get("train_config", {}).get("optim", {}))
        recipe = build_recipe(spec, optim, torch.device(device))
        for name, module in recipe.modules().items():
            if name in checkpoint.data["modules"]:
                module.load_state_dict(checkpoint.data["modules"][name])
    except (TypeError, KeyError, RuntimeError, ValueError) as exc:
        raise BadInput(f"{path}: checkpoint does not match its model spec ({str(exc).splitlines()[0][:120]})") from None
    condition = Condition.from_dict(spec.condition)
    return LoadedModel(checkpoint, recipe, condition, condition.make_vocabulary())


def noise_for_seeds(seeds: list[int], z_dim: int, truncation: float = 1.0) -> torch.Tensor:
    """One noise vector per seed, independent of the others."""
    if not 0 < truncation <= 1.0:
        raise UsageError("`truncation` must be in (0, 1]")
    return torch.stack([torch.randn(z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds]) * truncation


def sample(model: LoadedModel, seeds: list[int], *, label: int | None = None, prompt: str | None = None,
           truncation: float = 1.0, batch_size: int = 64) -> torch.Tensor:
    """Images (N, C, H, W) in [-1, 1] for the given seeds."""
    cond = model.condition_input(len(seeds), label, prompt)
    z = noise_for_seeds(seeds, model.recipe.z_dim, truncation)
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(seeds), batch_size):
            part = None if cond is None else cond[start:start + batch_size]
            chunks.append(model.recipe.generate(z[start:start + batch_size], part).cpu())
    return torch.cat(chunks)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between two noise vectors (stays on the Gaussian's shell)."""
    cos = torch.clamp(torch.dot(a, b) / (a.norm() * b.norm()), -1.0, 1.0)
    omega = torch.acos(cos)
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


@dataclass
class GeneratedImage:
    """One generated file and how it was made."""

    path: str
    seed: int
    label: int | None
    prompt: str | None
    work_id: str | None = None
    mark_id: str | None = None  # the invisible mark the caller put in it (only when one was asked for)
    c2pa_path: str | None = None  # a copy with Content Credentials the caller wrote (only when asked for)

    def to_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items()
                if key not in ("mark_id", "c2pa_path") or value is not None}


@dataclass
class GenerateResult:
    """The files ``artforge generate`` wrote."""

    images: list[GeneratedImage]
    checkpoint_sha256: str
    grid: str | None = None
    registered: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"images": [i.to_dict() for i in self.images], "checkpoint_sha256": self.checkpoint_sha256,
                "grid": self.grid, "registered": self.registered, "notes": list(self.notes)}


def generation_origin(model: LoadedModel, seed: int, label: int | None, prompt: str | None,
                      truncation: float) -> dict:
    """The ``origin`` of a generated work's provenance record."""
    data = model.checkpoint.data
    dataset = data.get("dataset", {})
    lineage = {"parent": data["parent"]} if data.get("parent") else {}  # fine-tuned: the model it started from
    return {
        "type": "generated",
        "generator": {
            "family": model.family,
            "config": {k: v for k, v in model.recipe.spec.config.items() if not isinstance(v, float)},
            "checkpoint_sha256": model.checkpoint.sha256,
            "checkpoint_step": model.checkpoint.step,
            "seed": seed,
            "label": label,
            "class_name": None if label is None else model.condition.class_names[label],
            "prompt": prompt,
            "truncation_milli": round(truncation * 1000),  # records hold no floats (docs/record-format.md)
            "dataset": {"name": dataset.get("name"), "fingerprint": dataset.get("fingerprint"),
                        "images": dataset.get("images")},
            "software": {"artforge": __version__, "torch": str(torch.__version__)},
            **lineage,
        },
    }


def generate_images(checkpoint: str | Path, out_dir: str | Path, seeds: list[int], *, label: int | None = None,
                    prompt: str | None = None, truncation: float = 1.0, grid: str | Path | None = None,
                    prefix: str = "img", device: str = "cpu",
                    finish: Callable[[Image.Image], Image.Image] | None = None) -> tuple[GenerateResult, LoadedModel]:
    """Sample one PNG per seed into ``out_dir`` (each written atomically) and an optional grid.

    ``finish`` is applied to every image before any is written (a caller's last step, e.g. a watermark); if
    it raises, nothing is written.
    """
    if not seeds:
        raise UsageError("no images to generate")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", prefix):
        raise UsageError("`prefix` may only hold letters, digits, '.', '_' and '-'")
    model = load_model(checkpoint, device)
    images = sample(model, seeds, label=label, prompt=prompt, truncation=truncation)
    pictures = [image_from_tensor(image) for image in images]
    if finish is not None:
        pictures = [finish(picture) for picture in pictures]
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for seed, picture in zip(seeds, pictures):
        path = folder / f"{prefix}-seed{seed:06d}.png"
        atomic_write(path, png_bytes(picture))
        results.append(GeneratedImage(str(path), seed, label, prompt))
    grid_path = str(save_grid(images, Path(grid))) if grid else None
    return GenerateResult(results, model.checkpoint.sha256, grid_path, notes=model.prompt_notes(prompt)), model


def interpolate(checkpoint: str | Path, seed_a: int, seed_b: int, frames: int, out: str | Path, *,
                label: int | None = None, prompt: str | None = None, truncation: float = 1.0,
                frame_ms: int = 80) -> list[str]:
    """Frames between two seeds (slerp in noise space): a GIF when ``out`` ends in .gif, else PNG frames."""
    if not 2 <= frames <= 1000:
        raise UsageError("`frames` must be between 2 and 1000")
    model = load_model(checkpoint)
    a, b = noise_for_seeds([seed_a, seed_b], model.recipe.z_dim, truncation)
    z = torch.stack([slerp(a, b, i / (frames - 1)) for i in range(frames)])
    cond = model.condition_input(frames, label, prompt)
    with torch.inference_mode():
        images = model.recipe.generate(z, cond).cpu()
    pictures = [image_from_tensor(im) for im in images]
    out = Path(out)
    if out.suffix.lower() == ".gif":
        buffer = io.BytesIO()
        pictures[0].save(buffer, "GIF", save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0)
        atomic_write(out, buffer.getvalue())
        return [str(out)]
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, picture in enumerate(pictures):
        path = out / f"frame-{index:04d}.png"
        atomic_write(path, png_bytes(picture))
        paths.append(str(path))
    return paths
