"""Which of the registry's index rows a verification may use: only those the works' signed records vouch for."""

from __future__ import annotations

from artforge.matching.digest import layers_digest
from artforge.provenance.records import check_chain, signed_layers_digest
from artforge.registry.database import Registry


class SignedEvidence:
    """Admits what the registry's index tables offer only where the work's verified records say the same.

    The index tables find candidates fast; the records decide whether a candidate's hashes and match layers
    are really that work's.  What disagrees is left out and named in ``problems`` (the registry was edited).
    """

    def __init__(self, registry: Registry):
        self.registry = registry
        self.problems: list[str] = []  # rows that disagree with their records: the registry was edited
        self.unsigned: list[str] = []  # layers of works registered before their digest was signed
        self._signed: dict[str, dict | None] = {}

    def registration(self, work_id: str) -> dict | None:
        """The work's signed registration payload, with its layers digest; None when its chain fails."""
        if work_id not in self._signed:
            records = self.registry.records(work_id)
            valid = bool(records) and not check_chain(records)
            self._signed[work_id] = ({**records[0].payload, "layers": signed_layers_digest(records)}
                                     if valid else None)
        return self._signed[work_id]

    @staticmethod
    def _refuse(found: list[str], message: str) -> bool:
        if message not in found:
            found.append(message)
        return False

    def exact(self, work_id: str, column: str, value: str) -> bool:
        """Whether the work's registration signs this file or pixel hash."""
        registration = self.registration(work_id)
        if registration is None:
            return True  # the chain fails: kept, and reported as a broken signature
        if registration.get("work", {}).get(column) != value:
            return self._refuse(self.problems,
                                f"work {work_id[:12]}: its row claims a {column} its signed record does not")
        return True

    def layers(self, row: dict) -> bool:
        """Whether a stored layers row is the one the work's records sign."""
        work_id = row["work_id"]
        registration = self.registration(work_id)
        signed = registration.get("layers") if registration else None
        if signed is None:
            return self._refuse(self.unsigned, f"work {work_id[:12]}: its match layers are signed by no record "
                                "(registered by an older artforge: run 'artforge attest'); not used as evidence")
        if layers_digest(row) != signed:
            return self._refuse(self.problems, f"work {work_id[:12]}: its match layers differ from their signed "
                                "digest; not used as evidence")
        return True
