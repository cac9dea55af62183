"""Small classifiers whose embeddings are the feature space of the offline quality metrics.

FID and KID are usually measured with an ImageNet Inception network, which would have to be downloaded
and knows nothing about 16-pixel digits.  Instead the project trains two small CNNs on its built-in data
(weights are built by this module, never downloaded) and ships them in ``artforge/generation/weights``:

* ``digits``: one head, the digit (10 classes), trained on the first 80% of ``builtin:digits``;
  the last 20% is held out.
* ``shapes``: three heads, shape (4), colour (5) and background (3), read from the captions
  "a {colour} {shape} on {background}" of separately seeded ``builtin:shapes`` sets.
* ``digits-b`` and ``shapes-b``: the same tasks learnt by another architecture (strided convolutions,
  GroupNorm and SiLU, 5x5 stem, average and max pooling: ``kind="strided"``) from another seed, so a
  quality figure can be checked on features that were not the ones a method was tuned against.

Both see the data at several sizes (16, 32 and 64 px, resized to the net's native 32 px by
:meth:`FeatureNet.prepare`), so a checkpoint of any supported size gets comparable features.

Rebuild the shipped weights (the training script)::

    python -m artforge.generation.featurenet build [--out DIR] [--only digits|shapes|digits-b|shapes-b]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from artforge.errors import BadInput, UsageError
from artforge.fsutil import atomic_write
from artforge.generation.data import (
    BACKGROUNDS,
    SHAPE_COLOURS,
    SHAPES,
    ImageDataset,
    load_dataset,
    shapes_dataset,
    to_float,
)

FEATURE_NETS = ("digits", "shapes", "digits-b", "shapes-b")
# The second nets: another architecture and seed (the first nets are seed 0, kind "pool").
SECOND_NETS = {"digits-b": ("strided", 1), "shapes-b": ("strided", 1)}
WEIGHTS_DIR = Path(__file__).parent / "weights"
WEIGHTS_FORMAT = "artforge.featurenet/1"
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TRAIN_SIZES = (16, 32, 64)  # seen in training, so features agree across checkpoint sizes
NATIVE_SIZE = 32
DEFAULT_STEPS = {"digits": 300, "shapes": 250}  # per task
BATCH_SIZE = 128
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as PIL's "L" conversion uses
SHAPES_TRAIN_SEED, SHAPES_HELDOUT_SEED = 1, 2  # builtin:shapes itself is seed 0
SHAPES_TRAIN_COUNT, SHAPES_HELDOUT_COUNT = 3000, 600

log = logging.getLogger(__name__)


class FeatureNet(nn.Module):
    """images -> (embedding (B, embed_dim), {head: logits (B, classes)})."""

    def __init__(self, in_channels: int, heads: dict[str, list[str]], size: int = NATIVE_SIZE, width: int = 32,
                 embed_dim: int = 128, kind: str = "pool"):
        super().__init__()
        self.arch = {"in_channels": in_channels, "heads": {h: list(n) for h, n in heads.items()}, "size": size,
                     "width": width, "embed_dim": embed_dim, "kind": kind}
        self.in_channels, self.size, self.embed_dim = in_channels, size, embed_dim
        self.meta: dict = {}  # how it was built: set by build_feature_net / load_feature_net
        self.body, pooled = (_pool_body if kind == "pool" else _strided_body)(in_channels, width)
        # The feature space: the heads' (post-ReLU) input, like Inception's pool3 features for FID.
        self.embed = nn.Sequential(nn.Linear(pooled, embed_dim), nn.ReLU(inplace=True))
        self.heads = nn.ModuleDict({h: nn.Linear(embed_dim, len(n)) for h, n in heads.items()})

    @property
    def head_names(self) -> dict[str, list[str]]:
        return self.arch["heads"]

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 or [-1, 1] images (B, 1|3, H, W) of any size -> the net's channels at its native size."""
        x = to_float(images) if images.dtype == torch.uint8 else images.float()
        if x.shape[1] == 1 and self.in_channels == 3:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] == 3 and self.in_channels == 1:
            x = torch.tensordot(x, x.new_tensor(LUMA), dims=([1], [0])).unsqueeze(1)
        elif x.shape[1] != self.in_channels:
            raise BadInput(f"cannot feed {x.shape[1]}-channel images to the feature net")
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        return x

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        features = self.embed(self.body(self.prepare(images)))
        return features, {h: head(features) for h, head in self.heads.items()}

    @torch.inference_mode()
    def run(self, images: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Features (N, embed_dim) and predicted class per head (N,), in batches, in eval mode."""
        self.eval()
        feats, preds = [], {h: [] for h in self.heads}
        for start in range(0, len(images), batch_size):
            f, logits = self(images[start:start + batch_size])
            feats.append(f)
            for h, value in logits.items():
                preds[h].append(value.argmax(1))
        return torch.cat(feats), {h: torch.cat(p) for h, p in preds.items()}


def _pool_body(in_channels: int, width: int) -> tuple[nn.Module, int]:
    """3x3 convolutions, BatchNorm, ReLU and max pooling (the first nets)."""
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(in_channels, width), nn.MaxPool2d(2),  # (B, w, 16, 16)
        *block(width, 2 * width), nn.MaxPool2d(2),  # (B, 2w, 8, 8)
        *block(2 * width, 4 * width), nn.MaxPool2d(2),  # (B, 4w, 4, 4)
        *block(4 * width, 4 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (B, 4w)
    ), 4 * width


class _AvgMaxPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)


def _strided_body(in_channels: int, width: int) -> tuple[nn.Module, int]:
    """A 5x5 stem, stride-2 3x3 convolutions, GroupNorm and SiLU, average and max pooled (the second nets)."""
    def block(cin: int, cout: int, kernel: int = 3, stride: int = 2) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2), nn.GroupNorm(8, cout), nn.SiLU(inplace=True)]

    return nn.Sequential(
        *block(in_channels, width, 5, 1),  # (B, w, 32, 32)
        *block(width, 2 * width),  # (B, 2w, 16, 16)
        *block(2 * width, 3 * width),  # (B, 3w, 8, 8)
        *block(3 * width, 4 * width),  # (B, 4w, 4, 4)
        _AvgMaxPool(),  # (B, 8w)
    ), 8 * width


# -- data ----------------------------------------------------------------------------------------------

def caption_targets(captions: list[str]) -> dict[str, torch.Tensor]:
    """"a {colour} {shape} on {background}" captions -> class indices per shapes head."""
    colours, backgrounds = list(SHAPE_COLOURS), list(BACKGROUNDS)
    shape, colour, background = [], [], []
    for caption in captions:
        words = caption.split()
        colour.append(colours.index(words[1]))
        shape.append(SHAPES.index(words[2]))
        background.append(backgrounds.index(words[4]))
    return {"shape": torch.tensor(shape), "colour": torch.tensor(colour), "background": torch.tensor(background)}


def task_of(name: str) -> str:
    """The built-in data a feature net was trained on: ``digits`` or ``shapes``."""
    return name.split("-")[0]


def _split(name: str) -> tuple[list[ImageDataset], list[ImageDataset]]:
    """Training and held-out datasets, one of each per training size."""
    if task_of(name) == "digits":
        full = [load_dataset("builtin:digits", size, 1) for size in TRAIN_SIZES]
        cut = round(len(full[0]) * 0.8)  # the last 20% is held out
        return ([ImageDataset(d.images[:cut], d.name, d.labels[:cut], d.class_names) for d in full],
                [ImageDataset(d.images[cut:], d.name, d.labels[cut:], d.class_names) for d in full])
    return ([shapes_dataset(SHAPES_TRAIN_COUNT, size, 3, SHAPES_TRAIN_SEED) for size in TRAIN_SIZES],
            [shapes_dataset(SHAPES_HELDOUT_COUNT, size, 3, SHAPES_HELDOUT_SEED) for size in TRAIN_SIZES])


def targets(name: str, dataset: ImageDataset) -> dict[str, torch.Tensor]:
    """The labels of a built-in dataset for the heads of feature net ``name``."""
    return {"digit": dataset.labels} if task_of(name) == "digits" else caption_targets(dataset.captions)


def _heads(name: str) -> dict[str, list[str]]:
    if task_of(name) == "digits":
        return {"digit": list(DIGIT_NAMES)}
    return {"shape": list(SHAPES), "colour": list(SHAPE_COLOURS), "background": list(BACKGROUNDS)}


def _prepared(name: str, datasets: list[ImageDataset],
              net: FeatureNet) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """All sizes, resized to the native size once, with their targets."""
    images = torch.cat([net.prepare(d.images) for d in datasets])
    labels = [targets(name, d) for d in datasets]
    return images, {h: torch.cat([t[h] for t in labels]) for h in labels[0]}


def accuracy(net: FeatureNet, images: torch.Tensor, labels: dict[str, torch.Tensor]) -> dict[str, float]:
    """Fraction correct per head."""
    _, preds = net.run(images)
    return {h: (preds[h] == labels[h]).float().mean().item() for h in labels}


def _check_name(name: str) -> str:
    if name not in FEATURE_NETS:
        raise UsageError(f"unknown feature net {name!r}; choose {', '.join(FEATURE_NETS)}")
    return name


# -- build and load ------------------------------------------------------------------------------------

def build_feature_net(name: str, steps: int | None = None, seed: int = 0) -> FeatureNet:
    """Train feature net ``name`` on the CPU, deterministically for a given seed; ``net.meta`` says how."""
    _check_name(name)
    steps = DEFAULT_STEPS[task_of(name)] if steps is None else steps
    started = time.perf_counter()
    torch.manual_seed(seed)
    kind = SECOND_NETS.get(name, ("pool", 0))[0]
    net = FeatureNet(1 if task_of(name) == "digits" else 3, _heads(name), kind=kind)
    train, held = _split(name)
    images, labels = _prepared(name, train, net)
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=max(steps, 1))
    generator = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(steps):
        index = torch.randint(len(images), (BATCH_SIZE,), generator=generator)
        x = _jitter(images[index], generator)
        _, logits = net(x)
        loss = sum(F.cross_entropy(logits[h], labels[h][index]) for h in logits)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    with torch.no_grad():  # the shipped weights are fp16: measure what ships
        for tensor in net.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half())
    held_images, held_labels = _prepared(name, held, net)
    digest = hashlib.sha256("|".join(d.fingerprint for d in train).encode()).hexdigest()
    net.meta = {
        "format": WEIGHTS_FORMAT, "name": name, "arch": net.arch,
        "train": {"steps": steps, "seed": seed, "batch_size": BATCH_SIZE, "sizes": list(TRAIN_SIZES),
                  "images": len(images), "data_fingerprint": digest,
                  "seconds": round(time.perf_counter() - started, 1)},
        "heldout_accuracy": {h: round(a, 4) for h, a in accuracy(net, held_images, held_labels).items()},
        "heldout_images": len(held_images),
        "torch": str(torch.__version__),
    }
    return net.eval()


def _jitter(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each batch by up to 2 px (edge-padded): generated images are not always centred like the data."""
    dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=generator))
    padded = F.pad(x, (2, 2, 2, 2), mode="replicate")
    return padded[..., 2 + dy:2 + dy + x.shape[-2], 2 + dx:2 + dx + x.shape[-1]]


