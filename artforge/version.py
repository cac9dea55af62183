"""The installed artforge version (a module of its own so that any wing can stamp it without importing the API)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("artforge")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
