"""The licence catalogue: SPDX ids with machine-readable terms.

Terms follow the questions a buyer or a dispute asks: may I use it commercially, may I adapt it, must I
share alike, must I credit, and may it be used for text-and-data mining and AI (the four uses of the CAWG
training-and-data-mining assertion, each ``allowed``, ``notAllowed`` or ``constrained``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from artforge.errors import UsageError

TDM_VALUES = ("allowed", "notAllowed", "constrained")
TDM_USES = ("data_mining", "ai_inference", "ai_training", "ai_generative_training")
CUSTOM_ID_PATTERN = re.compile(r"^LicenseRef-[A-Za-z0-9.\-]{1,64}$")


@dataclass(frozen=True)
class LicenceTerms:
    """What a licence permits, in machine-readable form."""

    commercial: bool
    derivatives: bool
    share_alike: bool
    attribution: bool
    data_mining: str = "allowed"
    ai_inference: str = "allowed"
    ai_training: str = "allowed"
    ai_generative_training: str = "allowed"
    constraint_info: str = ""

    def __post_init__(self) -> None:
        for use in TDM_USES:
            if getattr(self, use) not in TDM_VALUES:
                raise UsageError(f"{use} must be one of {', '.join(TDM_VALUES)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "LicenceTerms":
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


@dataclass(frozen=True)
class Licence:
    """A licence: SPDX id (or ``LicenseRef-``), name, where to read it, its terms."""

    id: str
    name: str
    terms: LicenceTerms
    url: str = ""
    text: str = ""
    builtin: bool = False
    extra: dict = field(default_factory=dict)
    # The key whose signed claim defines this custom licence; "" for built-ins (they ship in the package) and
    # for a custom licence stored before claims existed, which is then only an unsigned label.
    signed_by: str = ""

    @property
    def unsigned(self) -> bool:
        """A custom licence that no claim signs (added by an older artforge)."""
        return not self.builtin and not self.signed_by

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "builtin": self.builtin,
            "signed_by": self.signed_by or None,
            "terms": self.terms.to_dict(),
            "has_text": bool(self.text),
        }


def _cc(spdx: str, name: str, slug: str, *, commercial: bool, derivatives: bool, share_alike: bool) -> Licence:
    # CC licences are silent on AI; we record the licence's own conditions as the constraint so that a
    # reader sees why the use is "constrained" rather than a blanket yes.
    conditions = ["attribution"]
    if not commercial:
        conditions.append("non-commercial use only")
    if share_alike:
        conditions.append("share-alike")
    if not derivatives:
        conditions.append("no adapted material may be shared")
    generative = "constrained"
    return Licence(
        id=spdx,
        name=name,
        url=f"https://creativecommons.org/licenses/{slug}/4.0/",
        builtin=True,
        terms=LicenceTerms(
            commercial=commercial,
            derivatives=derivatives,
            share_alike=share_alike,
            attribution=True,
            data_mining="constrained",
            ai_inference="constrained",
            ai_training="constrained",
            ai_generative_training=generative,
            constraint_info="; ".join(conditions),
        ),
    )




def _reserved(licence_id: str, name: str, constraint_info: str) -> Licence:
    """A built-in licence that allows nothing without the owner (attribution asked for, every AI use refused)."""
    refused = "notAllowed"
    return Licence(id=licence_id, name=name, builtin=True, terms=LicenceTerms(
        commercial=False, derivatives=False, share_alike=False, attribution=True, data_mining=refused,
        ai_inference=refused, ai_training=refused, ai_generative_training=refused, constraint_info=constraint_info))


# The placeholder licence a private work's record shows: the same string as records.PRIVATE_LICENCE_ID, spelled
# here too because `artforge --help` loads this module and records loads cryptography (a test ties the two).
PRIVATE_LICENCE_ID = "LicenseRef-Private"

BUILTIN_LICENCES: dict[str, Licence] = {
    lic.id: lic
    for lic in (
        Licence(
            id="CC0-1.0",
            name="Creative Commons Zero v1.0 Universal",
            url="https://creativecommons.org/publicdomain/zero/1.0/",
            builtin=True,
            terms=LicenceTerms(commercial=True, derivatives=True, share_alike=False, attribution=False),
        ),
        _cc("CC-BY-4.0", "Creative Commons Attribution 4.0 International", "by",
            commercial=True, derivatives=True, share_alike=False),
        _cc("CC-BY-SA-4.0", "Creative Commons Attribution Share Alike 4.0 International", "by-sa",
            commercial=True, derivatives=True, share_alike=True),
        _cc("CC-BY-NC-4.0", "Creative Commons Attribution Non Commercial 4.0 International", "by-nc",
            commercial=False, derivatives=True, share_alike=False),
        _cc("CC-BY-ND-4.0", "Creative Commons Attribution No Derivatives 4.0 International", "by-nd",
            commercial=True, derivatives=False, share_alike=False),
        _cc("CC-BY-NC-SA-4.0", "Creative Commons Attribution Non Commercial Share Alike 4.0 International",
            "by-nc-sa", commercial=False, derivatives=True, share_alike=True),
        _cc("CC-BY-NC-ND-4.0", "Creative Commons Attribution Non Commercial No Derivatives 4.0 International",
            "by-nc-nd", commercial=False, derivatives=False, share_alike=False),
        _reserved("LicenseRef-All-Rights-Reserved", "All rights reserved",
                  "no use without a written grant from the owner"),
        # What the public record of a private work says: its real licence is sealed (docs/private-works.md).
        _reserved(PRIVATE_LICENCE_ID, "Private work: its licence is sealed; ask the owner",
                  "a private work: no use without the owner's permission"),
    )
}


def check_custom_id(licence_id: str) -> str:
    """A custom licence id must be an SPDX ``LicenseRef-`` id and not shadow a built-in one."""
    if licence_id in BUILTIN_LICENCES:
        raise UsageError(f"{licence_id} is a built-in licence")
    if not CUSTOM_ID_PATTERN.fullmatch(licence_id):
        raise UsageError(
            f"invalid custom licence id {licence_id!r}: use 'LicenseRef-' followed by letters, digits, '.' or '-'"
        )
    return licence_id
