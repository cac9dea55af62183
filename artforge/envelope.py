"""The versioned JSON envelope of every machine-readable answer: the CLI's ``--json`` and the HTTP service's."""

from __future__ import annotations

from typing import Any

from artforge.errors import ExitCode

ENVELOPE_VERSION = 1


def envelope(command: str, data: Any, exit_code: ExitCode, errors: list[dict]) -> dict:
    """``{"artforge", "command", "ok", "exit_code", "data", "errors"}`` (pinned by tests/test_cli_contract.py)."""
    return {
        "artforge": ENVELOPE_VERSION,
        "command": command,
        "ok": not errors,
        "exit_code": int(exit_code),
        "data": data,
        "errors": errors,
    }
