"""A faithful re-implementation of the pytorch/examples ``dcgan/main.py`` training loop, for comparison.

What is kept from the reference (github.com/pytorch/examples, ``dcgan/main.py``):

* Generator: ``ConvTranspose2d(nz, ngf*m, 4, 1, 0)`` from a 1x1 noise "image" to 4x4, then
  ``ConvTranspose2d(.., .., 4, 2, 1)`` blocks that each double the size with halving widths, every hidden
  layer followed by ``BatchNorm2d`` + ``ReLU(True)``, a last ``ConvTranspose2d(ngf, nc, 4, 2, 1)`` + ``Tanh``;
  all convolutions without bias.
* Discriminator: ``Conv2d(nc, ndf, 4, 2, 1)`` + ``LeakyReLU(0.2)`` (no BatchNorm on the first layer), then
  ``Conv2d(.., .., 4, 2, 1)`` + ``BatchNorm2d`` + ``LeakyReLU(0.2)`` blocks with doubling widths down to
  4x4, a ``Conv2d(ndf*m, 1, 4, 1, 0)`` head and a ``Sigmoid``; ``output.view(-1, 1).squeeze(1)``.
* ``weights_init``: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02) and biases 0.
* ``nn.BCELoss`` on the sigmoid output, Adam(lr=2e-4, betas=(0.5, 0.999)) for both nets, real label 1,
  fake label 0.
* Per iteration, in this order: ``netD.zero_grad()``; D(real) vs label 1, ``backward``; noise
  ``randn(B, nz, 1, 1)``, ``fake = netG(noise)``; D(``fake.detach()``) vs label 0, ``backward``;
  ``optimizerD.step()``; ``netG.zero_grad()``; D(fake) vs label 1, ``backward``; ``optimizerG.step()``;
  the four ``.item()`` read-outs (errD, errG, D(x), D(G(z))) the reference prints every iteration.
* ``fixed_noise = randn(B, nz, 1, 1)`` drawn once after the nets; the periodic sample is
  ``netG(fixed_noise)`` exactly as the reference does it: the generator still in train mode (BatchNorm on
  batch statistics, running statistics updated) and autograd recording (it only ``.detach()``es the
  result before saving).

Resolution.  The reference is written for 64 px: four stride-2 blocks in each net (G widths ngf*8, *4,
*2, *1; D widths ndf, *2, *4, *8).  This module builds the same *pattern* for any size ``4 * 2**k``
(k >= 1): G starts at 4x4 with ``ngf * 2**(k-1)`` channels and has k stride-2 transposed convolutions;
D has k stride-2 convolutions with widths ``ndf * 2**i``.  At 64 px this is exactly the reference; at
32 px the innermost block (the ngf*8 / ndf*8 layer at 4x4) is dropped, so G is nz -> 256 -> 128 -> 64 -> nc
and D is nc -> 64 -> 128 -> 256 -> 1 for ngf = ndf = 64, which is layer for layer the shape of artforge's
``DCGANConfig(spectral_norm=False)`` networks at 32 px (artforge caps the multiplier at 8, which matters
only from 128 px up; this module does not cap, like the reference would if extended).

Conditional variant (not in pytorch/examples; for the conditional benchmarks): with ``conditions`` (one
float vector per image, e.g. the one-hot attributes of a caption), G reads the vector concatenated with the
noise and D reads it as constant feature maps stacked on the image's channels, the way most conditional
DCGAN tutorials write it (Mirza & Osindero 2014's cGAN in the DCGAN networks); everything else is as above.

What is left out: argparse, the torchvision dataset / DataLoader (data comes as in-memory uint8 tensors,
converted to [-1, 1] floats by :func:`artforge.generation.data.to_float`, in the same seeded per-epoch order
artforge's trainer uses), the per-iteration ``print``, ``vutils.save_image``, ``torch.save`` of the nets
per epoch, ``ngpu`` / ``DataParallel``, MPS/XPU selection and the ``--dry-run`` switch.

Use::

    from reference_dcgan import ReferenceDCGAN
    ref = ReferenceDCGAN(images_uint8, image_size=32, nc=1, ngf=64, ndf=64, nz=100, batch_size=64, seed=0)
    out = ref.train(100)          # {"steps", "seconds", "step_seconds": [...], "losses": [...]}
    grid = ref.sample()           # netG(fixed_noise), as the reference saves it
    images = ref.generate(torch.randn(1000, 100))  # for scoring: eval mode, no autograd
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn


def _blocks(image_size: int) -> int:
    """Number of stride-2 blocks for ``image_size = 4 * 2**k`` (4 px seed, as the reference)."""
    k = math.log2(image_size / 4)
    if k != int(k) or k < 1:
        raise ValueError(f"the reference DCGAN needs an image size of 4 * 2**k (8, 16, 32, 64, ...), not {image_size}")
    return int(k)


class Generator(nn.Module):
    """The reference generator, for any ``image_size = 4 * 2**k`` (exactly the reference at 64 px)."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3, image_size: int = 64, cond_dim: int = 0):
        super().__init__()
        k = _blocks(image_size)
        widths = [ngf * 2 ** i for i in range(k - 1, -1, -1)]  # 64 px: ngf*8, *4, *2, *1
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz + cond_dim, widths[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - the reference's name
        return self.main(input)


class Discriminator(nn.Module):
    """The reference discriminator (BatchNorm, Sigmoid output), for any ``image_size = 4 * 2**k``."""

    def __init__(self, ndf: int = 64, nc: int = 3, image_size: int = 64, cond_dim: int = 0):
        super().__init__()
        k = _blocks(image_size)
        widths = [ndf * 2 ** i for i in range(k)]  # 64 px: ndf, *2, *4, *8
        layers: list[nn.Module] = [nn.Conv2d(nc + cond_dim, widths[0], 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, inplace=True)]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out),
                       nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


