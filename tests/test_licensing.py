"""Licences, grants and transfers: who may sign what, and what is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from artforge.errors import Conflict, NotOwner, UsageError
from artforge.registry.licence_catalogue import BUILTIN_LICENCES, LicenceTerms
from artforge.usecases.home import Home
from artforge.usecases.licensing import add_custom_licence, grant_licence, transfer_work
from artforge.usecases.register import register_images
from artforge.usecases.show import show_work


def test_builtin_catalogue_terms() -> None:
    assert BUILTIN_LICENCES["CC-BY-NC-4.0"].terms.commercial is False
    assert BUILTIN_LICENCES["CC-BY-ND-4.0"].terms.derivatives is False
    assert BUILTIN_LICENCES["CC-BY-SA-4.0"].terms.share_alike is True
    assert BUILTIN_LICENCES["CC0-1.0"].terms.attribution is False
    assert BUILTIN_LICENCES["LicenseRef-All-Rights-Reserved"].terms.ai_training == "notAllowed"


def test_custom_licence(home: Home, tmp_path: Path, art) -> None:
    text = tmp_path / "terms.txt"
    text.write_text("You may print it. Ünïcode is fine.")
    terms = LicenceTerms(commercial=True, derivatives=False, share_alike=False, attribution=True,
                         ai_training="notAllowed")
    add_custom_licence(home, "LicenseRef-Studio-Print", "Studio print", terms, text_file=text)
    with pytest.raises(Conflict):
        add_custom_licence(home, "LicenseRef-Studio-Print", "again", terms)
    with pytest.raises(UsageError):
        add_custom_licence(home, "MIT", "not custom", terms)
    with pytest.raises(UsageError):
        add_custom_licence(home, "CC0-1.0", "builtin", terms)
    with pytest.raises(UsageError):
        LicenceTerms(commercial=True, derivatives=True, share_alike=False, attribution=True, ai_training="maybe")
    [work] = register_images(home, [art(1)], licence_id="LicenseRef-Studio-Print")
    details = show_work(home, work.work_id)
    assert details.licence.terms.ai_training == "notAllowed" and details.licence.text.startswith("You may")


def test_grant_is_signed_and_active_until_its_date(home: Home, art) -> None:
    [work] = register_images(home, [art(2)], licence_id="LicenseRef-All-Rights-Reserved")
    grant_licence(home, work.work_id, "Acme", "posters", "2999-12-31")
    grant_licence(home, work.work_id, "Old Co", "web", "2001-01-01")
    details = show_work(home, work.work_id)
    assert [g.grantee for g in details.active_grants] == ["Acme"]
    assert details.chain_valid and [h.type for h in details.history] == ["registration", "grant", "grant"]
    with pytest.raises(UsageError):
        grant_licence(home, work.work_id, "Acme", "posters", "next tuesday")


def test_transfer_moves_ownership_and_signing_rights(home: Home, art) -> None:
    bob = home.keystore.create("bob")
    [work] = register_images(home, [art(3)], licence_id="CC-BY-4.0")
    transfer_work(home, work.work_id, "bob")
    details = show_work(home, work.work_id)
    assert details.owner.key_id == bob.key_id and details.owner.name == "bob"
    assert details.chain_valid
    with pytest.raises(NotOwner):
        grant_licence(home, work.work_id, "Acme", "posters", key_name="default")
    grant_licence(home, work.work_id, "Acme", "posters")  # defaults to the local owner key, bob
    with pytest.raises(NotOwner):
        transfer_work(home, work.work_id, "default", key_name="default")


def test_transfer_to_a_raw_public_key(home: Home, art) -> None:
    [work] = register_images(home, [art(4)], licence_id="CC-BY-4.0")
    outsider = "ab" * 32
    result = transfer_work(home, work.work_id, outsider)
    assert result.detail["to"] != home.signer().key_id
    with pytest.raises(NotOwner, match="not in this home"):
        grant_licence(home, work.work_id, "Acme", "posters")
    with pytest.raises(UsageError):
        transfer_work(home, work.work_id, "not-a-key-or-hex")
