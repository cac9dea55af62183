"""Options shared by several commands, and reading inputs (paths from stdin, passphrases)."""

from __future__ import annotations

import getpass
import io
import os
import sys
from typing import TYPE_CHECKING, Annotated, BinaryIO, Optional

import typer

from artforge.config import MAX_STDIN_BYTES, Settings, check_env_name
from artforge.errors import BadInput, SigningKeyError, UsageError
from artforge.fsutil import read_path_lines

if TYPE_CHECKING:  # imported when used: `artforge --help` and tab completion should not load numpy and Pillow
    from artforge.imaging import ImageSource
    from artforge.usecases.home import Home

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the versioned JSON envelope on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or warnings on stderr.")]
KeyOpt = Annotated[
    Optional[str], typer.Option("--key", "-k", help="Signing key name (default: 'default').")
]
PASSPHRASE_ENV = "ARTFORGE_PASSPHRASE"  # read when set and no --passphrase-env names another variable
PassphraseEnvOpt = Annotated[
    Optional[str],
    typer.Option(
        "--passphrase-env",
        metavar="VAR",
        help=f"Read the key passphrase from this environment variable (default: ${PASSPHRASE_ENV} when set, "
             "else prompt on a terminal).",
    ),
]
EncryptOpt = Annotated[bool, typer.Option(
    "--encrypt/--no-encrypt",
    help="Encrypt the new private key with a passphrase (the default); --no-encrypt stores it unencrypted, "
         "protected by file permissions only.")]
RpcReadOpt = Annotated[
    Optional[str],
    typer.Option("--rpc", metavar="URL", help="Read tokens minted on an RPC chain from this JSON-RPC URL."),
]
ImagesArg = Annotated[
    list[str], typer.Argument(help="Image files; '-' reads paths from stdin, one per line.", show_default=False)
]
ImagesOrBytesArg = Annotated[
    list[str], typer.Argument(help="Image files (folders with -r); '-' reads stdin: an image's bytes (known by "
                                   "its magic number), else paths, one per line.", show_default=False)
]


def _stdin_bytes() -> BinaryIO:
    if sys.stdin is None:
        raise UsageError("'-' reads paths from stdin, but there is no stdin")
    if hasattr(sys.stdin, "buffer"):
        return sys.stdin.buffer
    # A text stream without bytes beneath (an embedding program's): read no more than the cap allows.
    return io.BytesIO(os.fsencode(sys.stdin.read(MAX_STDIN_BYTES + 1)))


def _peek(stream: BinaryIO, size: int = 16) -> bytes:
    """The first ``size`` bytes of ``stream`` (fewer at its end), left unread."""
    if hasattr(stream, "peek"):  # a buffered pipe or file: one read fills the buffer well past 16 bytes
        return stream.peek(size)[:size]
    if stream.seekable():
        at = stream.tell()
        head = stream.read(size)
        stream.seek(at)
        return head
    return b""


def read_paths(arguments: list[str]) -> list[str]:
    """Expand '-' into the non-blank lines of stdin; other arguments are paths as given.

    Stdin is read a bounded line at a time (:func:`artforge.fsutil.read_path_lines`): an over-long line,
    too many paths or an endless stream is a one-line error, not exhausted memory.  Image bytes on stdin
    are refused with a reason (this command keeps files; :func:`read_images` is for those that take bytes).
    """
    sources = read_images(arguments, accept_bytes=False)
    return [str(source) for source in sources]


RecursiveOpt = Annotated[bool, typer.Option("--recursive", "-r", help="Search folders given for images, "
                                                                    "subfolders too.")]


def read_images(arguments: list[str], *, accept_bytes: bool = True, recursive: bool | None = None) -> list[ImageSource]:
    """Like :func:`read_paths`, but '-' whose stdin holds an image (:func:`~artforge.imaging.looks_like_image`)
    gives that image's bytes, read up to the home's file-size limit.  With ``recursive`` a folder stands for
    its images; ``False`` refuses a folder with a hint (as ``grep`` and ``cp`` ask for ``-r``: a stray ``/``
    must not start a search of the whole disk); ``None`` leaves it to the loader's own message."""
    from artforge.imaging import IMAGE_SUFFIXES, ImageBytes, image_files, looks_like_image

    sources: list[ImageSource] = []
    for argument in arguments:
        if recursive is not None and argument != "-" and os.path.isdir(argument):
            if not recursive:
                raise BadInput(f"{argument}: is a folder; add -r to take the images in it (subfolders too)")
            found = image_files(argument)  # a folder: its images, recursively
            if not found:
                raise BadInput(f"{argument}: a folder with no images in it ({', '.join(IMAGE_SUFFIXES)})")
            sources.extend(str(path) for path in found)
            continue
        if argument != "-":
            sources.append(argument)
            continue
        stream = _stdin_bytes()
        if not looks_like_image(_peek(stream)):
            sources.extend(read_path_lines(stream, "stdin"))
        elif not accept_bytes:
            raise UsageError("stdin holds an image, and this command reads image files: save it to a file, "
                             "or give paths on stdin, one per line")
        else:
            limit = Settings.from_env().max_file_bytes
            data = stream.read(limit + 1)
            if len(data) > limit:
                raise BadInput(f"stdin: over the {limit}-byte image size limit")
            sources.append(ImageBytes(data, "-"))
    if not sources:
        raise UsageError("no image paths given (stdin was empty)")
    return sources


def _has_terminal() -> bool:
    # getpass reads the controlling terminal; without one it falls back to echoing stdin, which we refuse.
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return False


def passphrase_provider(env_var: str | None, *, confirm: bool = False):
    """A callable that yields the passphrase: from ``env_var``, else a prompt on the terminal.

    The passphrase is read only when an encrypted key is actually used, and never echoed; ``env_var`` is
    checked at once (:func:`artforge.config.check_env_name`), and a value given in its place never shown.
    """
    if env_var is not None:
        check_env_name(env_var, "--passphrase-env")
    if env_var is None and os.environ.get(PASSPHRASE_ENV):
        env_var = PASSPHRASE_ENV

    def provide() -> bytes | None:
        if env_var:
            value = os.environ.get(env_var)
            if not value:
                raise UsageError(f"environment variable {env_var} is not set or empty")
            return value.encode()
        if not _has_terminal():
            hint = " (or --no-encrypt to store the key unencrypted)" if confirm else ""
            raise SigningKeyError(f"a passphrase is needed but there is no terminal: use --passphrase-env VAR or "
                                  f"set {PASSPHRASE_ENV}{hint}")
        try:
            first = getpass.getpass("Passphrase: ", stream=sys.stderr)
            if confirm and getpass.getpass("Repeat passphrase: ", stream=sys.stderr) != first:
                raise UsageError("the passphrases do not match")
        except (EOFError, OSError):
            raise SigningKeyError("could not read a passphrase: use --passphrase-env VAR") from None
        return first.encode() if first else None

    return provide


def make_home(passphrase_env: str | None = None) -> Home:
    """The library entry point for this process: home from the environment, passphrase from the CLI."""
    from artforge.usecases.home import Home

    return Home(settings=Settings.from_env(), passphrase=passphrase_provider(passphrase_env))
