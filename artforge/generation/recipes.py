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
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from artforge.errors import UsageError
from artforge.generation.augment import diff_augment, parse_policy
from artforge.generation.family_defaults import arch_defaults
from artforge.generation.gan_levers import (
    check_loss,
    discriminator_loss,
    ema_decay_at,
    generator_loss,
    mode_seeking_loss,
    paired_conditions,
    r1_penalty,
)
from artforge.generation.models.cgan import Condition, GANDiscriminator, GANGenerator
from artforge.generation.models.dcgan import DCGANConfig, init_weights
from artforge.generation.models.mlpgan import MLPDiscriminator, MLPGANConfig, MLPGenerator
from artforge.generation.models.text import word_targets
from artforge.generation.models.vae import VAEConfig
from artforge.generation.recipe_parts import Batch, ModelSpec, OptimConfig, autocast_dtype, make_adam
from artforge.generation.vae_recipe import VAERecipe

FAMILIES = ("dcgan", "cgan", "mlpgan", "vae")
# GAN family -> (architecture config, generator, discriminator, weight init; None: the networks start as
# their original did, e.g. the MLP GAN's Keras initialisers).
GAN_NETWORKS = {
    "dcgan": (DCGANConfig, GANGenerator, GANDiscriminator, init_weights),
    "cgan": (DCGANConfig, GANGenerator, GANDiscriminator, init_weights),
    "mlpgan": (MLPGANConfig, MLPGenerator, MLPDiscriminator, None),
}
# Below this many images DiffAugment is on by default (Karras et al. 2020 and Zhao et al. 2020 show
# discriminator overfitting under a few thousand images); below FEW_IMAGES with the whole policy.
SMALL_DATASET = 5000
FEW_IMAGES = 1000


def auto_policy(rule: str, dataset_size: int, condition: Condition) -> str:
    """The DiffAugment policy ``--augment auto`` picks (``auto-v1``: the rule of runs saved before this one).

    Translation alone from FEW_IMAGES up: on the 1,797 digits it reached 0.69x the FD of the whole policy in
    60 s, with higher precision (docs/training.md); colour jitter and cutout also change what a prompt names
    (the colours, the outline).  The whole policy on a few hundred images or fewer (fine-tuning), where D
    overfits soonest (Zhao et al. 2020); none from SMALL_DATASET up.
    """
    if not dataset_size or dataset_size >= SMALL_DATASET:
        return "none"
    few = dataset_size < (SMALL_DATASET if rule == "auto-v1" else FEW_IMAGES)
    if few and condition.encoder != "slots":
        return "color,translation,cutout"
    return "translation"


