"""Everyday shell conventions: piping, stdin and stdout as '-', and what a script sees."""

from __future__ import annotations

import json
import os

from cli_helpers import run, run_process


def test_piped_talk_is_not_hard_wrapped(isolated_home) -> None:
    """`artforge log checkpoint 2>&1 | cat` kept the verifier key in two pieces (Rich wrapped at 80 columns)."""
    assert run("init", "--no-encrypt").exit_code == 0
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    key = json.loads(run("log", "checkpoint", "--json").stdout)["data"]["verifier_key"]
    result = run_process("log", "checkpoint", env=env)  # stdout and stderr are pipes here
    assert result.returncode == 0, result.stderr
    assert len(key) > 80 and key in result.stderr.split("\n")[0], result.stderr
