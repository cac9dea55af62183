"""The one exception tree of artforge, and the exit codes that shell scripts branch on.

Library code raises a subclass of :class:`ArtforgeError`; the CLI turns it into ``Error: <message>`` on
stderr and the class's ``exit_code`` in exactly one place (``artforge.cli.output``).  Messages are one line
and never carry key material or passphrases.  They name the caller's parameters in backticks, as a Python
caller knows them (`` `truncation` must be in (0, 1]``, ``use `label=N` ``); the CLI shows its options there
instead (``--truncation``, ``--label N``), so no library message speaks of command-line flags.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; stable, documented in README.md."""

    OK = 0
    ERROR = 1  # unexpected failure
    USAGE = 2  # bad command-line usage (Typer/Click also use 2)
    NO_MATCH = 3  # verify: no registered work matches
    SIGNATURE_INVALID = 4  # verify/audit: a match whose signature or record chain is broken
    BAD_INPUT = 5  # unreadable, truncated, oversized or unsupported input file
    NOT_FOUND = 6  # unknown work, record, key or licence
    KEY_ERROR = 7  # missing/locked key or wrong passphrase
    REGISTRY_ERROR = 8  # registry file unusable (not a database, newer schema, read-only)
    PERMISSION_DENIED = 9  # the signer is not allowed to do this (e.g. not the current owner)
    CONFLICT = 10  # the operation clashes with existing state
    AMBIGUOUS = 11  # verify: several registered works match equally well
    LICENCE_FORBIDS = 12  # the work's licence forbids what was asked (e.g. a token of non-commercial art)
    CHAIN_ERROR = 13  # the chain is unreachable, not the one recorded, or refused the transaction
    REGISTRY_TAMPERED = 14  # verify/show: the registry's rows disagree with the signed records they index
    INTERRUPTED = 130  # Ctrl-C


class ArtforgeError(Exception):
    """Base of every error artforge raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR


class UsageError(ArtforgeError):
    """The arguments do not make sense together."""

    exit_code = ExitCode.USAGE


class BadInput(ArtforgeError):
    """An input file cannot be used (not an image, truncated, too large, unsupported)."""

    exit_code = ExitCode.BAD_INPUT


class NotFound(ArtforgeError):
    """A named work, record, key or licence does not exist."""

    exit_code = ExitCode.NOT_FOUND


class UnknownLicence(NotFound):
    """The licence id is neither built in nor registered as a custom licence."""


class SigningKeyError(ArtforgeError):
    """A signing key is missing, unreadable, or locked by a passphrase we do not have."""

    exit_code = ExitCode.KEY_ERROR


class WrongPassphrase(SigningKeyError):
    """The passphrase does not decrypt the private key."""


class SealError(SigningKeyError):
    """A private work's sealed part or wrapped key does not open with the keys at hand."""


class RegistryError(ArtforgeError):
    """The registry file cannot be opened or written."""

    exit_code = ExitCode.REGISTRY_ERROR


class SchemaTooNew(RegistryError):
    """The registry was written by a newer artforge."""


class RegistryTampered(ArtforgeError):
    """The registry's rows about a work disagree with the signed records they index."""

    exit_code = ExitCode.REGISTRY_TAMPERED


class NotOwner(ArtforgeError):
    """The signing key is not the current owner of the work."""

    exit_code = ExitCode.PERMISSION_DENIED


class AccessDenied(ArtforgeError):
    """The registry's roles do not let this key do this.  The registry keeps the attempt (``access_denials``)
    once the transaction that tried it has rolled back."""

    exit_code = ExitCode.PERMISSION_DENIED

    def __init__(self, message: str, *, key_id: str, action: str, target: str = ""):
        super().__init__(message)
        self.key_id, self.action, self.target = key_id, action, target


class Conflict(ArtforgeError):
    """The request clashes with what the registry already holds."""

    exit_code = ExitCode.CONFLICT


class InvalidRecord(ArtforgeError):
    """A provenance record is malformed or its signature does not verify."""

    exit_code = ExitCode.SIGNATURE_INVALID


class Interrupted(ArtforgeError):
    """Stopped by Ctrl-C (after saving what could be saved)."""

    exit_code = ExitCode.INTERRUPTED


class StaleArtifact(ArtforgeError):
    """A committed contract artifact was not built from the contract source beside it."""


class LicenceForbids(ArtforgeError):
    """The work's licence forbids what was asked."""

    exit_code = ExitCode.LICENCE_FORBIDS


class ChainError(ArtforgeError):
    """The chain cannot be reached, is not the chain the registry recorded, or refused a transaction."""

    exit_code = ExitCode.CHAIN_ERROR


class ChainExtraMissing(ChainError):
    """web3, the optional extra that talks to chains, is not installed."""


class ChainUnreachable(ChainError):
    """No node answers at the chain's address."""


class WrongChain(ChainError):
    """The node serves another chain than the one the registry recorded for this contract."""


class NotArtforgeContract(ChainError):
    """The address holds no contract, or one whose code is not artforge's."""


class TransactionRejected(ChainError):
    """The node refused the transaction (insufficient funds, bad nonce) or it reverted."""
