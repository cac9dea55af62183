"""Audit: a clean registry passes; each kind of tampering is named."""

from __future__ import annotations

import sqlite3

from artforge.usecases.audit import audit_registry
from artforge.usecases.home import Home
from artforge.usecases.licensing import grant_licence, transfer_work
from artforge.usecases.register import register_images


def _setup(home: Home, art) -> str:
    home.keystore.create("bob")
    [work] = register_images(home, [art(1)], licence_id="CC-BY-4.0")
    register_images(home, [art(2)], licence_id="CC0-1.0")
    grant_licence(home, work.work_id, "Acme", "posters", "2999-01-01")
    transfer_work(home, work.work_id, "bob")
    return work.work_id


def _messages(home: Home) -> list[str]:
    return [p.message for p in audit_registry(home).problems]


def test_clean_registry_passes(home: Home, art) -> None:
    _setup(home, art)
    report = audit_registry(home)
    assert report.ok and report.works_checked == 2 and report.records_checked == 4


def test_edited_payload_is_named(home: Home, art) -> None:
    work_id = _setup(home, art)
    with home.registry() as registry, registry.transaction():
        row = registry.db.execute("SELECT id, payload FROM records WHERE work_id = ? AND seq = 1", [work_id]).fetchone()
        registry.db.execute("UPDATE records SET payload = ? WHERE id = ?", [row[1].replace("posters", "anything"), row[0]])
    assert any("do not hash to its id" in m for m in _messages(home))


def test_deleted_record_breaks_the_chain(home: Home, art) -> None:
    work_id = _setup(home, art)
    with home.registry() as registry, registry.transaction():
        registry.db.execute("PRAGMA foreign_keys = OFF")
        registry.db.execute("DELETE FROM grants WHERE work_id = ?", [work_id])
        registry.db.execute("DELETE FROM records WHERE work_id = ? AND seq = 1", [work_id])
    messages = _messages(home)
    assert any("sequence number" in m for m in messages)
    assert any("prev does not point" in m for m in messages)


def test_owner_column_edit_is_named(home: Home, art) -> None:
    work_id = _setup(home, art)
    with home.registry() as registry, registry.transaction():
        registry.db.execute("UPDATE works SET owner_key_id = creator_key_id WHERE id = ?", [work_id])
    assert any("works row disagrees" in m and "owner_key_id" in m for m in _messages(home))


def test_swapped_signature_is_named(home: Home, art) -> None:
    _setup(home, art)
    with home.registry() as registry, registry.transaction():
        rows = registry.db.execute("SELECT id, signature FROM records ORDER BY id").fetchall()
        registry.db.execute("UPDATE records SET signature = ? WHERE id = ?", [rows[1][1], rows[0][0]])
    assert any("signature does not verify" in m for m in _messages(home))


def test_fingerprint_row_edit_is_named(home: Home, art) -> None:
    work_id = _setup(home, art)
    with home.registry() as registry, registry.transaction():
        registry.db.execute("UPDATE fingerprints SET phash64 = '0000000000000000' WHERE work_id = ?", [work_id])
    assert any("fingerprints row" in m for m in _messages(home))


def test_a_signed_licence_without_its_row_is_named(home: Home, art, tmp_path) -> None:
    # Found by benchmarks/tamper.py (2026-12-07): blanking a custom licence's id hid its text from 'show'.
    from cli_helpers import run

    (tmp_path / "terms.txt").write_text("Prints only.")
    assert run("license", "add", "LicenseRef-Print", "--name", "Print", "--commercial", "--text",
               tmp_path / "terms.txt").exit_code == 0
    register_images(home, [art(1)], licence_id="LicenseRef-Print")
    assert audit_registry(home).ok
    with sqlite3.connect(home.settings.registry_path) as db:  # as an attacker would: foreign keys off
        db.execute("UPDATE licences SET id = '' WHERE id = 'LicenseRef-Print'")
    report = audit_registry(home)
    assert not report.ok and any("the licences table has no row of it" in p.message for p in report.problems)


def test_an_erased_licence_text_is_named(home: Home, art, tmp_path) -> None:
    # Found by benchmarks/tamper.py (2026-12-07): a custom licence's text set to NULL read as "no text" and passed.
    from cli_helpers import run

    (tmp_path / "terms.txt").write_text("Prints only.")
    assert run("license", "add", "LicenseRef-Print", "--name", "Print", "--commercial", "--text",
               tmp_path / "terms.txt").exit_code == 0
    assert audit_registry(home).ok
    with sqlite3.connect(home.settings.registry_path) as db:
        db.execute("UPDATE licences SET text = NULL WHERE id = 'LicenseRef-Print'")
    report = audit_registry(home)
    assert not report.ok and any("its text is not the one its claim signs" in p.message for p in report.problems)