def weights_init(m: nn.Module) -> None:
    """The reference's custom initialisation (matched on the class name, as there)."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


@dataclass
class StepLosses:
    """What the reference prints each iteration."""

    loss_d: float
    loss_g: float
    d_x: float
    d_g_z1: float
    d_g_z2: float


class ReferenceDCGAN:
    """The reference nets, optimisers and loop, driven on in-memory images.

    ``images``: uint8 (N, C, H, W) (e.g. ``load_dataset("builtin:digits", 32).images``).  Batches are
    taken in the order artforge's trainer uses (a permutation per epoch seeded from ``seed`` and the epoch,
    whole batches only, like ``drop_last``); the reference's DataLoader shuffles too, so only the order's
    source differs.  The global torch RNG is seeded with ``seed`` before the nets are built, as the
    reference's ``--manualSeed`` does.
    """

    def __init__(self, images: torch.Tensor, *, image_size: int | None = None, nc: int | None = None,
                 ngf: int = 64, ndf: int = 64, nz: int = 100, batch_size: int = 64, lr: float = 2e-4,
                 beta1: float = 0.5, seed: int = 0, device: str | torch.device = "cpu",
                 conditions: torch.Tensor | None = None):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError("images must be a uint8 (N, C, H, W) tensor")
        self.images = images
        self.image_size = image_size or images.shape[-1]
        if images.shape[-1] != self.image_size or images.shape[-2] != self.image_size:
            raise ValueError(f"images are {tuple(images.shape[-2:])}, not {self.image_size}x{self.image_size}")
        self.nc = nc or images.shape[1]
        self.nz = nz
        self.batch_size = batch_size
        self.seed = seed
        self.device = torch.device(device)
        if len(images) < batch_size:
            raise ValueError(f"{len(images)} images, fewer than one batch of {batch_size}")

        self.conditions = None if conditions is None else conditions.float()
        self.cond_dim = 0 if conditions is None else conditions.shape[1]
        torch.manual_seed(seed)
        self.netG = Generator(nz, ngf, self.nc, self.image_size, self.cond_dim).to(self.device)
        self.netG.apply(weights_init)
        self.netD = Discriminator(ndf, self.nc, self.image_size, self.cond_dim).to(self.device)
        self.netD.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.fixed_noise = torch.randn(batch_size, nz, 1, 1, device=self.device)
        self.real_label, self.fake_label = 1, 0
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=(beta1, 0.999))
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=lr, betas=(beta1, 0.999))
        self.steps_per_epoch = len(images) // batch_size
        self.step = 0
        self.epoch = 0
        self.position = 0
        self._batches = self._batch_iter()

    # -- data ----------------------------------------------------------------------------------------
    def _batch_iter(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        from artforge.generation.data import to_float

        size = self.batch_size
        while True:
            order = torch.randperm(len(self.images), generator=torch.Generator().manual_seed(
                self.seed * 100_003 + self.epoch))
            while self.position < self.steps_per_epoch:
                index = order[self.position * size:(self.position + 1) * size]
                self.position += 1
                yield to_float(self.images[index]), None if self.conditions is None else self.conditions[index]
            self.epoch += 1
            self.position = 0

    # -- the loop ------------------------------------------------------------------------------------
    def _d_input(self, images: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """The conditional variant's D input: the condition as constant feature maps beside the image."""
        if cond is None:
            return images
        maps = cond.to(images.device)[:, :, None, None].expand(-1, -1, *images.shape[-2:])
        return torch.cat([images, maps], dim=1)

    def _noise(self, noise: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """The conditional variant's G input: the condition concatenated with the noise."""
        if cond is None:
            return noise
        return torch.cat([noise, cond.to(noise.device)[:, :, None, None]], dim=1)

    def train_step(self, data: torch.Tensor, cond: torch.Tensor | None = None) -> StepLosses:
        """One iteration of the reference's inner loop on a [-1, 1] batch (and its conditions, if any)."""
        netD, netG, criterion = self.netD, self.netG, self.criterion
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        # train with real
        netD.zero_grad()
        real_cpu = data.to(self.device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), self.real_label, dtype=real_cpu.dtype, device=self.device)

        output = netD(self._d_input(real_cpu, cond))
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        # train with fake
        noise = torch.randn(batch_size, self.nz, 1, 1, device=self.device)
        fake = netG(self._noise(noise, cond))
        label.fill_(self.fake_label)
        output = netD(self._d_input(fake.detach(), cond))
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()

        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        netG.zero_grad()
        label.fill_(self.real_label)  # fake labels are real for generator cost
        output = netD(self._d_input(fake, cond))
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()
        self.step += 1
        return StepLosses(errD.item(), errG.item(), D_x, D_G_z1, D_G_z2)

    def train(self, steps: int, *, sample_every: int = 0) -> dict:
        """Run ``steps`` iterations on the next batches; returns seconds (loop only, and per step) and the losses.

        ``sample_every`` > 0 also does the reference's periodic ``netG(fixed_noise)`` inside the timed loop
        (the reference does it every 100 iterations, together with two PNG writes, left out here).
        """
        losses: list[StepLosses] = []
        step_seconds: list[float] = []
        started = last = time.perf_counter()
        for _ in range(steps):
            losses.append(self.train_step(*next(self._batches)))
            if sample_every and self.step % sample_every == 0:
                self.sample()
            now = time.perf_counter()
            step_seconds.append(now - last)
            last = now
        seconds = time.perf_counter() - started
        return {"steps": steps, "seconds": seconds, "step_seconds": step_seconds, "losses": losses}

    def sample(self) -> torch.Tensor:
        """``netG(fixed_noise)`` as the reference does it (train mode, autograd on), detached."""
        cond = None if self.conditions is None else self.conditions[:self.batch_size]
        return self.netG(self._noise(self.fixed_noise, cond)).detach()

    def generate(self, z: torch.Tensor, *, batch_stats: bool = False, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Images from noise (B, nz) for evaluation, without autograd (not part of the reference).

        ``batch_stats=False``: eval mode, BatchNorm on its running statistics.  ``True``: train mode, BatchNorm
        on the batch's own statistics, as the reference's sample grids are made (which, as there, also moves
        the running statistics).
        """
        was_training = self.netG.training
        self.netG.train(batch_stats)
        with torch.no_grad():
            images = self.netG(self._noise(z.to(self.device).view(z.size(0), self.nz, 1, 1), cond))
        self.netG.train(was_training)
        return images


def reference_from_dataset(source: str = "builtin:digits", image_size: int = 32, *, channels: int | None = None,
                           **kwargs) -> ReferenceDCGAN:
    """A :class:`ReferenceDCGAN` on an artforge dataset (same images as ``artforge train --data source``)."""
    from artforge.generation.data import load_dataset

    dataset = load_dataset(source, image_size, channels)
    return ReferenceDCGAN(dataset.images, image_size=image_size, **kwargs)


if __name__ == "__main__":  # a quick smoke run: python benchmarks/reference_dcgan.py
    torch.set_num_threads(2)
    ref = reference_from_dataset("builtin:digits", 32)
    out = ref.train(20)
    last = out["losses"][-1]
    print(f"{out['steps']} steps in {out['seconds']:.2f}s ({out['steps'] / out['seconds']:.2f} steps/s); "
          f"Loss_D {last.loss_d:.4f} Loss_G {last.loss_g:.4f} D(x) {last.d_x:.4f} "
          f"D(G(z)) {last.d_g_z1:.4f} / {last.d_g_z2:.4f}")
