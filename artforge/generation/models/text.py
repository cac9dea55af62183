"""A small text encoder for prompts, trained with the conditional GAN on the dataset's captions.

Prompts are tokenised into lower-case words; the vocabulary is exactly the training captions' words, so a
prompt with a word the model never saw is refused with a clear message instead of producing noise.  A
bidirectional GRU reads the words in order, so "a red circle on blue" and "a blue circle on red" differ.
"""

from __future__ import annotations

import torch
from torch import nn

from artforge.errors import UsageError
from artforge.generation.data import tokenize

PAD, MAX_TOKENS = 0, 16


class Vocabulary:
    """Word <-> id mapping built from captions (id 0 is padding)."""

    def __init__(self, words: list[str]):
        self.words = list(words)
        self.index = {w: i + 1 for i, w in enumerate(self.words)}

    @classmethod
    def from_captions(cls, captions: list[str]) -> "Vocabulary":
        return cls(sorted({word for caption in captions for word in tokenize(caption)}))

    def __len__(self) -> int:
        return len(self.words) + 1

    def encode(self, text: str) -> list[int]:
        """Token ids of a prompt; :class:`UsageError` naming any word outside the vocabulary."""
        tokens = tokenize(text)
        if not tokens:
            raise UsageError("the prompt has no words")
        unknown = [t for t in tokens if t not in self.index]
        if unknown:
            sample = ", ".join(self.words[:12])
            raise UsageError(f"unknown word(s) in prompt: {', '.join(unknown)} (the model knows: {sample}, ...)")
        if len(tokens) > MAX_TOKENS:
            raise UsageError(f"the prompt has more than {MAX_TOKENS} words")
        return [self.index[t] for t in tokens]

    def batch(self, texts: list[str]) -> torch.Tensor:
        """Padded (B, T) id tensor."""
        ids = [self.encode(t) for t in texts]
        out = torch.zeros(len(ids), max(map(len, ids)), dtype=torch.int64)
        for row, seq in enumerate(ids):
            out[row, : len(seq)] = torch.as_tensor(seq)
        return out


class TextEncoder(nn.Module):
    """(B, T) token ids -> (B, out_dim) condition vector."""

    def __init__(self, vocab_size: int, embed_dim: int = 64, out_dim: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.gru = nn.GRU(embed_dim, embed_dim, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * embed_dim, out_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        lengths = (tokens != PAD).sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, hidden = self.gru(packed)  # (2, B, E)
        return self.out(torch.cat([hidden[0], hidden[1]], dim=1))