def _word_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Multi-label cross-entropy summed over the words, averaged over the batch: a mean over the whole
    vocabulary would shrink each word's share as the vocabulary grows (measured: no shape learnt)."""
    return F.binary_cross_entropy_with_logits(logits.float(), targets, reduction="sum") / len(targets)


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
        self.opt_g = make_adam(self.g.parameters(), optim.lr_g, optim, device)
        self.opt_d = make_adam(self.d.parameters(), optim.lr_d, optim, device)
        self.policy = parse_policy(auto_policy(optim.augment, dataset_size, self.condition)
                                   if optim.augment.startswith("auto") else optim.augment)
        self.g_train: nn.Module = self.g  # replaced by a DDP wrapper when distributed
        self.d_train: nn.Module = self.d
        self.amp_dtype = autocast_dtype(optim.amp, device)
        self.freeze_d = optim.freeze_d
        self.loss = check_loss(optim.loss)
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

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One D step and one G step; returns the losses as detached 0-dim tensors."""
        real = batch.images.contiguous(memory_format=self.memory_format)
        cond = self.cond_input(batch)
        size = real.size(0)
        z = torch.randn(size, self.config.z_dim, device=self.device)
        # Prompt models with a word head: D learns to name the words of real images, G to make images whose
        # words D names (AC-GAN); it teaches shapes far sooner than the realism loss alone.
        words = getattr(self.config, "aux_dim", 0) > 0 and cond is not None and self.condition.mode == "text"
        targets = word_targets(cond, self.config.aux_dim) if words else None
        seeking = self.optim.mode_seeking > 0 and size >= 2
        fake_cond = paired_conditions(cond) if seeking else cond  # pairs (i, i + B/2) share a condition
        with self._autocast():
            fake = self.g_train(z, fake_cond)

            # Discriminator: real and fake in one batch (one forward, one backward).
            both = diff_augment(torch.cat([real, fake.detach()]), self.policy)
            out = self.d_train(both, None if cond is None else torch.cat([cond, fake_cond]), **self._words(words))
        logits = (out[0] if words else out).float()
        loss_d = discriminator_loss(self.loss, logits[:size], logits[size:])
        word_loss = torch.zeros(())
        if words:
            word_loss = _word_loss(out[1][:size], targets)
            loss_d = loss_d + self.optim.word_weight * word_loss
        self.opt_d.zero_grad(set_to_none=True)
        metrics: dict[str, torch.Tensor] = {}
        if self.optim.r1_gamma > 0 and self.step % self.optim.r1_every == 0:
            metrics["r1"] = self._r1_pass(real, cond, words)
        loss_d.backward()
        self.opt_d.step()

        # Generator: non-saturating loss, -log D(G(z)).  D's own weight gradients are not needed here;
        # freezing them saves about a tenth of a step.  The unwrapped D is used, so under DDP only G's
        # gradients are averaged in this pass (D's wrapper sees one forward and one backward per step).
        if self.freeze_d:
            self.d.requires_grad_(False)
        with self._autocast():
            out = self.d(diff_augment(fake, self.policy), fake_cond, **self._words(words))
        loss_g = generator_loss(self.loss, (out[0] if words else out).float())
        if words:
            fake_targets = word_targets(fake_cond, self.config.aux_dim) if seeking else targets
            loss_g = loss_g + self.optim.word_weight * _word_loss(out[1], fake_targets)
        if seeking:
            seeking_loss = mode_seeking_loss(fake, z)
            metrics["mode_seeking"] = seeking_loss.detach()
            loss_g = loss_g + self.optim.mode_seeking * seeking_loss
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        if self.freeze_d:
            self._release_d()
        self.opt_g.step()
        self._update_ema()
        self.step += 1
        # Detached tensors, not floats: the trainer reads them only on log steps (a GPU run never waits here).
        metrics.update({"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                        "d_real": logits[:size].detach().mean(), "d_fake": logits[size:].detach().mean()})
        if words:
            metrics["loss_words"] = word_loss.detach()
        return metrics

    def _r1_pass(self, real: torch.Tensor, cond: torch.Tensor | None, words: bool) -> torch.Tensor:
        """Lazy R1: its own forward and backward (under DDP, one more pair whose gradients are averaged
        like the main pass's); the gradients add to the D step's."""
        inputs = real.detach().requires_grad_(True)
        with self._autocast():
            out = self.d_train(diff_augment(inputs, self.policy), cond, **self._words(words))
        penalty = r1_penalty((out[0] if words else out).float(), inputs)
        (penalty * (self.optim.r1_gamma / 2 * self.optim.r1_every)).backward()
        return penalty.detach()

    @staticmethod
    def _words(words: bool) -> dict:
        return {"words": True} if words else {}

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.g_ema is None:
            return
        # Early on the average follows the generator closely (warm-up or ramp-up, see gan_levers).
        decay = ema_decay_at(self.step, self.optim.ema_decay, self.optim.ema_rampup)
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


Recipe = GANRecipe | VAERecipe


def build_recipe(spec: ModelSpec, optim: OptimConfig, device: torch.device, dataset_size: int = 0) -> Recipe:
    """The recipe for a model spec."""
    optim = optim.for_family(spec.family)
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
    base = {"image_size": dataset_info["image_size"], "channels": dataset_info["channels"],
            **arch_defaults(family, dataset_info["image_size"])}
    if family == "dcgan":
        return ModelSpec("dcgan", DCGANConfig(**{**base, **overrides}).to_dict())
    if family == "mlpgan":
        return ModelSpec("mlpgan", MLPGANConfig(**{**base, **overrides}).to_dict())
    if family == "vae":
        return ModelSpec("vae", VAEConfig(**{**base, **overrides}).to_dict())
    if family == "cgan":
        if condition not in ("auto", "label", "text"):
            raise UsageError(f"unknown condition {condition!r}: use auto, label or text")
        if condition == "text" and not vocabulary:
            raise UsageError("`condition=text` needs captions (captions.csv, or builtin:shapes)")
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
        config = DCGANConfig(**{**base, "cond_dim": condition.dim, **extra, **overrides})
        return ModelSpec("cgan", config.to_dict(), condition.to_dict())
    raise UsageError(f"unknown model family {family!r}; choose {', '.join(FAMILIES)}")
