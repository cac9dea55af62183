"""Text encoders for prompts, trained with the conditional GAN on the dataset's captions.

Two encoders, chosen by ``Condition.encoder``:

* ``slots`` (the default for new models): each word gets a *role* from where it stands, subject or
  background, and the condition is the mean embedding of each role's words, concatenated and projected.
  Words add up instead of being read as a sequence, so "a red triangle" works even if no caption paired
  "red" with "triangle", and natural phrasings of known attributes ("red triangle on a green background",
  "green background with a red triangle") give the same condition as the captions' "a red triangle on green".
* ``gru`` (models made before it): a bidirectional GRU over the words in order.

Roles come from the prompt's structure, never from attribute names: it is split into clauses at commas,
semicolons and the words "with"/"and"; in a clause, words after a preposition such as "on" or "against"
describe the background, and a clause that names a "background" describes it.  Function words ("a",
"the", ...) carry nothing and are dropped; any other word outside the vocabulary is reported back (the
caller warns, naming it) instead of silently ignored.  A prompt with no known word at all is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch import nn

from artforge.errors import UsageError
from artforge.generation.data import tokenize

PAD, MAX_TOKENS = 0, 16
PREPOSITIONS = frozenset({"on", "against", "over", "upon", "atop"})  # what follows is the background
BACKGROUND_NOUNS = frozenset({"background", "backdrop", "backgrounds", "ground"})
CLAUSE_WORDS = frozenset({"with", "and"})
FUNCTION_WORDS = frozenset({"a", "an", "the", "of", "in", "front", "is", "are", "one", "some", "colored",
                            "coloured", "color", "colour", "shape", "shaped"}
                           | PREPOSITIONS | BACKGROUND_NOUNS | CLAUSE_WORDS)
CLAUSE_BREAK = re.compile(r"[,;]")


@dataclass
class EncodedPrompt:
    """A prompt's token ids and the words the model does not know (reported, not used)."""

    ids: list[int]
    unknown: list[str] = field(default_factory=list)


def roles(text: str) -> list[tuple[str, str]]:
    """(word, role) for each content word of ``text``; role is "subject" or "background"."""
    out = []
    for part in CLAUSE_BREAK.split(text.lower()):
        clause: list[str] = []
        for word in tokenize(part) + ["and"]:  # the sentinel ends the last clause
            if word not in CLAUSE_WORDS:
                clause.append(word)
                continue
            marker = next((i for i, w in enumerate(clause) if w in PREPOSITIONS), None)
            scenery = any(w in BACKGROUND_NOUNS for w in clause)
            for i, w in enumerate(clause):
                if w in FUNCTION_WORDS:
                    continue
                behind = (marker is not None and i > marker) or (marker is None and scenery)
                out.append((w, "background" if behind else "subject"))
            clause = []
    return out


