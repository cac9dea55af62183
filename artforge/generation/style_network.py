"""Fast style transfer: a feed-forward network trained for one style (Johnson, Alahi & Fei-Fei 2016).

``artforge train --model style --style STYLE.png --data photos/`` trains a small image-to-image network so
that its output of any photograph has the style's Gram statistics and the photograph's content, measured
by the same feature network and normalised losses as the optimisation method (:mod:`.style_transfer`).
Afterwards a picture takes one forward pass instead of a hundred optimisation steps.

The network is Johnson's shape, narrowed for a laptop CPU: a 9x9 convolution, two stride-2
downsamplings, residual blocks, and nearest-neighbour upsampling followed by convolutions (which avoids
the checkerboard artefacts of transposed convolutions, Odena et al. 2016), instance normalisation
throughout (Ulyanov et al. 2016).  Its checkpoint is an artforge checkpoint of family ``style``: the
network, the style picture's SHA-256, the feature net's, and the training data's description.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from artforge.errors import BadInput
from artforge.generation.model_checkpoint import load_checkpoint, save_checkpoint
from artforge.generation.photos import load_photo, load_photos, random_crops
from artforge.generation.style_features import load_style_features
from artforge.generation.style_transfer import StyleObjective, StyleWeights

STYLE_FAMILY = "style"


@dataclass
class StyleNetConfig:
    """The transform network's shape."""

    width: int = 16  # channels of the first layer; doubled at each downsampling
    residual_blocks: int = 3

    def to_dict(self) -> dict:
        return asdict(self)


def _conv(cin: int, cout: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride),
            nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]


class _Residual(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(*_conv(width, width, 3)[:-1], nn.ReLU(inplace=True), *_conv(width, width, 3)[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TransformNet(nn.Module):
    """[0, 1] images (B, 3, H, W) -> stylized (B, 3, H, W) in [0, 1] (any H, W; multiples of 4 are exact)."""

    def __init__(self, config: StyleNetConfig):
        super().__init__()
        w = config.width
        self.config = config
        self.net = nn.Sequential(
            *_conv(3, w, 9), *_conv(w, 2 * w, 3, 2), *_conv(2 * w, 4 * w, 3, 2),
            *[_Residual(4 * w) for _ in range(config.residual_blocks)],
            nn.Upsample(scale_factor=2, mode="nearest"), *_conv(4 * w, 2 * w, 3),
            nn.Upsample(scale_factor=2, mode="nearest"), *_conv(2 * w, w, 3),
            nn.ReflectionPad2d(4), nn.Conv2d(w, 3, 9),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h, w = images.shape[-2:]
        padded = F.pad(images, (0, -w % 4, 0, -h % 4), mode="replicate")  # the two downsamplings need /4
        return torch.sigmoid(self.net(padded)[..., :h, :w])


@dataclass
class StyleTrainConfig:
    """``artforge train --model style``."""

    style: str  # the style picture
    out: str
    data: str = "builtin:photos"
    steps: int | None = 400
    time_budget: float | None = None
    batch_size: int = 4
    crop: int = 128
    lr: float = 1e-3
    seed: int = 0
    weights: str | None = None  # feature network file (default: the shipped one)
    net: StyleNetConfig = field(default_factory=StyleNetConfig)
    loss: StyleWeights = field(default_factory=StyleWeights)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class StyleTrainResult:
    """What a style training run produced."""

    checkpoint: str
    checkpoint_sha256: str
    step: int
    seconds: float
    images_per_second: float
    losses: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def train_style_network(config: StyleTrainConfig,
                        progress: Callable[[int, int | None, dict], None] | None = None) -> StyleTrainResult:
    """Train a transform network for one style on photographs; writes ``OUT/style.ckpt`` (atomically)."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    features = load_style_features(config.weights)
    style_path = Path(config.style)
    style = load_photo(style_path)
    photos = load_photos(config.data)
    tensors = [tensor for _, tensor in photos]
    net = TransformNet(config.net)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.lr)
    started, step, seen = time.perf_counter(), 0, 0
    # Style statistics at the training crop size: the scale at which the network learns the brush strokes.
    objective = StyleObjective(features, torch.zeros(3, config.crop, config.crop), style, config.crop, config.loss)
    content_layer = features.content_layer
    running: dict[str, float] = {}
    while (config.steps is None or step < config.steps) and (
            config.time_budget is None or time.perf_counter() - started < config.time_budget):
        batch = random_crops(tensors, config.batch_size, config.crop, generator)
        with torch.no_grad():
            target = features(batch, [content_layer])[content_layer]
        stylized = net(batch)
        loss, terms = objective.losses(stylized, target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step, seen = step + 1, seen + len(batch)
        running = {"style": terms.style, "content": terms.content, "tv": terms.tv, "total": terms.total}
        if progress:
            progress(step, config.steps, running)
    seconds = time.perf_counter() - started
    out = Path(config.out)
    data = {
        "spec": {"family": STYLE_FAMILY, "config": config.net.to_dict(), "condition": {"mode": "none"}},
        "modules": {"transform": net.state_dict()},
        "step": step,
        "train_config": config.to_dict(),
        "style": {"name": style_path.name, "sha256": hashlib.sha256(style_path.read_bytes()).hexdigest()},
        "feature_net": features.info.to_dict(),
        "dataset": {"name": config.data, "images": len(photos)},
    }
    path = out / "style.ckpt"
    out.mkdir(parents=True, exist_ok=True)
    sha256 = save_checkpoint(path, data)
    return StyleTrainResult(str(path), sha256, step, round(seconds, 2), round(seen / max(seconds, 1e-9), 2),
                            {k: round(v, 5) for k, v in running.items()})


@dataclass
class LoadedStyleNet:
    """A trained style network and what its checkpoint says of itself."""

    net: TransformNet
    sha256: str
    style: dict
    feature_net: dict
    path: str


def load_style_network(path: str | Path) -> LoadedStyleNet:
    """Rebuild a transform network from its checkpoint; :class:`BadInput` for any other checkpoint."""
    checkpoint = load_checkpoint(path)
    if checkpoint.spec.get("family") != STYLE_FAMILY:
        raise BadInput(f"{path}: a {checkpoint.spec.get('family')} checkpoint, not a style model "
                       "(train one with: artforge train --model style --style STYLE.png)")
    try:
        net = TransformNet(StyleNetConfig(**checkpoint.spec["config"]))
        net.load_state_dict(checkpoint.data["modules"]["transform"])
    except (TypeError, KeyError, RuntimeError) as exc:
        raise BadInput(f"{path}: style checkpoint does not match its spec ({str(exc).splitlines()[0][:100]})") from None
    return LoadedStyleNet(net.eval().requires_grad_(False), checkpoint.sha256, dict(checkpoint.data.get("style", {})),
                          dict(checkpoint.data.get("feature_net", {})), str(checkpoint.path))


@torch.inference_mode()
def apply_style_network(model: LoadedStyleNet, image: torch.Tensor) -> torch.Tensor:
    """(3, H, W) in [0, 1] -> the stylized (3, H, W)."""
    return model.net(image[None])[0]
