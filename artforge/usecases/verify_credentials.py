"""Content Credentials (C2PA) found in a disputed file, next to the registry's evidence.

A manifest is read only when the file carries one (a first look for its label costs nothing), and is
reported as the C2PA library validates it against this home's CA: ``trusted``, ``valid`` (the signature
holds, the signer is not in the trust list), ``invalid`` (a hash, the binding to the pixels or the signature
fails) or ``unreadable``.  The artforge record a manifest carries is checked on its own (id and Ed25519
signature, as ``artforge.verify_record`` does) and compared with the work the pixels matched.  A file with
no manifest gets no finding: a stripped manifest cannot be told from one never made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from artforge.provenance.c2pa_manifest import CredentialsReading
from artforge.verify_record import check_record


@dataclass(frozen=True)
class CredentialsFinding:
    """A disputed file's Content Credentials, as checked here."""

    state: str
    signer: str | None
    record_id: str | None  # the artforge record the manifest carries
    record_valid: bool | None  # that record's own id and signature verify (None when it carries none)
    matched_work: str | None  # the work the pixels matched, if any
    failures: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool | None:
        """Whether the manifest names the work the pixels matched (None when there is nothing to compare)."""
        if self.record_id is None or self.matched_work is None:
            return None
        return self.record_id == self.matched_work

    def to_dict(self) -> dict:
        return {"state": self.state, "signer": self.signer, "record_id": self.record_id,
                "record_valid": self.record_valid, "agrees": self.agrees, "failures": self.failures}

    def summary(self) -> str:
        """One line for the terminal report."""
        text = {"trusted": "trusted (signed by a certificate of this home's CA)",
                "valid": "valid signature, signer not in this home's trust list",
                "invalid": "INVALID", "unreadable": "present but unreadable"}.get(self.state, self.state)
        if self.signer:
            text += f"; signer {self.signer}"
        if self.record_id:
            text += f"; record {self.record_id[:12]}" + ("" if self.record_valid else " (its signature fails)")
            if self.agrees is not None:
                text += ", the matched work" if self.agrees else ", NOT the matched work"
        if self.failures:
            text += f"; failed: {', '.join(self.failures[:3])}"
        return text


def credentials_finding(reading: CredentialsReading | None, match) -> CredentialsFinding | None:
    """The finding for a report (None when the file carries no manifest); ``match`` is the matched candidate."""
    if reading is None:
        return None
    record_valid = None
    if reading.record is not None:
        record_valid = not check_record(0, reading.record).problems
    return CredentialsFinding(reading.state, reading.signer, reading.record_id, record_valid,
                              match.work_id if match is not None else None, list(reading.failures))


def credentials_notes(finding: CredentialsFinding | None) -> list[str]:
    """What a reader must not miss: credentials that fail, or that name another work than the pixels."""
    if finding is None:
        return []
    notes = []
    if finding.state in ("invalid", "unreadable"):
        notes.append("the file's Content Credentials do not verify: they say nothing about it")
    if finding.agrees is False:
        notes.append(f"the file's Content Credentials name record {finding.record_id[:12]}, not the matched work")
    if finding.record_valid is False:
        notes.append("the artforge record inside the Content Credentials does not verify")
    return notes
