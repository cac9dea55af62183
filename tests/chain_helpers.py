"""Helpers for the chain tests: the standard token interfaces, and anvil on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

# The standard interfaces, written out here rather than taken from artforge's ABI: any wallet or
# marketplace reads the token through these.
GENERIC_ABI = [
    {"type": "function", "name": "ownerOf", "stateMutability": "view",
     "inputs": [{"name": "tokenId", "type": "uint256"}], "outputs": [{"name": "", "type": "address"}]},
    {"type": "function", "name": "tokenURI", "stateMutability": "view",
     "inputs": [{"name": "tokenId", "type": "uint256"}], "outputs": [{"name": "", "type": "string"}]},
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "royaltyInfo", "stateMutability": "view",
     "inputs": [{"name": "tokenId", "type": "uint256"}, {"name": "salePrice", "type": "uint256"}],
     "outputs": [{"name": "receiver", "type": "address"}, {"name": "royaltyAmount", "type": "uint256"}]},
    {"type": "function", "name": "supportsInterface", "stateMutability": "view",
     "inputs": [{"name": "interfaceId", "type": "bytes4"}], "outputs": [{"name": "", "type": "bool"}]},
]
ERC721, ERC721_METADATA, ERC2981, ERC4906 = "0x80ac58cd", "0x5b5e139f", "0x2a55205a", "0x49064906"

# `make test` installs anvil here from npm (tools/anvil); $ARTFORGE_ANVIL or PATH also work.
REPO_ANVIL = Path(__file__).resolve().parents[1] / "tools" / "anvil" / "node_modules" / ".bin" / "anvil"


def anvil_or_skip(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point ``$ARTFORGE_ANVIL`` at an anvil binary, or skip the test saying how to get one."""
    found = os.environ.get("ARTFORGE_ANVIL") or (str(REPO_ANVIL) if REPO_ANVIL.exists() else shutil.which("anvil"))
    if not found or not Path(found).exists():
        pytest.skip("anvil is not installed (make anvil, or npm install -g @foundry-rs/anvil@1.7.1)")
    monkeypatch.setenv("ARTFORGE_ANVIL", found)
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
