"""The compiled ArtforgeProvenance contract, as committed beside its source.

``contracts/build.js`` compiles ``contracts/ArtforgeProvenance.sol`` offline (solcjs and OpenZeppelin,
pinned in ``contracts/package.json``) and writes ``contracts/ArtforgeProvenance.json``: ABI, creation and
runtime bytecode, the compiler version and settings, and the SHA-256 of the source it was built from.
Nothing compiles at run time; :func:`load_artifact` refuses an artifact whose source hash no longer matches
the source next to it, so an edited contract cannot ship with stale bytecode.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from artforge.errors import StaleArtifact

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
CONTRACT_NAME = "ArtforgeProvenance"


@dataclass(frozen=True)
class ContractArtifact:
    """What is needed to deploy the contract and talk to it."""

    name: str
    abi: list[dict]
    bytecode: str  # 0x-prefixed creation code
    deployed_bytecode: str  # 0x-prefixed runtime code (what an address holds once deployed)
    compiler: str
    openzeppelin: str
    source_sha256: str


def source_sha256(directory: Path = CONTRACTS_DIR) -> str:
    """SHA-256 of the contract's source file, as ``build.js`` computes it."""
    return hashlib.sha256((directory / f"{CONTRACT_NAME}.sol").read_bytes()).hexdigest()


def load_artifact(directory: Path = CONTRACTS_DIR) -> ContractArtifact:
    """The committed artifact; :class:`StaleArtifact` when it was built from another source."""
    data = json.loads((directory / f"{CONTRACT_NAME}.json").read_text(encoding="utf-8"))
    if data["sourceSha256"] != source_sha256(directory):
        raise StaleArtifact(f"{CONTRACT_NAME}.json was built from another source; rebuild it: "
                            f"cd {directory} && npm install && npm run build")
    return ContractArtifact(name=data["contractName"], abi=data["abi"], bytecode=data["bytecode"],
                            deployed_bytecode=data["deployedBytecode"], compiler=data["compiler"]["version"],
                            openzeppelin=data["openzeppelin"], source_sha256=data["sourceSha256"])
