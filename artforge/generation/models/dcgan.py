"""DCGAN generator and discriminator at any supported resolution (16, 28, 32, 56, 64, 128 px).

The classic architecture (Radford et al.): transposed convolutions with BatchNorm and ReLU up from a
4x4 (or 7x7 for 28/56 px) seed, and strided convolutions with LeakyReLU down again.  Defaults follow
what works for small data: spectral normalisation in the discriminator instead of BatchNorm.  Both
networks accept an optional condition vector, which the conditional GAN (:mod:`.cgan`) supplies: the
generator reads it concatenated with the noise (and, with ``film``, as a scale and shift of every
BatchNorm: conditional BatchNorm, as in BigGAN), the discriminator through a projection term (Miyato &
Koyama 2018) and, with ``aux_dim``, an auxiliary head that names the input's words (AC-GAN, Odena et al. 2017).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

MAX_WIDTH_MULTIPLIER = 8


@dataclass
class DCGANConfig:
    """Architecture of a DCGAN (also the base of the conditional GAN)."""

    image_size: int = 32
    channels: int = 3
    z_dim: int = 100
    g_width: int = 64  # generator channels at the last hidden layer ("ngf")
    d_width: int = 64  # discriminator channels at the first layer ("ndf")
    spectral_norm: bool = True  # in D; False gives the reference BatchNorm discriminator
    cond_dim: int = 0  # >0 for the conditional GAN
    film: bool = False  # the condition also scales and shifts every generator BatchNorm (FiLM)
    aux_dim: int = 0  # >0: D also names the words of its input (an AC-GAN word head), for prompt models

    def to_dict(self) -> dict:
        return asdict(self)


def seed_size(image_size: int) -> int:
    """The spatial size the generator starts from: 4, or 7 for 28/56 px."""
    return 7 if image_size % 7 == 0 else 4


def _steps(image_size: int) -> int:
    steps = math.log2(image_size / seed_size(image_size))
    if steps != int(steps) or steps < 1:
        raise ValueError(f"image size {image_size} is not 4 or 7 times a power of two")
    return int(steps)


class Generator(nn.Module):
    """z (B, z_dim) [+ cond (B, cond_dim)] -> image (B, C, H, W) in [-1, 1]."""

    def __init__(self, config: DCGANConfig):
        super().__init__()
        self.config = config
        steps = _steps(config.image_size)
        widths = [config.g_width * min(2 ** i, MAX_WIDTH_MULTIPLIER) for i in range(steps - 1, -1, -1)]
        start = seed_size(config.image_size)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(config.z_dim + config.cond_dim, widths[0], start, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for w_in, w_out in zip(widths, widths[1:]):  # each doubles the size
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], config.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        if config.film:  # one (scale, shift) pair per BatchNorm channel, from the condition
            self.film = nn.ModuleList(nn.Linear(config.cond_dim, 2 * w) for w in widths)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is not None:
            z = torch.cat([z, cond], dim=1)
        h = z[:, :, None, None]  # (B, Z, 1, 1) -> ... -> (B, C, H, W)
        if not self.config.film or cond is None:
            return self.net(h)
        film = iter(self.film)
        for layer in self.net:
            h = layer(h)
            if isinstance(layer, nn.BatchNorm2d):
                scale, shift = next(film)(cond).chunk(2, dim=1)  # (B, W) each
                h = h * (1 + scale[:, :, None, None]) + shift[:, :, None, None]
        return h


class Discriminator(nn.Module):
    """image (B, C, H, W) [+ cond (B, cond_dim)] -> logit (B,)."""

    def __init__(self, config: DCGANConfig):
        super().__init__()
        self.config = config
        sn = spectral_norm if config.spectral_norm else (lambda module: module)
        steps = _steps(config.image_size)
        widths = [config.d_width * min(2 ** i, MAX_WIDTH_MULTIPLIER) for i in range(steps)]
        layers: list[nn.Module] = [sn(nn.Conv2d(config.channels, widths[0], 4, 2, 1, bias=False)),
                                   nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths, widths[1:]):  # each halves the size
            layers.append(sn(nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False)))
            if not config.spectral_norm:
                layers.append(nn.BatchNorm2d(w_out))
            layers.append(nn.LeakyReLU(0.2, True))
        self.features = nn.Sequential(*layers)
        self.head = sn(nn.Conv2d(widths[-1], 1, seed_size(config.image_size), 1, 0, bias=False))
        if config.cond_dim:
            self.project = sn(nn.Linear(config.cond_dim, widths[-1], bias=False))
        if config.aux_dim:  # a classifier head outside the critic's Lipschitz bound, on the whole feature map
            side = seed_size(config.image_size)
            self.words = nn.Sequential(nn.Flatten(), nn.LayerNorm(widths[-1] * side * side),
                                       nn.Linear(widths[-1] * side * side, config.aux_dim))

    def forward(self, image: torch.Tensor, cond: torch.Tensor | None = None,
                words: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.features(image)  # (B, W, s, s)
        logit = self.head(h).flatten(1).squeeze(1)
        pooled = h.sum(dim=(2, 3))  # (B, W)
        if cond is not None:
            logit = logit + (self.project(cond) * pooled).sum(dim=1)
        if words:
            return logit, self.words(h)  # (B,), (B, aux_dim)
        return logit


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) convolutions, N(1, 0.02) BatchNorm scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = getattr(module, "parametrizations", None)
        target = weight.weight.original if weight is not None else module.weight
        nn.init.normal_(target, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
