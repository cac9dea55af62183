"""How each model family trains and samples: the per-step logic the model-agnostic trainer drives.

* :class:`GANRecipe` (``dcgan``, ``cgan``, ``mlpgan``): non-saturating logistic loss, DiffAugment on both real and
  fake images, an exponential moving average (EMA) of the generator that sampling uses.  Real and fake
  images go through the discriminator as one concatenated batch: one forward and one backward per
  network per step, which is both faster on a CPU and what DistributedDataParallel requires.
* :class:`VAERecipe` (``vae``): the evidence lower bound, Bernoulli likelihood, KL weight ``beta``.

A :class:`ModelSpec` (family + architecture + condition) is all that sampling needs to rebuild a model.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from artforge.errors import UsageError
from artforge.generation.augment import diff_augment, parse_policy
from artforge.generation.models.cgan import Condition, GANDiscriminator, GANGenerator
from artforge.generation.models.dcgan import DCGANConfig, init_weights
from artforge.generation.models.mlpgan import MLPDiscriminator, MLPGANConfig, MLPGenerator
from artforge.generation.models.text import word_targets
from artforge.generation.models.vae import VAE, VAEConfig

FAMILIES = ("dcgan", "cgan", "mlpgan", "vae")
# GAN family -> (architecture config, generator, discriminator, weight init; None: the networks start as
# their original did, e.g. the MLP GAN's Keras initialisers).
GAN_NETWORKS = {
    "dcgan": (DCGANConfig, GANGenerator, GANDiscriminator, init_weights),
    "cgan": (DCGANConfig, GANGenerator, GANDiscriminator, init_weights),
    "mlpgan": (MLPGANConfig, MLPGenerator, MLPDiscriminator, None),
}
# Below this many images DiffAugment is on by default (Karras et al. 2020 and Zhao et al. 2020 show
# discriminator overfitting under a few thousand images).
SMALL_DATASET = 5000


@dataclass
class OptimConfig:
    """Optimisation settings shared by the families."""

    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    ema_decay: float = 0.999  # 0 disables the EMA generator
    augment: str = "auto"  # "auto", "none", or a DiffAugment policy such as "color,translation,cutout"
    fused: bool = True  # fused Adam kernels (measured in benchmarks/train_speed.py)
    channels_last: bool = True
    amp: str = "auto"  # "auto" (bf16 where the hardware has it), "bf16" or "off"
    freeze_d: bool = True  # skip D's weight gradients in the G step
    word_weight: float = 1.0  # the word head's loss (prompt models with aux_dim), in D on reals and in G

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ModelSpec:
    """A model family, its architecture and what it is conditioned on."""

    family: str
    config: dict
    condition: dict = field(default_factory=lambda: Condition().to_dict())

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Batch:
    """One training batch: images (B, C, H, W) in [-1, 1] and the condition inputs, if any."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    tokens: torch.Tensor | None = None


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast where it is native (AVX-512 BF16 / AMX CPUs, Ampere+ GPUs): 1.5x on such a CPU
    (benchmarks/train_speed.py) at unchanged quality (benchmarks/quality.py); off elsewhere."""
    if amp == "off":
        return None
    if amp not in ("auto", "bf16"):
        raise UsageError(f"unknown --amp {amp!r}: use auto, bf16 or off")
    if device.type == "cpu":
        # oneDNN also reports bf16 on AVX-512 CPUs that only emulate it, where it runs 2x slower than
        # fp32 (measured); only AVX-512 BF16 or AMX count.  These checks are private torch APIs.
        native = torch.ops.mkldnn._is_mkldnn_bf16_supported() and (
            getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
            or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    elif device.type == "cuda":
        native = torch.cuda.is_bf16_supported(including_emulation=False)
    else:
        native = False
    return torch.bfloat16 if native or amp == "bf16" else None


def _word_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Multi-label cross-entropy summed over the words, averaged over the batch: a mean over the whole
    vocabulary would shrink each word's share as the vocabulary grows (measured: no shape learnt)."""
    return F.binary_cross_entropy_with_logits(logits.float(), targets, reduction="sum") / len(targets)


def _adam(params, lr: float, optim: OptimConfig, device: torch.device) -> torch.optim.Optimizer:
    fused = optim.fused and device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=lr, betas=(optim.beta1, optim.beta2), fused=fused or None)


