"""Where artforge keeps its files, and the limits it applies.

One home directory holds everything: ``$ARTFORGE_HOME`` when set, else the platform's user data dir.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from artforge.errors import UsageError

HOME_ENV = "ARTFORGE_HOME"
# A shared registry on PostgreSQL: the URL in this variable, else the one 'artforge init --database' stored in
# the home (without a password: libpq reads that from ~/.pgpass or PGPASSWORD), else the home's SQLite file.
DATABASE_URL_ENV = "ARTFORGE_DATABASE_URL"
DATABASE_URL_FILE = "database-url"
DEFAULT_KEY_NAME = "default"
LOG_KEY_NAME = "log"  # signs the transparency log's checkpoints (artforge.registry.transparency_log); kept apart from identities
# 64 megapixels: far above any generator output or camera photo we expect, far below what exhausts a
# laptop's memory when a decompression bomb (a tiny file claiming a gigapixel canvas) is opened.
DEFAULT_MAX_IMAGE_PIXELS = 64_000_000
# Files above this are refused before they are read into memory.
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
# Checkpoints hold networks, EMA copies and optimiser state: far larger than images may be.
MAX_CHECKPOINT_BYTES = 4 * 1024**3
MAX_CAPTIONS_BYTES = 64 * 1024 * 1024  # a training folder's captions.csv
# Paths read from stdin ('-'): a line is one path, and no path is longer than Linux's PATH_MAX; the count
# and the total keep `cat /dev/zero | artforge register -` from filling memory.
MAX_STDIN_LINE_BYTES = 4096
MAX_STDIN_LINES = 100_000
MAX_STDIN_BYTES = 64 * 1024 * 1024


# --passphrase-env and --key-env take the name of a variable; a value given there is often the secret itself.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_ENV_NAME_LENGTH = 128
# A valid name can still be a key (64 hex digits starting with a letter): no real name is 32+ hex digits.
_KEY_LIKE = re.compile(r"[0-9a-fA-F]{32,}")


def check_env_name(value: str, option: str) -> str:
    """``value`` when it can name an environment variable; else :class:`UsageError` that does not repeat it.

    The one check of ``--passphrase-env`` and ``--key-env``: given a private key or a passphrase by
    mistake, the error must not print it (to a terminal, a CI log, a shell's scrollback).
    """
    if len(value) > MAX_ENV_NAME_LENGTH or not ENV_NAME.fullmatch(value) or _KEY_LIKE.fullmatch(value):
        raise UsageError(f"{option} takes the name of an environment variable (letters, digits and _), not a "
                         "value; what was given is not shown, as it may be a secret")
    return value


def default_home() -> Path:
    """The home directory: ``$ARTFORGE_HOME`` or the platform user data dir."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs  # imported here: only needed when no home is given

    return Path(platformdirs.user_data_dir("artforge", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Paths and limits for one artforge home."""

    home: Path
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    @classmethod
    def from_env(cls) -> "Settings":
        """Settings for the home named by the environment (or the platform default)."""
        return cls(home=default_home())

    @property
    def image_limits(self) -> dict[str, int]:
        """Keyword arguments for :func:`artforge.imaging.load_image`."""
        return {"max_pixels": self.max_image_pixels, "max_file_bytes": self.max_file_bytes}

    @property
    def registry_path(self) -> Path:
        """The SQLite registry file (also names this machine's files for a PostgreSQL registry)."""
        return self.home / "registry.db"

    @property
    def database_url_file(self) -> Path:
        """Where ``artforge init --database URL`` keeps the home's PostgreSQL URL."""
        return self.home / DATABASE_URL_FILE

    @property
    def registry_location(self) -> Path | str:
        """The registry this home uses: ``$ARTFORGE_DATABASE_URL``, the URL stored by ``init --database``,
        else the home's SQLite file."""
        url = os.environ.get(DATABASE_URL_ENV, "").strip()
        if url:
            return url
        try:
            stored = self.database_url_file.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            stored = ""
        return stored or self.registry_path

    @property
    def log_key_dir(self) -> Path:
        """Folder of the key that signs the log's checkpoints (not an identity: ``keys list`` omits it)."""
        return self.home / "log"

    @property
    def credentials_dir(self) -> Path:
        """Content Credentials: the home's CA key (``ca-key/``), its certificate and the identities' certificates."""
        return self.home / "c2pa"

    @property
    def keys_dir(self) -> Path:
        """Folder of signing keys (private keys 0600)."""
        return self.home / "keys"
