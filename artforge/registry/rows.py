"""The rows the registry returns for works and grants: indexes over the signed records, as dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkRow:
    """One registered work as the registry indexes it."""

    id: str
    title: str
    pixel_sha256: str
    file_sha256: str
    width: int
    height: int
    creator_key_id: str
    owner_key_id: str
    licence_id: str
    origin: dict
    parents: list[str]
    created_at: str
    head_record_id: str
    record_count: int

    @classmethod
    def from_row(cls, row: dict) -> "WorkRow":
        data = dict(row)
        data["origin"] = json.loads(data["origin"] or "{}")
        data["parents"] = json.loads(data["parents"] or "[]")
        return cls(**data)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class GrantRow:
    """A licence grant, as indexed."""

    record_id: str
    work_id: str
    grantee: str
    terms: str
    until: str | None
    granted_by: str
    created_at: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)
