"""The conditional GAN: the DCGAN networks steered by a class label or a short text prompt.

A :class:`Conditioner` turns the condition into a vector: a learned embedding per class, or the
:class:`~artforge.generation.models.text.TextEncoder` over the prompt's words.  The generator and the discriminator
each own a conditioner (trained by their own loss); the generator reads the vector next to the noise,
the discriminator through its projection term.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from artforge.generation.models.dcgan import DCGANConfig, Discriminator, Generator
from artforge.generation.models.text import SlotEncoder, TextEncoder, Vocabulary

TEXT_ENCODERS = {"gru": TextEncoder, "slots": SlotEncoder}


@dataclass
class Condition:
    """What a conditional model is conditioned on (stored in its checkpoint)."""

    mode: str = "none"  # "none", "label" or "text"
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()  # words, for mode "text"
    dim: int = 64
    encoder: str = "gru"  # mode "text": "slots" (new models) or "gru" (checkpoints made before slots existed)
    role_words: dict = field(default_factory=dict)  # "slots": role -> the words its captions used in it

    def to_dict(self) -> dict:
        return {"mode": self.mode, "num_classes": self.num_classes, "class_names": list(self.class_names),
                "vocabulary": list(self.vocabulary), "dim": self.dim, "encoder": self.encoder,
                "role_words": {role: list(words) for role, words in self.role_words.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> "Condition":
        return cls(mode=data["mode"], num_classes=data["num_classes"], class_names=tuple(data["class_names"]),
                   vocabulary=tuple(data["vocabulary"]), dim=data["dim"], encoder=data.get("encoder", "gru"),
                   role_words=dict(data.get("role_words") or {}))

    def make_vocabulary(self) -> Vocabulary | None:
        """The prompt vocabulary of a text-conditioned model (None otherwise)."""
        if self.mode != "text":
            return None
        return Vocabulary(list(self.vocabulary), slots=self.encoder == "slots", role_words=self.role_words or None)


class Conditioner(nn.Module):
    """labels (B,) or token ids (B, T) -> condition vector (B, dim)."""

    def __init__(self, condition: Condition):
        super().__init__()
        self.mode = condition.mode
        if condition.mode == "label":
            self.embed = nn.Embedding(condition.num_classes, condition.dim)
        elif condition.mode == "text":
            if condition.encoder not in TEXT_ENCODERS:
                raise ValueError(f"unknown text encoder {condition.encoder!r}")
            self.encoder = TEXT_ENCODERS[condition.encoder](len(condition.vocabulary) + 1, out_dim=condition.dim)
        else:
            raise ValueError(f"unknown condition mode {condition.mode!r}")

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        return self.embed(cond) if self.mode == "label" else self.encoder(cond)


class _Conditioned(nn.Module):
    """A network plus its optional conditioner: (input, cond_input) -> net(input, condition vector)."""

    network: type[nn.Module]

    def __init__(self, config: DCGANConfig, condition: Condition):
        super().__init__()
        self.conditioner = Conditioner(condition) if condition.mode != "none" else None
        self.net = self.network(config)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None, **options) -> torch.Tensor:
        vector = self.conditioner(cond) if self.conditioner is not None and cond is not None else None
        return self.net(x, vector, **options)


class GANGenerator(_Conditioned):
    """(z, cond_input) -> images."""

    network = Generator


class GANDiscriminator(_Conditioned):
    """(images, cond_input) -> logits; with ``words=True`` also the word head's logits (B, aux_dim)."""

    network = Discriminator
