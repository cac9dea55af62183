"""The feature network style transfer measures style and content with: trained here, or a VGG file of yours.

Gatys et al. measure style as the Gram matrices of a VGG-19's activations and content as one deeper
activation.  VGG-19's weights are an ImageNet download, which artforge never makes at run time, so:

* by default a small VGG-shaped network (4 blocks of 3x3 convolutions, 32-256 channels, average pooling as
  Gatys recommends) that artforge trains itself on scikit-image's bundled photographs, with two
  self-supervised tasks that need no labels: which photograph a random crop comes from, and how far it was
  turned (0/90/180/270 degrees); and every block must keep the crop's local colour (a 1x1 convolution
  reads it back), without which deep Gram matching paints in colours the style does not have.  Its
  weights ship in ``weights/style-features.pt`` (about 2 MB, fp16), built by::

      python -m artforge.generation.style_features build [--steps 800]

* or ``--weights FILE``: a torchvision VGG state dict you already have (``vgg19-dcbb9e9d.pth`` or any
  VGG-11/13/16/19, with or without batch norm: BN is folded into the convolutions).  The block structure
  is read from the layer indices; only the convolutions are used.

Layers are named like VGG's: ``b{block}_{conv}`` is the ReLU after that convolution.  Style uses the first
layer of every block (``b1_1``..``b5_1``, Gatys' relu1_1..relu5_1), content ``b4_2`` (or the deepest second
layer a small net has).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from artforge.config import MAX_CHECKPOINT_BYTES
from artforge.errors import BadInput
from artforge.fsutil import atomic_write, read_regular_file

FORMAT = "artforge.style-features/1"
WEIGHTS_FILE = Path(__file__).parent / "weights" / "style-features.pt"
DEFAULT_BLOCKS = ((32, 32), (64, 64), (128, 128), (256, 256))
# Inputs are normalised as torchvision's VGG weights expect, so a user's VGG file and ours are fed alike.
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
ROTATIONS = 4
RECONSTRUCTION_WEIGHT = 10.0  # L1 in [0, 1] pixels is ~0.1 once trained; the classification losses ~1
_VGG_KEY = re.compile(r"^(?:features\.)?(\d+)\.weight$")

log = logging.getLogger(__name__)


@dataclass
class FeatureNetInfo:
    """Where a feature network came from: shown in results and signed into a stylized work's origin."""

    source: str  # "artforge" (shipped or built here) or "vgg-file"
    sha256: str  # of the weights file
    blocks: list[list[int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"source": self.source, "sha256": self.sha256, "blocks": self.blocks}


class StyleFeatures(nn.Module):
    """[0, 1] RGB images (B, 3, H, W) -> {layer name: activation} for the layers asked for."""

    def __init__(self, blocks: tuple[tuple[int, ...], ...] | list = DEFAULT_BLOCKS):
        super().__init__()
        self.blocks = [list(b) for b in blocks]
        self.convs = nn.ModuleList()
        self.names: list[str] = []
        channels = 3
        for b, widths in enumerate(self.blocks, start=1):
            for c, width in enumerate(widths, start=1):
                self.convs.append(nn.Conv2d(channels, width, 3, padding=1))
                self.names.append(f"b{b}_{c}")
                channels = width
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))
        self.info = FeatureNetInfo("artforge", "", self.blocks)

    @property
    def style_layers(self) -> list[str]:
        return [f"b{b}_1" for b in range(1, min(len(self.blocks), 5) + 1)]

    @property
    def content_layer(self) -> str:
        block = min(len(self.blocks), 4)
        return f"b{block}_2" if len(self.blocks[block - 1]) > 1 else f"b{block}_1"

    def forward(self, images: torch.Tensor, layers: set[str] | list[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        last = max(self.names.index(name) for name in wanted)
        x = (images - self.mean) / self.std
        out: dict[str, torch.Tensor] = {}
        for i, (name, conv) in enumerate(zip(self.names, self.convs)):
            if i and name.endswith("_1"):  # a new block starts after a pooling step
                x = F.avg_pool2d(x, 2, ceil_mode=True)
            x = F.relu(conv(x))
            if name in wanted:
                out[name] = x
            if i == last:
                break
        return out


def feature_stats(activation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> each channel's mean (B, C) and the channels' covariance (B, C, C) over positions.

    Gatys use the uncentred Gram matrix; with ReLU features it is dominated by the channel means, and with
    a small network that lets flat blotches of the right average pass for texture.  The covariance and the
    means, matched separately, are the same information without that imbalance."""
    b, c, h, w = activation.shape
    flat = activation.reshape(b, c, h * w)
    mean = flat.mean(dim=2)
    centred = flat - mean[..., None]
    return mean, centred @ centred.transpose(1, 2) / (h * w)


# -- loading -------------------------------------------------------------------------------------------

def _from_vgg_state(state: dict[str, torch.Tensor]) -> tuple[list[list[int]], dict[str, torch.Tensor]]:
    """A torchvision VGG state dict -> (blocks, our state dict); BN (if present) folded into the convs."""
    indices = sorted(int(m.group(1)) for key in state if (m := _VGG_KEY.match(key)) and state[key].dim() == 4)
    if not indices:
        raise ValueError("no convolution weights")
    prefix = "features." if any(k.startswith("features.") for k in state) else ""
    batch_norm = f"{prefix}{indices[0] + 1}.running_mean" in state
    same_block_gap = 3 if batch_norm else 2  # conv, [bn], relu, next conv; a pooling layer adds one
    blocks: list[list[int]] = []
    converted: dict[str, torch.Tensor] = {}
    previous = None
    for index in indices:
        weight = state[f"{prefix}{index}.weight"].float()
        bias = state.get(f"{prefix}{index}.bias")
        bias = torch.zeros(weight.shape[0]) if bias is None else bias.float()
        if batch_norm:
            bn = f"{prefix}{index + 1}."
            scale = state[bn + "weight"].float() / torch.sqrt(state[bn + "running_var"].float() + 1e-5)
            weight = weight * scale.view(-1, 1, 1, 1)
            bias = (bias - state[bn + "running_mean"].float()) * scale + state[bn + "bias"].float()
        if previous is None or index - previous > same_block_gap:
            if len(blocks) == 5:
                break  # a VGG has five blocks; anything after is not a feature extractor
            blocks.append([])
        blocks[-1].append(weight.shape[0])
        position = len(converted) // 2
        converted[f"convs.{position}.weight"], converted[f"convs.{position}.bias"] = weight, bias
        previous = index
    return blocks, converted


def load_style_features(weights: str | Path | None = None) -> StyleFeatures:
    """The shipped feature network, or the one in ``weights`` (an artforge file or a torchvision VGG state
    dict); :class:`BadInput` for anything else."""
    path = Path(weights) if weights else WEIGHTS_FILE
    if not path.is_file():
        raise BadInput(f"{path}: no such weights file")
    raw = read_regular_file(path, MAX_CHECKPOINT_BYTES, "a weights file")
    try:
        data = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - arbitrary bytes make torch.load raise anything
        raise BadInput(f"{path}: not a readable PyTorch weights file") from None
    try:
        if isinstance(data, dict) and data.get("format") == FORMAT:
            blocks, state, source = data["blocks"], data["state"], "artforge"
        elif isinstance(data, dict):
            blocks, state = _from_vgg_state(data)
            source = "vgg-file"
        else:
            raise ValueError("not a state dict")
        net = StyleFeatures(blocks)
        net.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
        missing = {k for k in net.state_dict() if k not in state and not k.startswith(("mean", "std"))}
        if missing:
            raise ValueError(f"missing {sorted(missing)[0]}")
    except (ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise BadInput(f"{path}: not an artforge feature network or a torchvision VGG state dict "
                       f"({str(exc).splitlines()[0][:100]})") from None
    net.info = FeatureNetInfo(source, hashlib.sha256(raw).hexdigest(), net.blocks)
    return net.eval().requires_grad_(False)


# -- building the shipped weights ---------------------------------------------------------------------

class _PretextHeads(nn.Module):
    """Which photograph and which rotation, from the last block's pooled activations; and a decoder that
    rebuilds the crop from the last block, so no block may throw away what a picture looks like."""

    def __init__(self, blocks: list[list[int]], photos: int):
        super().__init__()
        width = blocks[-1][-1]
        self.photo, self.rotation = nn.Linear(width, photos), nn.Linear(width, ROTATIONS)
        layers: list[nn.Module] = []
        for block in reversed(blocks[:-1]):  # back up to full size, one doubling per pooling step
            layers += [nn.Upsample(scale_factor=2), nn.Conv2d(width, block[-1], 3, padding=1), nn.ReLU()]
            width = block[-1]
        self.decoder = nn.Sequential(*layers, nn.Conv2d(width, 3, 3, padding=1))

    def forward(self, last: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pooled = last.mean(dim=(2, 3))
        return self.photo(pooled), self.rotation(pooled), self.decoder(last)


def build(out: Path, steps: int, batch_size: int = 32, crop: int = 64, seed: int = 0) -> dict:
    """Train the shipped feature network and write it (fp16) to ``out``; returns the run's record."""
    from artforge.generation.photos import builtin_photos, random_crops  # noqa: PLC0415 - build only

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    named = builtin_photos(max_side=256)
    photos = [tensor for _, tensor in named]
    net = StyleFeatures(DEFAULT_BLOCKS)
    for conv in net.convs:  # He initialisation: random ReLU filters are already a fair texture model
        nn.init.kaiming_normal_(conv.weight)
        nn.init.zeros_(conv.bias)
    heads = _PretextHeads(net.blocks, len(photos))
    optimiser = torch.optim.Adam([*net.parameters(), *heads.parameters()], lr=1e-3)
    last = net.names[-1]
    started, losses = time.perf_counter(), []
    for step in range(steps):
        which = torch.randint(len(photos), (batch_size,), generator=generator)
        crops = torch.cat([random_crops([photos[int(i)]], 1, crop, generator) for i in which])
        turns = torch.randint(ROTATIONS, (batch_size,), generator=generator)
        crops = torch.stack([torch.rot90(c, int(k), dims=(1, 2)) for c, k in zip(crops, turns)])
        photo_logits, turn_logits, rebuilt = heads(net(crops, [last])[last])
        loss = F.cross_entropy(photo_logits, which) + F.cross_entropy(turn_logits, turns)
        loss = loss + RECONSTRUCTION_WEIGHT * F.l1_loss(rebuilt, crops)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if step % 100 == 0:
            log.info("step %d loss %.3f", step, sum(losses[-100:]) / len(losses[-100:]))
    state = {k: v.half() for k, v in net.state_dict().items() if k.startswith("convs.")}
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "blocks": net.blocks, "state": state}, buffer)
    atomic_write(out, buffer.getvalue())
    return {"file": out.name, "sha256": hashlib.sha256(buffer.getvalue()).hexdigest(), "steps": steps,
            "batch_size": batch_size, "crop": crop, "seed": seed, "photos": [name for name, _ in named],
            "seconds": round(time.perf_counter() - started, 1),
            "final_loss": round(sum(losses[-100:]) / max(1, len(losses[-100:])), 4), "torch": torch.__version__}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the style-transfer feature network that ships.")
    parser.add_argument("action", choices=["build"])
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--steps", type=int, default=800)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    record = build(args.out, args.steps)
    record_path = args.out.with_suffix(".json")
    command = f"python -m artforge.generation.style_features build --steps {args.steps}"
    atomic_write(record_path, (json.dumps({**record, "command": command}, indent=2) + "\n").encode())
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
