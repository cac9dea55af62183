"""artforge: make images with generators, then prove, license and defend them.

The Python API, one function per use case (the CLI calls the same ones)::

    import artforge

    home = artforge.create_home("studio", passphrase="correct horse")   # keys encrypted at rest
    [work] = artforge.register("art.png", licence="CC-BY-4.0", home=home)
    [report] = artforge.verify("disputed.jpg", home=home)
    print(report.status, report.match.work_id if report.match else None)

``docs/api.md`` walks through every function; its examples run as tests.  Names load on first use, so
``import artforge`` stays fast: torch, faiss and web3 come in with the function that needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from artforge.version import __version__

# public name -> module that defines it
_EXPORTS = {
    "open_home": "artforge.usecases.api", "create_home": "artforge.usecases.api",
    "fingerprint": "artforge.usecases.api", "register": "artforge.usecases.api", "verify": "artforge.usecases.api",
    "show": "artforge.usecases.api", "export": "artforge.usecases.api", "audit": "artforge.usecases.api",
    "credentials": "artforge.usecases.api", "set_role": "artforge.usecases.api", "copy_registry": "artforge.usecases.api",
    "share": "artforge.usecases.api", "ShareResult": "artforge.usecases.private_works",
    "train": "artforge.usecases.api", "generate": "artforge.usecases.api", "mint": "artforge.usecases.api",
    "stylize": "artforge.usecases.api", "StylizeResult": "artforge.usecases.stylize",
    "Home": "artforge.usecases.home", "Settings": "artforge.config",
    "ArtforgeError": "artforge.errors", "ExitCode": "artforge.errors",
    "Signer": "artforge.provenance.keys",
    "Fingerprint": "artforge.provenance.fingerprints",
    "SignedRecord": "artforge.provenance.records", "check_chain": "artforge.provenance.records",
    "check_signature": "artforge.provenance.records", "canonical_bytes": "artforge.provenance.records",
    "RegisteredWork": "artforge.usecases.register", "DisputeReport": "artforge.usecases.verify",
    "WorkDetails": "artforge.usecases.show", "AuditReport": "artforge.usecases.audit",
    "TrainConfig": "artforge.generation.train_config", "TrainResult": "artforge.generation.training",
    "GenerateResult": "artforge.generation.sampling", "MintResult": "artforge.usecases.mint",
    "CredentialsExport": "artforge.usecases.credentials",
}

__all__ = ["ArtforgeError", "AuditReport", "CredentialsExport", "DisputeReport", "ExitCode", "Fingerprint", "GenerateResult",
    "Home", "MintResult", "RegisteredWork", "Settings", "ShareResult", "SignedRecord", "Signer", "StylizeResult", "TrainConfig",
    "TrainResult", "WorkDetails", "__version__", "audit", "canonical_bytes", "check_chain", "check_signature",
    "copy_registry", "create_home", "credentials", "export", "fingerprint", "generate", "mint", "open_home", "register", "set_role", "share", "show", "stylize",
    "train", "verify"]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports on first use
    from artforge.config import Settings
    from artforge.errors import ArtforgeError, ExitCode
    from artforge.generation.sampling import GenerateResult
    from artforge.generation.train_config import TrainConfig
    from artforge.generation.training import TrainResult
    from artforge.provenance.fingerprints import Fingerprint
    from artforge.provenance.keys import Signer
    from artforge.provenance.records import SignedRecord, canonical_bytes, check_chain, check_signature
    from artforge.usecases.api import (
        audit,
        copy_registry,
        create_home,
        credentials,
        export,
        fingerprint,
        generate,
        mint,
        open_home,
        register,
        set_role,
        share,
        show,
        stylize,
        train,
        verify,
    )
    from artforge.usecases.audit import AuditReport
    from artforge.usecases.credentials import CredentialsExport
    from artforge.usecases.home import Home
    from artforge.usecases.mint import MintResult
    from artforge.usecases.private_works import ShareResult
    from artforge.usecases.register import RegisteredWork
    from artforge.usecases.show import WorkDetails
    from artforge.usecases.stylize import StylizeResult
    from artforge.usecases.verify import DisputeReport


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'artforge' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
