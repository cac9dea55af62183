"""The MLP GAN: the fully connected GAN of the classic Keras MNIST example, in PyTorch.

Generator: z (100) -> Dense 256 -> 512 -> 1024, each with LeakyReLU(0.2) and BatchNorm (Keras momentum 0.8,
epsilon 1e-3), -> Dense(H x W x C) with tanh, reshaped to an image.  Discriminator: flatten -> Dense 512 ->
256 with LeakyReLU(0.2) -> one logit (Keras ends in a sigmoid and binary cross-entropy; the logit with
``softplus`` losses is the same loss, computed stably).  Dense layers start as Keras does: Glorot-uniform
weights, zero biases.  ``--width W`` scales both: the generator's layers are W, 2W, 4W and the
discriminator's 2W, W (W = 256 is the original).  ``docs/mlpgan.md`` says what artforge adds around it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from artforge.generation.models.cgan import Condition

KERAS_BN_MOMENTUM = 0.8  # Keras keeps 0.8 of the running average per step: torch's momentum 0.2
KERAS_BN_EPSILON = 1e-3


@dataclass
class MLPGANConfig:
    """Architecture of the MLP GAN."""

    image_size: int = 28
    channels: int = 1
    z_dim: int = 100
    g_width: int = 256  # generator layers: g_width, 2 g_width, 4 g_width
    d_width: int = 256  # discriminator layers: 2 d_width, d_width
    cond_dim: int = 0  # unconditional only; kept so every GAN config reads alike

    def to_dict(self) -> dict:
        return asdict(self)


def _dense(features_in: int, features_out: int) -> nn.Linear:
    layer = nn.Linear(features_in, features_out)
    nn.init.xavier_uniform_(layer.weight)  # Keras' glorot_uniform
    nn.init.zeros_(layer.bias)
    return layer


class MLPGenerator(nn.Module):
    """(z (B, z_dim), cond: unused) -> image (B, C, H, W) in [-1, 1]."""

    def __init__(self, config: MLPGANConfig, condition: Condition | None = None):
        super().__init__()
        _unconditional(condition)
        self.config = config
        widths = [config.z_dim, config.g_width, 2 * config.g_width, 4 * config.g_width]
        layers: list[nn.Module] = []
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [_dense(w_in, w_out), nn.LeakyReLU(0.2),
                       nn.BatchNorm1d(w_out, eps=KERAS_BN_EPSILON, momentum=1 - KERAS_BN_MOMENTUM)]
        self.shape = (config.channels, config.image_size, config.image_size)
        layers += [_dense(widths[-1], config.channels * config.image_size ** 2), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(z.size(0), *self.shape)


class MLPDiscriminator(nn.Module):
    """(image (B, C, H, W), cond: unused) -> logit (B,)."""

    def __init__(self, config: MLPGANConfig, condition: Condition | None = None):
        super().__init__()
        _unconditional(condition)
        self.config = config
        pixels = config.channels * config.image_size ** 2
        self.net = nn.Sequential(_dense(pixels, 2 * config.d_width), nn.LeakyReLU(0.2),
                                 _dense(2 * config.d_width, config.d_width), nn.LeakyReLU(0.2),
                                 _dense(config.d_width, 1))

    def forward(self, image: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(image.reshape(image.size(0), -1)).squeeze(1)


def _unconditional(condition: Condition | None) -> None:
    if condition is not None and condition.mode != "none":
        raise ValueError("the MLP GAN is unconditional: use `model=cgan` for labels or prompts")
