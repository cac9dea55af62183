"""Cleaning free text (titles, names, terms) before it is signed into a record."""

from __future__ import annotations

import unicodedata

from artforge.errors import UsageError


def clean_text(value: str, what: str, max_length: int) -> str:
    """One line of printable text: whitespace collapsed, control characters dropped.

    Undecodable bytes from file names (lone surrogates under Python's surrogateescape) become U+FFFD,
    so every title can be signed as UTF-8.  Empty or over-long results are a :class:`UsageError`.
    """
    # surrogateescape restores the file name's bytes (U+DC80-U+DCFF); other lone surrogates become "?".
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if _escaped_only(value) else \
        value.encode("utf-8", "replace").decode("utf-8")
    value = "".join(ch if not unicodedata.category(ch).startswith("C") or ch.isspace() else "" for ch in value)
    cleaned = " ".join(value.split())
    if not cleaned:
        raise UsageError(f"{what} is empty")
    if len(cleaned) > max_length:
        raise UsageError(f"{what} is longer than {max_length} characters")
    return cleaned


def _escaped_only(value: str) -> bool:
    return all(not 0xD800 <= ord(ch) <= 0xDFFF or 0xDC80 <= ord(ch) <= 0xDCFF for ch in value)
