"""The VAE's training recipe: the evidence lower bound with a Bernoulli likelihood and KL weight ``beta``, and
the learned sampling prior fitted to the data (:mod:`artforge.generation.models.vae`)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from artforge.generation.data import to_float
from artforge.generation.models.cgan import Condition
from artforge.generation.models.vae import VAE, VAEConfig
from artforge.generation.recipe_parts import Batch, ModelSpec, OptimConfig, make_adam


class VAERecipe:
    """Convolutional VAE training."""

    def __init__(self, spec: ModelSpec, optim: OptimConfig, device: torch.device, dataset_size: int = 0):
        self.spec = spec
        self.config = VAEConfig(**spec.config)
        self.condition = Condition.from_dict(spec.condition)
        self.device = device
        self.memory_format = torch.channels_last if optim.channels_last else torch.contiguous_format
        self.model = VAE(self.config).to(device).to(memory_format=self.memory_format)
        self.opt = make_adam(self.model.parameters(), optim.lr_g * 5, optim, device)  # VAEs like a higher lr
        self.train_model: nn.Module = self.model
        self.step = 0

    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    def modules(self) -> dict[str, nn.Module]:
        return {"vae": self.model}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vae": self.opt}

    def distribute(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        self.train_model = wrap(self.model)

    def cond_input(self, batch: Batch) -> None:
        return None

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One ELBO step; returns the loss terms as detached 0-dim tensors."""
        x = batch.images.contiguous(memory_format=self.memory_format)
        logits, mu, logvar = self.train_model(x)
        target = (x + 1) / 2
        size = x.size(0)
        reconstruction = F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / size
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / size
        loss = reconstruction + self.config.beta * kl
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return {"loss": loss.detach(), "reconstruction": reconstruction.detach(), "kl": kl.detach()}

    @torch.no_grad()
    def generate(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        was_training = self.model.training
        self.model.eval()
        images = self.model.decode(self.model.prior_latent(z.to(self.device)))
        self.model.train(was_training)
        return images.contiguous()

    @torch.no_grad()
    def fit_prior(self, images: torch.Tensor, limit: int = 10_000, batch: int = 256) -> None:
        """Fit the sampling prior to the posterior means of (up to ``limit`` of) the training images (uint8)."""
        if self.config.prior == "normal":
            return
        if len(images) > limit:  # a fixed subset: the same prior for the same weights
            images = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:limit]]
        if len(images) <= self.config.z_dim:
            return  # too few codes for a covariance: keep N(0, I)
        was_training = self.model.training
        self.model.eval()
        codes = torch.cat([self.model.encode(to_float(images[i:i + batch]).to(self.device))[0]
                           for i in range(0, len(images), batch)])
        self.model.fit_prior(codes.float())
        self.model.train(was_training)

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Mean reconstructions, for the sample grids."""
        was_training = self.model.training
        self.model.eval()
        mu, _ = self.model.encode(images.to(self.device))
        out = self.model.decode(mu)
        self.model.train(was_training)
        return out
