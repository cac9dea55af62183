"""Small file-system helpers: write-then-rename, private directories."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import BadInput


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed; the directory itself is made 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_output(path: Path, data: bytes) -> Path:
    """Write a file the user named (a bundle, a diff picture) atomically; :class:`BadInput` when the path
    cannot be written (a folder, missing parent, a name too long, no permission), in one line."""
    if str(path) in ("", "."):
        raise BadInput("no output file named")
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise BadInput(f"{path}: cannot write ({exc.strerror or type(exc).__name__})") from None
    return path


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never a half-written one.

    The temporary file is created with ``mode`` from the start (no window where a private key is
    world-readable), fsynced, then renamed over the target.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