def save_feature_net(net: FeatureNet, path: Path) -> Path:
    """fp16 weights (half the size; :func:`build_feature_net` measured them at fp16) plus the metadata."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"state_dict": state, "meta": net.meta}, buffer)
    atomic_write(path, buffer.getvalue())
    return path


def load_feature_net(name: str, path: str | Path | None = None) -> FeatureNet:
    """The shipped feature net ``name`` (or the weights at ``path``), in eval mode."""
    path = Path(path) if path else WEIGHTS_DIR / f"{_check_name(name)}.pt"
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        meta = saved["meta"]
        arch = meta["arch"]
        net = FeatureNet(arch["in_channels"], arch["heads"], arch["size"], arch["width"], arch["embed_dim"],
                         arch.get("kind", "pool"))
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved["state_dict"].items()})
    except FileNotFoundError:
        raise BadInput(f"{path}: feature net weights missing; rebuild: python -m artforge.generation.featurenet build") from None
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"{path}: unreadable feature net weights ({str(exc).splitlines()[0][:120]})") from None
    net.meta = meta
    return net.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m artforge.generation.featurenet", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="(re)build the shipped feature net weights")
    build.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder for {name}.pt")
    build.add_argument("--only", choices=FEATURE_NETS, help="build just one net")
    build.add_argument("--seed", type=int, help="default: 0 for the first nets, 1 for the -b nets")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in [args.only] if args.only else FEATURE_NETS:
        seed = args.seed if args.seed is not None else SECOND_NETS.get(name, ("pool", 0))[1]
        net = build_feature_net(name, seed=seed)
        path = save_feature_net(net, args.out / f"{name}.pt")
        log.info("%s: %s in %.1f s, held-out accuracy %s, %d bytes", name, path, net.meta["train"]["seconds"],
                 net.meta["heldout_accuracy"], path.stat().st_size)


if __name__ == "__main__":
    main()
