"""The chain is an optional extra: without web3 everything but talking to a chain runs, and minting says
what to install.  ``make test`` also runs these with ``ARTFORGE_WITHOUT_CHAIN=1`` (tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cli_helpers import run

CHAIN_EXTRA = ("web3", "eth_tester", "eth_account", "eth_abi", "eth_utils", "eth_typing", "eth_keys", "hexbytes")


@pytest.fixture
def without_web3(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chain extra as if uninstalled (a None entry in sys.modules makes import raise ImportError)."""
    for name in list(sys.modules):
        if name.partition(".")[0] in CHAIN_EXTRA:
            monkeypatch.delitem(sys.modules, name)
    for name in CHAIN_EXTRA:
        monkeypatch.setitem(sys.modules, name, None)


def test_without_web3_mint_names_the_extra_to_install_and_changes_nothing(home, art, without_web3) -> None:
    assert run("register", art(1), "--license", "CC0-1.0", "-q").exit_code == 0
    result = run("mint", art(1))
    assert result.exit_code == 13, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "artforge[chain]"' in lines[0], lines
    with home.registry() as registry:
        assert registry.db["tokens"].count == 0
    assert not (home.settings.home / "tokens").exists()  # no metadata written either


def test_without_web3_register_verify_show_and_audit_run(home, art, without_web3) -> None:
    assert run("register", art(2), "--license", "CC-BY-4.0", "-q").exit_code == 0
    assert run("verify", art(2)).exit_code == 0
    assert run("list").exit_code == 0
    assert run("audit").exit_code == 0
    assert not any(name.partition(".")[0] in CHAIN_EXTRA for name, module in sys.modules.items() if module)


def test_the_cli_starts_without_importing_web3(home) -> None:
    # A real process: nothing on the way to a command's help imports the chain extra.
    probe = ("import sys, artforge.cli; "
             "bad = sorted(m for m in sys.modules if m.split('.')[0] in %r); print(bad)" % (CHAIN_EXTRA,))
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_web3_is_required_only_by_the_chain_extra() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.split("[")[0].split("=")[0].strip() in CHAIN_EXTRA]
    assert [d for d in project["optional-dependencies"]["chain"] if d.startswith("web3")]
