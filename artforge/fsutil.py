"""Small file-system helpers: reading files users name (safely), write-then-rename, private directories."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from artforge.config import MAX_STDIN_BYTES, MAX_STDIN_LINE_BYTES, MAX_STDIN_LINES
from artforge.errors import BadInput

READ_CHUNK = 1 << 20
# O_NONBLOCK: should the path become a FIFO between stat and open, open returns at once instead of waiting
# for a writer (fstat then refuses it); it changes nothing for a regular file.  O_NOCTTY: a terminal
# device never becomes our controlling terminal.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def _file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def _check_regular(label: str, info: os.stat_result, max_bytes: int, what: str) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise BadInput(f"{label}: is a directory, not {what}")
    if not stat.S_ISREG(info.st_mode):
        # Devices, FIFOs and sockets never end (/dev/zero, a pipe) or block on open: refused by type, unopened.
        raise BadInput(f"{label}: is {_file_kind(info.st_mode)}, not a regular file ({what} must be one)")
    if info.st_size > max_bytes:
        raise BadInput(f"{label}: file is {info.st_size} bytes, over the {max_bytes}-byte limit for {what}")


def read_regular_file(path: str | Path, max_bytes: int, what: str = "a file") -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` of them; :class:`BadInput` otherwise.

    The file type and size are checked with ``stat`` before the file is opened, so a FIFO, a device
    (``/dev/zero``) or a socket is refused without blocking or reading, and an oversized file without
    reading it; the open file is checked again (``fstat``) and read no further than ``max_bytes + 1``, so a
    file swapped or grown in between is refused too.  ``what`` names the file in messages ("an image").
    """
    label = str(path)
    try:
        _check_regular(label, os.stat(path), max_bytes, what)
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise BadInput(f"{label}: no such file") from None
    except OSError as exc:
        raise BadInput(f"{label}: cannot read ({exc.strerror or type(exc).__name__})") from None
    except ValueError:  # a NUL byte, or a lone surrogate that no file name can hold (e.g. from stdin)
        raise BadInput(f"{label!r}: not a valid file name") from None
    try:
        info = os.fstat(fd)
        _check_regular(label, info, max_bytes, what)
        # One read holds the whole file (no second copy of a large one); more come only if it grew or the
        # kernel returned less (reads stop near 2 GiB), and never past the limit.
        chunks = [os.read(fd, info.st_size + 1)]
        total = len(chunks[0])
        while total <= max_bytes and (chunk := os.read(fd, min(READ_CHUNK, max_bytes + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise BadInput(f"{label}: file grew over the {max_bytes}-byte limit for {what} while being read")
    except OSError as exc:
        raise BadInput(f"{label}: cannot read ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_path_lines(stream: BinaryIO, source: str = "stdin", *, max_line_bytes: int = MAX_STDIN_LINE_BYTES,
                    max_lines: int = MAX_STDIN_LINES, max_bytes: int = MAX_STDIN_BYTES) -> list[str]:
    """The non-blank lines of ``stream`` (one path each), decoded as the OS decodes file names.

    Read a line at a time with a bounded ``readline``, so an endless stream (``/dev/zero``, ``yes``) is
    refused after at most ``max_bytes`` instead of filling memory: :class:`BadInput` for a line longer
    than ``max_line_bytes`` (no path is: PATH_MAX), more than ``max_lines`` lines (blank ones count: an
    endless stream of newlines ends too), or more than ``max_bytes`` in all.
    """
    paths: list[str] = []
    total = 0
    number = 0
    while line := stream.readline(max_line_bytes + 2):  # + 2: room for the "\r\n" after a longest path
        number += 1
        if number > max_lines:
            raise BadInput(f"{source}: more than {max_lines} lines of paths; give fewer paths per command")
        total += len(line)
        if total > max_bytes:
            raise BadInput(f"{source}: over {max_bytes} bytes of paths; give fewer paths per command")
        name = line.rstrip(b"\n").rstrip(b"\r")
        if len(name) > max_line_bytes:
            raise BadInput(f"{source}: line {number} is over {max_line_bytes} bytes, longer than any path "
                           "(one path per line)")
        if not name.strip():
            continue
        # Bytes, decoded as the OS decodes file names: a name that is not UTF-8 survives (surrogateescape).
        paths.append(os.fsdecode(name))
    return paths


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