class Vocabulary:
    """Word <-> id mapping built from captions (id 0 is padding).

    With ``slots`` the vocabulary holds the captions' content words, and a background word's id is its
    subject id plus ``len(self)``: the encoder and the discriminator's word head tell the roles apart.
    ``role_words`` (role -> words the captions used in it) marks a known word in a role it never had in
    training ("blue" as a background when only shapes were blue) as unknown too: its embedding never learnt.
    """

    def __init__(self, words: list[str], slots: bool = False, role_words: dict[str, list[str]] | None = None):
        self.words = list(words)
        self.slots = slots
        self.index = {w: i + 1 for i, w in enumerate(self.words)}
        self.role_words = {role: set(names) for role, names in (role_words or {}).items()}

    @classmethod
    def from_captions(cls, captions: list[str], slots: bool = False) -> "Vocabulary":
        if not slots:
            return cls(sorted({word for caption in captions for word in tokenize(caption)}))
        seen: dict[str, set[str]] = {"subject": set(), "background": set()}
        for caption in captions:
            for word, role in roles(caption):
                seen[role].add(word)
        return cls(sorted(seen["subject"] | seen["background"]), True, {r: sorted(w) for r, w in seen.items()})

    def _known(self, word: str, role: str) -> bool:
        return word in self.index and (not self.role_words or word in self.role_words.get(role, ()))

    def __len__(self) -> int:
        return len(self.words) + 1

    def encode_prompt(self, text: str) -> EncodedPrompt:
        """Token ids and unknown words; :class:`UsageError` when nothing in the prompt is known."""
        tokens = tokenize(text)
        if not tokens:
            raise UsageError("the prompt has no words")
        if self.slots:
            pairs = roles(text)
            unknown = [w if w not in self.index else f"{w} (never a {role} in training)"
                       for w, role in pairs if not self._known(w, role)]
            ids = [self.index[w] + (len(self) if role == "background" else 0)
                   for w, role in pairs if self._known(w, role)][:MAX_TOKENS]
        else:
            unknown = [t for t in tokens if t not in self.index]
            if unknown:  # a GRU model reads the whole sequence: a missing word would change the rest
                raise UsageError(f"unknown word(s) in prompt: {', '.join(unknown)} "
                                 f"(the model knows: {', '.join(self.words[:12])}, ...)")
            if len(tokens) > MAX_TOKENS:
                raise UsageError(f"the prompt has more than {MAX_TOKENS} words")
            ids = [self.index[t] for t in tokens]
        return EncodedPrompt(ids, list(dict.fromkeys(unknown)))

    def encode(self, text: str) -> list[int]:
        """Token ids of a prompt; :class:`UsageError` when it has no word the model knows."""
        encoded = self.encode_prompt(text)
        if not encoded.ids:
            shown = f" ({', '.join(encoded.unknown)})" if encoded.unknown else ""
            raise UsageError(f"no word in the prompt is one the model knows{shown}; "
                             f"it knows: {', '.join(self.words[:16])}")
        return encoded.ids

    def unknown(self, text: str) -> list[str]:
        """The prompt's words that the model does not know (empty for a GRU model's known prompt)."""
        try:
            return self.encode_prompt(text).unknown
        except UsageError:
            return [t for t in tokenize(text) if t not in self.index]

    def batch(self, texts: list[str], strict: bool = False) -> torch.Tensor:
        """Padded (B, T) id tensor; ``strict`` (training captions) refuses unknown words too."""
        ids = []
        for text in texts:
            encoded = self.encode_prompt(text)
            if strict and encoded.unknown:
                raise UsageError(f"caption {text!r} has word(s) the model does not know: {', '.join(encoded.unknown)}")
            if not strict and not encoded.ids:
                self.encode(text)  # the one clear error
            ids.append(encoded.ids)
        out = torch.zeros(len(ids), max(1, max(map(len, ids))), dtype=torch.int64)
        for row, seq in enumerate(ids):
            out[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.int64)
        return out


class TextEncoder(nn.Module):
    """The GRU encoder: (B, T) token ids -> (B, out_dim) condition vector."""

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


class SlotEncoder(nn.Module):
    """The slot encoder: (B, T) role-coded ids -> (B, out_dim); each role's words averaged, then projected.

    ``vocab_size`` is ``len(Vocabulary)``: ids below it are subject words, ids above it background words.
    An empty role (a prompt that names no background) contributes zeros.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, out_dim: int = 64):
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(2 * vocab_size, embed_dim, padding_idx=PAD)
        self.out = nn.Linear(2 * embed_dim, out_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        vectors = self.embed(tokens)  # (B, T, E)
        slots = []
        for mask in ((tokens != PAD) & (tokens < self.vocab_size), tokens > self.vocab_size):
            weight = mask.to(vectors.dtype).unsqueeze(2)  # (B, T, 1)
            slots.append((vectors * weight).sum(1) / weight.sum(1).clamp(min=1))
        return self.out(torch.cat(slots, dim=1))


def word_targets(tokens: torch.Tensor, classes: int) -> torch.Tensor:
    """(B, T) ids -> (B, classes) multi-hot of the words present (padding left out), for the word head."""
    target = torch.zeros(tokens.size(0), classes, device=tokens.device)
    target.scatter_(1, tokens, 1.0)
    target[:, PAD] = 0
    return target