class GANRecipe:
    """DCGAN, conditional GAN and MLP GAN training."""

    def __init__(self, spec: ModelSpec, optim: OptimConfig, device: torch.device, dataset_size: int = 0):
        self.spec = spec
        config_type, make_g, make_d, init = GAN_NETWORKS[spec.family]
        self.config = config_type(**spec.config)
        self.condition = Condition.from_dict(spec.condition)
        self.device = device
        self.optim = optim
        self.memory_format = torch.channels_last if optim.channels_last else torch.contiguous_format
        self.g = make_g(self.config, self.condition).to(device)
        self.d = make_d(self.config, self.condition).to(device)
        if init is not None:
            self.g.apply(init)
            self.d.apply(init)
        self.g.to(memory_format=self.memory_format)
        self.d.to(memory_format=self.memory_format)
        self.g_ema = copy.deepcopy(self.g).eval().requires_grad_(False) if optim.ema_decay > 0 else None
        self.opt_g = _adam(self.g.parameters(), optim.lr_g, optim, device)
        self.opt_d = _adam(self.d.parameters(), optim.lr_d, optim, device)
        policy = optim.augment
        if policy == "auto":
            policy = "color,translation,cutout" if dataset_size and dataset_size < SMALL_DATASET else "none"
            if policy != "none" and self.condition.encoder == "slots":
                # Colour jitter and cutout change what the prompt names (the colours, the outline): they slowed
                # the word head's shape learning on real shapes from 0.73 to 0.49 accuracy in 300 steps.
                policy = "translation"
        self.policy = parse_policy(policy)
        self.g_train: nn.Module = self.g  # replaced by a DDP wrapper when distributed
        self.d_train: nn.Module = self.d
        self.amp_dtype = autocast_dtype(optim.amp, device)
        self.freeze_d = optim.freeze_d
        self.d_frozen: list[nn.Parameter] = []  # kept at the base's weights when fine-tuning (FreezeD)
        self.step = 0

    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    def modules(self) -> dict[str, nn.Module]:
        mods = {"g": self.g, "d": self.d}
        if self.g_ema is not None:
            mods["g_ema"] = self.g_ema
        return mods

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    def distribute(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        self.g_train, self.d_train = wrap(self.g), wrap(self.d)

    def freeze_lower_discriminator(self) -> None:
        """FreezeD (Mo et al. 2020): the lower half of D's layers keep their weights; the top adapts."""
        net = self.d.net  # the network inside its conditioner wrapper: condition encoders adapt too
        layers = [module for name, module in net.named_modules()
                  if isinstance(module, (nn.Conv2d, nn.Linear)) and not name.startswith(("project", "words"))]
        self.d_frozen = [p for layer in layers[:(len(layers) - 1) // 2] for p in layer.parameters()]
        for parameter in self.d_frozen:
            parameter.requires_grad_(False)

    def _release_d(self) -> None:
        self.d.requires_grad_(True)
        for parameter in self.d_frozen:
            parameter.requires_grad_(False)

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def cond_input(self, batch: Batch) -> torch.Tensor | None:
        if self.condition.mode == "label":
            return batch.labels
        if self.condition.mode == "text":
            return batch.tokens
        return None

    def train_step(self, batch: Batch) -> dict[str, float]:
        real = batch.images.contiguous(memory_format=self.memory_format)
        cond = self.cond_input(batch)
        size = real.size(0)
        z = torch.randn(size, self.config.z_dim, device=self.device)
        # Prompt models with a word head: D learns to name the words of real images, G to make images whose
        # words D names (AC-GAN); it teaches shapes far sooner than the realism loss alone.
        words = getattr(self.config, "aux_dim", 0) > 0 and cond is not None and self.condition.mode == "text"
        targets = word_targets(cond, self.config.aux_dim) if words else None
        with self._autocast():
            fake = self.g_train(z, cond)

            # Discriminator: real and fake in one batch (one forward, one backward).
            both = diff_augment(torch.cat([real, fake.detach()]), self.policy)
            out = self.d_train(both, None if cond is None else torch.cat([cond, cond]), **self._words(words))
        logits = (out[0] if words else out).float()
        loss_d = F.softplus(-logits[:size]).mean() + F.softplus(logits[size:]).mean()
        word_loss = torch.zeros(())
        if words:
            word_loss = _word_loss(out[1][:size], targets)
            loss_d = loss_d + self.optim.word_weight * word_loss
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        # Generator: non-saturating loss, -log D(G(z)).  D's own weight gradients are not needed here;
        # freezing them saves about a tenth of a step.  The unwrapped D is used, so under DDP only G's
        # gradients are averaged in this pass (D's wrapper sees one forward and one backward per step).
        if self.freeze_d:
            self.d.requires_grad_(False)
        with self._autocast():
            out = self.d(diff_augment(fake, self.policy), cond, **self._words(words))
        loss_g = F.softplus(-(out[0] if words else out).float()).mean()
        if words:
            loss_g = loss_g + self.optim.word_weight * _word_loss(out[1], targets)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        if self.freeze_d:
            self._release_d()
        self.opt_g.step()
        self._update_ema()
        self.step += 1
        metrics = {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
                   "d_real": logits[:size].mean().item(), "d_fake": logits[size:].mean().item()}
        if words:
            metrics["loss_words"] = word_loss.item()
        return metrics

    @staticmethod
    def _words(words: bool) -> dict:
        return {"words": True} if words else {}

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.g_ema is None:
            return
        # Warm-up: early on the average follows the generator closely (as in many GAN codebases).
        decay = min(self.optim.ema_decay, (1 + self.step) / (10 + self.step))
        ema_params = list(self.g_ema.parameters())
        torch._foreach_lerp_(ema_params, [p.detach() for p in self.g.parameters()], 1 - decay)
        for ema_buffer, buffer in zip(self.g_ema.buffers(), self.g.buffers()):
            ema_buffer.copy_(buffer)

    def sampler(self) -> nn.Module:
        """The network that sampling uses: the EMA generator when there is one."""
        return self.g_ema if self.g_ema is not None else self.g

    @torch.no_grad()
    def generate(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        net = self.sampler()
        was_training = net.training
        net.eval()
        images = net(z.to(self.device), None if cond is None else cond.to(self.device))
        net.train(was_training)
        return images.contiguous()


class VAERecipe:
    """Convolutional VAE training."""

    def __init__(self, spec: ModelSpec, optim: OptimConfig, device: torch.device, dataset_size: int = 0):
        self.spec = spec
        self.config = VAEConfig(**spec.config)
        self.condition = Condition.from_dict(spec.condition)
        self.device = device
        self.memory_format = torch.channels_last if optim.channels_last else torch.contiguous_format
        self.model = VAE(self.config).to(device).to(memory_format=self.memory_format)
        self.opt = _adam(self.model.parameters(), optim.lr_g * 5, optim, device)  # VAEs like a higher lr
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

    def train_step(self, batch: Batch) -> dict[str, float]:
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
        return {"loss": loss.item(), "reconstruction": reconstruction.item(), "kl": kl.item()}

    @torch.no_grad()
    def generate(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        was_training = self.model.training
        self.model.eval()
        images = self.model.decode(z.to(self.device))
        self.model.train(was_training)
        return images.contiguous()

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Mean reconstructions, for the sample grids."""
        was_training = self.model.training
        self.model.eval()
        mu, _ = self.model.encode(images.to(self.device))
        out = self.model.decode(mu)
        self.model.train(was_training)
        return out


Recipe = GANRecipe | VAERecipe


def build_recipe(spec: ModelSpec, optim: OptimConfig, device: torch.device, dataset_size: int = 0) -> Recipe:
    """The recipe for a model spec."""
    if spec.family in GAN_NETWORKS:
        return GANRecipe(spec, optim, device, dataset_size)
    if spec.family == "vae":
        return VAERecipe(spec, optim, device, dataset_size)
    raise UsageError(f"unknown model family {spec.family!r}; choose {', '.join(FAMILIES)}")


def spec_for(family: str, dataset_info: dict, *, vocabulary: list[str] | None = None,
             overrides: dict | None = None, condition: str = "auto",
             role_words: dict[str, list[str]] | None = None) -> ModelSpec:
    """A model spec that fits a dataset (size, channels, classes or captions).

    The conditional GAN reads prompts when the data has captions and ``condition`` is ``auto`` or
    ``text``; class labels when it is ``label`` or there are no captions.
    """
    overrides = dict(overrides or {})  # "encoder" is taken out below; the caller's dict stays as it was
    base = {"image_size": dataset_info["image_size"], "channels": dataset_info["channels"]}
    if family == "dcgan":
        return ModelSpec("dcgan", DCGANConfig(**base, **overrides).to_dict())
    if family == "mlpgan":
        return ModelSpec("mlpgan", MLPGANConfig(**base, **overrides).to_dict())
    if family == "vae":
        return ModelSpec("vae", VAEConfig(**base, **overrides).to_dict())
    if family == "cgan":
        if condition not in ("auto", "label", "text"):
            raise UsageError(f"unknown condition {condition!r}: use auto, label or text")
        if condition == "text" and not vocabulary:
            raise UsageError("--condition text needs captions (captions.csv, or builtin:shapes)")
        encoder = overrides.pop("encoder", "slots")
        extra = {}
        if vocabulary and condition != "label":
            if encoder not in ("slots", "gru"):
                raise UsageError(f"unknown prompt encoder {encoder!r}: use slots or gru")
            condition = Condition(mode="text", vocabulary=tuple(vocabulary), encoder=encoder,
                                  role_words=dict(role_words or {}) if encoder == "slots" else {})
            if encoder == "slots":  # role-coded ids run to 2 x (words + padding)
                extra = {"film": True, "aux_dim": 2 * (len(vocabulary) + 1)}
        elif dataset_info["class_names"]:
            names = tuple(dataset_info["class_names"])
            condition = Condition(mode="label", num_classes=len(names), class_names=names)
        else:
            raise UsageError("the conditional GAN needs classes (subfolders) or captions (captions.csv)")
        config = DCGANConfig(**base, cond_dim=condition.dim, **{**extra, **overrides})
        return ModelSpec("cgan", config.to_dict(), condition.to_dict())
    raise UsageError(f"unknown model family {family!r}; choose {', '.join(FAMILIES)}")
