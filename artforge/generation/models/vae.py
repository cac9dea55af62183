"""A convolutional VAE (Kingma & Welling) at the same resolutions as the GANs.

Encoder: strided convolutions down to the seed size, then mean and log-variance of a ``z_dim`` Gaussian.
Decoder: the mirror image, ending in logits; pixels are ``sigmoid(logits)`` (Bernoulli likelihood on
[0, 1], which keeps reconstructions sharper than a fixed-variance Gaussian on small data).

Sampling draws from a learned prior: a full-covariance Gaussian fitted to the training images' posterior
means after training (ex-post density estimation, Ghosh et al. 2020).  The N(0, I) prior of the ELBO leaves
regions the decoder never learnt to draw, which is where blurry and mixed-up samples come from; the fitted
Gaussian covers the codes the decoder knows.  A seed's noise is mapped through it (mean + L z), so seeds
and interpolation work as before; models saved before the prior existed sample from N(0, I).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from artforge.generation.models.dcgan import MAX_WIDTH_MULTIPLIER, _steps, seed_size


@dataclass
class VAEConfig:
    """Architecture of the convolutional VAE."""

    image_size: int = 32
    channels: int = 3
    z_dim: int = 32
    width: int = 32
    beta: float = 1.0  # weight of the KL term
    prior: str = "fitted"  # sampling prior: "fitted" (a Gaussian fitted to the data's codes) or "normal" (N(0, I))

    def to_dict(self) -> dict:
        return asdict(self)


class VAE(nn.Module):
    """x (B, C, H, W) in [-1, 1] -> (reconstruction logits, mu, logvar)."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = config
        steps = _steps(config.image_size)
        widths = [config.width * min(2 ** i, MAX_WIDTH_MULTIPLIER) for i in range(steps)]
        self.start = seed_size(config.image_size)
        enc: list[nn.Module] = []
        w_in = config.channels
        for w in widths:
            enc += [nn.Conv2d(w_in, w, 4, 2, 1), nn.BatchNorm2d(w), nn.LeakyReLU(0.2, True)]
            w_in = w
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        flat = widths[-1] * self.start * self.start
        self.to_stats = nn.Linear(flat, 2 * config.z_dim)
        self.from_z = nn.Linear(config.z_dim, flat)
        dec: list[nn.Module] = []
        rev = widths[::-1]
        for w_in, w_out in zip(rev, rev[1:]):
            dec += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        dec.append(nn.ConvTranspose2d(rev[-1], config.channels, 4, 2, 1))
        self.decoder = nn.Sequential(*dec)
        self.widths = widths
        # The sampling prior N(prior_mean, L L^T); N(0, I) until fit_prior is called.
        self.register_buffer("prior_mean", torch.zeros(config.z_dim))
        self.register_buffer("prior_scale_tril", torch.eye(config.z_dim))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001 - torch's hook signature
        # Checkpoints from before the learned prior sampled from N(0, I), and still do.
        state_dict.setdefault(prefix + "prior_mean", torch.zeros_like(self.prior_mean))
        state_dict.setdefault(prefix + "prior_scale_tril", torch.eye(self.config.z_dim).to(self.prior_scale_tril))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def fit_prior(self, codes: torch.Tensor) -> None:
        """Fit the sampling prior to posterior means ``codes`` (N, z_dim), N > z_dim."""
        codes = codes.double()
        mean = codes.mean(0)
        cov = torch.cov(codes.T) + 1e-4 * torch.eye(codes.shape[1], dtype=codes.dtype, device=codes.device)
        self.prior_mean.copy_(mean.to(self.prior_mean))
        self.prior_scale_tril.copy_(torch.linalg.cholesky(cov).to(self.prior_scale_tril))

    def prior_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Standard-normal noise (B, z_dim) -> a draw from the sampling prior."""
        return self.prior_mean + z @ self.prior_scale_tril.T

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 12)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_z(z).view(z.size(0), self.widths[-1], self.start, self.start)
        return self.decoder(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, z_dim) -> images in [-1, 1]."""
        return torch.sigmoid(self.decode_logits(z)) * 2 - 1

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode_logits(z), mu, logvar
