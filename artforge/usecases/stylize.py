"""``artforge stylize`` and ``artforge train --model style``: paint pictures in another picture's style.

Two methods, one result shape:

* **optimisation** (Gatys): no training, about a minute a picture on a laptop CPU;
* **network** (``--model style.ckpt``): a feed-forward network trained for one style, a fraction of a second
  a picture.

With ``register`` the stylized pictures become derived works: the record's parents are the registered
works the content and the style pictures are (found as ``verify`` finds them: an exact or modified copy),
and its signed origin says which was which, by which method, feature network and checkpoint.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from artforge.errors import BadInput, UsageError
from artforge.fsutil import atomic_write
from artforge.generation.photos import image_files, load_photo, to_image
from artforge.generation.sampling import png_bytes
from artforge.generation.style_features import load_style_features
from artforge.generation.style_network import (
    StyleTrainConfig,
    StyleTrainResult,
    apply_style_network,
    load_style_network,
    train_style_network,
)
from artforge.generation.style_transfer import GatysConfig, StyleWeights, stylize_by_optimisation
from artforge.provenance.fingerprints import analyse_all
from artforge.usecases.home import Home
from artforge.usecases.register import analyse_for_registration, register_analysed
from artforge.usecases.verify import verify_images

__all__ = ["GatysConfig", "StyleTrainConfig", "StyleTrainResult", "StyleWeights", "StylizeResult", "StylizedImage",
           "stylize",
           "stylize_and_register", "train_style_model"]

OUTPUT_SUFFIX = ".png"
PARENT_VERDICTS = ("exact-copy", "modified-copy")  # what counts as "this picture is that registered work"
Progress = Callable[[int, int], None]


@dataclass
class StylizedImage:
    """One stylized picture."""

    content: str
    path: str
    seconds: float
    losses: dict | None = None  # optimisation only: the final normalised style/content/tv terms
    iterations: int | None = None
    work_id: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class StylizeResult:
    """What ``stylize`` made, and how."""

    method: str  # "optimisation" or "network"
    style: str | None
    style_sha256: str
    feature_net: dict
    images: list[StylizedImage] = field(default_factory=list)
    model: dict | None = None  # network: the checkpoint's path, SHA-256 and style
    parents: dict[str, str] = field(default_factory=dict)  # role -> work id, when registered
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items() if k != "images"},
                "images": [image.to_dict() for image in self.images]}


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (what records cite)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _contents(content: Path) -> list[Path]:
    return image_files(content) if content.is_dir() else [content]


def _targets(contents: list[Path], out: Path, single_file: bool) -> list[Path]:
    if single_file:
        if out.suffix.lower() != OUTPUT_SUFFIX:
            raise UsageError(f"-o {out}: the output is a PNG file (or a folder, for a folder of contents)")
        return [out]
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {out}: a folder of contents needs an output folder")
    return [out / f"{path.stem}-stylized{OUTPUT_SUFFIX}" for path in contents]


def stylize(content: str | Path, style: str | Path | None, out: str | Path, *, model: str | Path | None = None,
            weights: str | Path | None = None, config: GatysConfig | None = None,
            progress: Progress | None = None) -> StylizeResult:
    """Stylize one picture (``out`` a .png) or every picture in a folder (``out`` a folder).

    Without ``model`` the optimisation method runs with ``config``; with one, its network does (and
    ``style`` may be omitted: the network knows its style).
    """
    content, out = Path(content), Path(out)
    if not content.exists():
        raise BadInput(f"{content}: no such file or folder")
    contents = _contents(content)
    targets = _targets(contents, out, single_file=not content.is_dir())
    config = config or GatysConfig()
    network = load_style_network(model) if model else None
    if network is None and style is None:
        raise UsageError("give a `style` picture, or `model` with a trained style network")
    style_tensor = load_photo(style) if style is not None else None
    style_sha = file_sha256(Path(style)) if style is not None else network.style.get("sha256", "")
    if network is not None and style is not None and style_sha != network.style.get("sha256"):
        raise UsageError(f"{style}: this style model was trained on another picture "
                         f"({network.style.get('name')}); omit STYLE or train a model for this one")
    features = None if network else load_style_features(weights)
    result = StylizeResult("network" if network else "optimisation", str(style) if style else None, style_sha,
                           network.feature_net if network else features.info.to_dict(),
                           model={"path": network.path, "sha256": network.sha256, "style": network.style}
                           if network else None,
                           settings={} if network else config.to_dict())
    pictures = [load_photo(path, max_side=None if network else 4 * config.size) for path in contents]
    for index, (path, picture, target) in enumerate(zip(contents, pictures, targets)):
        started = time.perf_counter()
        if network is not None:
            image, losses, iterations = apply_style_network(network, picture), None, None
        else:
            image, terms, iterations = stylize_by_optimisation(picture, style_tensor, features, config, progress)
            losses = terms.to_dict()
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, png_bytes(to_image(image)))
        result.images.append(StylizedImage(str(path), str(target), round(time.perf_counter() - started, 3),
                                           losses, iterations))
        if network is not None and progress:
            progress(index + 1, len(contents))
    return result


def _signed_settings(config: GatysConfig) -> dict:
    """The optimisation's settings as a record holds them: no floats (docs/record-format.md), so weights in
    thousandths."""
    weights = config.weights
    return {"size": config.size, "iterations": config.iterations, "levels": config.levels,
            "optimiser": config.optimiser, "style_weight_milli": round(weights.style * 1000),
            "content_weight_milli": round(weights.content * 1000), "tv_weight_milli": round(weights.tv * 1000)}


def _registered_work(home: Home, path: Path, role: str) -> str:
    report = verify_images(home, [path])[0]
    if report.verdict not in PARENT_VERDICTS or report.match is None:
        raise UsageError(f"the {role} picture {path} is not a registered work (verify: {report.verdict}); "
                         "register it first, so the stylized work can name it as a parent")
    return report.match.work_id


def stylize_and_register(home: Home, content: str | Path, style: str | Path | None, out: str | Path, *,
                         licence_id: str, key_name: str | None = None, model: str | Path | None = None,
                         weights: str | Path | None = None, config: GatysConfig | None = None,
                         progress: Progress | None = None) -> StylizeResult:
    """:func:`stylize`, then register each result as a derived work of the content and style works.

    The parents are looked up and the licence and key checked before anything is made; the pictures are
    registered in one transaction.
    """
    content = Path(content)
    with home.registry() as registry:
        registry.licence(licence_id)
        home.signer(key_name)
    if style is None:
        raise UsageError("registering a stylized work needs the STYLE picture, to name the style work as a parent")
    style_work = _registered_work(home, Path(style), "style")
    contents = _contents(content) if content.exists() else [content]
    content_works = {path: _registered_work(home, path, "content") for path in contents}
    result = stylize(content, style, out, model=model, weights=weights, config=config, progress=progress)
    with home.registry() as registry, registry.transaction():  # every picture registered, or none
        for item in result.images:
            content_work = content_works[Path(item.content)]
            origin = {"type": "stylized", "method": result.method,
                      "content": {"work_id": content_work, "file_sha256": file_sha256(Path(item.content))},
                      "style": {"work_id": style_work, "file_sha256": result.style_sha256},
                      "feature_net": {"source": result.feature_net.get("source"),
                                      "sha256": result.feature_net.get("sha256")}}
            if result.model:
                origin["model"] = {"checkpoint_sha256": result.model["sha256"]}
            else:
                origin["settings"] = _signed_settings(config or GatysConfig())
            analysed = analyse_all([Path(item.path)], analyse_for_registration, workers=1,
                                   **home.settings.image_limits)
            title = f"{Path(item.content).stem} in the style of {Path(style).stem}"
            work = register_analysed(registry, home, [(item.path, analysed[0], title, origin)],
                                     licence_id=licence_id, key_name=key_name, parents=[content_work, style_work])[0]
            item.work_id = work.work_id
    result.parents = {"style": style_work, **({"content": next(iter(content_works.values()))}
                                              if len(content_works) == 1 else {})}
    return result


def train_style_model(config: StyleTrainConfig,
                      progress: Callable[[int, int | None, dict], None] | None = None) -> StyleTrainResult:
    """Train a feed-forward style network (``artforge train --model style``)."""
    if not Path(config.style).is_file():
        raise BadInput(f"{config.style}: no such style picture")
    return train_style_network(config, progress)
