"""Content Credentials (C2PA): written by export/register/generate, read back with c2pa-python, and by verify."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import c2pa
import numpy as np
import pytest
from cli_helpers import run, run_json
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from PIL import Image

from artforge.config import Settings
from artforge.errors import ExitCode
from artforge.usecases.home import Home, init_home
from artforge.usecases.register import register_images
from artforge.usecases.verify import verify_images
from artforge.verify_record import check_record

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def _reader(path: Path, trust: Path | None) -> c2pa.Reader:
    settings: dict = {}
    if trust is not None:
        settings = {"trust": {"trust_anchors": trust.read_text()}, "verify": {"verify_trust": True}}
    mime = {".png": "image/png", ".jpg": "image/jpeg"}[path.suffix]
    return c2pa.Reader(mime, io.BytesIO(path.read_bytes()), context=c2pa.Context.from_dict(settings))


def _assertions(reader: c2pa.Reader) -> dict:
    return {a["label"]: a["data"] for a in reader.get_active_manifest()["assertions"]}


def test_export_writes_credentials_c2pa_reads_as_trusted_by_the_home_ca(home: Home, art, tmp_path: Path) -> None:
    source = art(1)
    (work,) = register_images(home, [source], licence_id="CC-BY-NC-4.0")
    out = tmp_path / "with-credentials.png"
    code, envelope = run_json("export", work.work_id[:10], "--c2pa", out, "--image", source)
    assert code == 0, envelope
    assert envelope["data"]["state"] == "trusted" and envelope["data"]["work_id"] == work.work_id
    ca = Path(envelope["data"]["ca_certificate"])

    # Read back with the library itself: trusted against the home's CA, only valid without it.
    assert _reader(out, ca).get_validation_state() == "Trusted"
    assert _reader(out, None).get_validation_state() == "Valid"
    assertions = _assertions(_reader(out, ca))
    (created,) = assertions["c2pa.actions.v2"]["actions"]
    assert created["action"] == "c2pa.created" and created["digitalSourceType"] == IPTC + "digitalCreation"
    entries = assertions["cawg.training-mining"]["entries"]
    terms = json.loads(run("license", "show", "CC-BY-NC-4.0", "--json").stdout)["data"]["terms"]
    assert entries["cawg.ai_training"]["use"] == terms["ai_training"]
    assert entries["cawg.data_mining"]["use"] == terms["data_mining"]
    provenance = assertions["org.artforge.provenance"]
    assert provenance["record_id"] == work.work_id and check_record(0, provenance["record"]).problems == []
    assert assertions["c2pa.soft-binding"]["alg"] == "org.artforge.pdq"
    assert assertions["stds.schema-org.CreativeWork"]["author"][0]["name"] == "default"

    # The pixels are the registered work's: the file changed, the picture did not.
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), np.asarray(Image.open(source).convert("RGB")))
    (report,) = verify_images(home, [out], workers=1)
    assert report.verdict == "exact-copy" and report.match.method == "pixel-sha256"
    finding = report.credentials
    assert finding.state == "trusted" and finding.agrees and finding.record_valid and finding.signer == "default"


def test_the_chain_is_the_identity_key_under_the_home_ca(home: Home, art, tmp_path: Path) -> None:
    source = art(2)
    (work,) = register_images(home, [source], licence_id="CC0-1.0")
    assert run("export", work.work_id, "--c2pa", tmp_path / "a.png", "--image", source).exit_code == 0
    folder = home.settings.credentials_dir
    (ca,) = x509.load_pem_x509_certificates((folder / "ca.pem").read_bytes())
    identity = home.signer()
    (certificate,) = x509.load_pem_x509_certificates((folder / "certs" / f"{identity.key_id}.pem").read_bytes())
    certificate.verify_directly_issued_by(ca)
    raw = certificate.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw == identity.public_key  # the same key that signs the records
    assert stat.S_IMODE(os.stat(folder / "ca-key" / "ca.key").st_mode) == 0o600
    # A second export reuses the CA and the certificate.
    before = (folder / "ca.pem").read_bytes()
    assert run("export", work.work_id, "--c2pa", tmp_path / "b.png", "--image", source).exit_code == 0
    assert (folder / "ca.pem").read_bytes() == before


def test_an_encrypted_home_keeps_its_ca_key_encrypted(tmp_path: Path, art, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASS", "correct horse")
    settings = Settings(home=tmp_path / "locked")
    monkeypatch.setenv("ARTFORGE_HOME", str(settings.home))
    init_home(Home(settings=settings), passphrase=lambda: b"correct horse")
    source = art(3)
    assert run("register", source, "-l", "CC0-1.0", "--passphrase-env", "PASS").exit_code == 0
    result = run("export", "-", "--c2pa", tmp_path / "x.png", "--image", source, "--passphrase-env", "PASS")
    assert result.exit_code != 0  # "-" is no work id
    work_id = json.loads(run("list", "--json").stdout)["data"][0]["id"]
    result = run("export", work_id, "--c2pa", tmp_path / "x.png", "--image", source, "--passphrase-env", "PASS")
    assert result.exit_code == 0, result.stderr
    key_text = (settings.credentials_dir / "ca-key" / "ca.key").read_text()
    assert "ENCRYPTED" in key_text and "correct horse" not in result.stdout + result.stderr


def test_verify_reports_credentials_that_fail_and_ignores_files_without(home: Home, art, tmp_path: Path) -> None:
    jpeg = tmp_path / "work.jpg"
    Image.open(art(4)).save(jpeg, quality=92)
    (work,) = register_images(home, [jpeg], licence_id="CC-BY-4.0")
    signed = tmp_path / "signed.jpg"
    assert run("export", work.work_id, "--c2pa", signed, "--image", jpeg).exit_code == 0
    data = bytearray(signed.read_bytes())
    data[-40] ^= 0x5A  # in the entropy-coded pixels, after the manifest's APP11 segments
    tampered = tmp_path / "tampered.jpg"
    tampered.write_bytes(bytes(data))
    assert _reader(tampered, None).get_validation_state() == "Invalid"
    stripped = tmp_path / "stripped.png"
    Image.open(signed).save(stripped)  # a re-encode drops the manifest
    tampered_report, stripped_report = verify_images(home, [tampered, stripped], workers=1)
    assert tampered_report.credentials.state == "invalid" and tampered_report.credentials.failures
    assert any("Content Credentials do not verify" in note for note in tampered_report.notes)
    assert stripped_report.credentials is None and "content_credentials" not in stripped_report.to_dict()


def test_register_and_generate_write_credentials(home: Home, art, tmp_path: Path) -> None:
    sources = [art(5), art(6)]
    code, envelope = run_json("register", *sources, "-l", "CC-BY-4.0", "--c2pa-out", tmp_path / "cred")
    assert code == 0, envelope
    for item in envelope["data"]:
        copy = tmp_path / "cred" / Path(item["path"]).name
        assert _reader(copy, home.settings.credentials_dir / "ca.pem").get_validation_state() == "Trusted"
        assert _assertions(_reader(copy, None))["org.artforge.provenance"]["record_id"] == item["work_id"]
    trained = run("train", "--steps", "1", "--size", "16", "--width", "8", "--batch-size", "16", "--data-limit", "64",
                  "--out", tmp_path / "run")
    code, generated = run_json("generate", trained.stdout.strip(), "-n", "1", "--out", tmp_path / "gen", "--register",
                               "-l", "CC0-1.0", "--c2pa")
    assert code == 0, generated
    (image,) = generated["data"]["images"]
    reader = _reader(Path(image["c2pa_path"]), home.settings.credentials_dir / "ca.pem")
    assert reader.get_validation_state() == "Trusted"
    (created,) = _assertions(reader)["c2pa.actions.v2"]["actions"]
    assert created["digitalSourceType"] == IPTC + "trainedAlgorithmicMedia"
    assert created["parameters"]["seed"] == image["seed"] and len(created["parameters"]["checkpoint_sha256"]) == 64


def test_bad_credential_requests_change_nothing(home: Home, art, tmp_path: Path) -> None:
    source = art(7)
    (work,) = register_images(home, [source], licence_id="CC0-1.0")
    gif = tmp_path / "art.gif"
    Image.open(art(8)).save(gif)
    out = tmp_path / "out.png"
    cases = [
        (["export", work.work_id, "--c2pa", out], "--image"),
        (["export", work.work_id, "--c2pa", out, "--bundle", tmp_path / "b.json", "--image", source], "one of"),
        (["export", work.work_id, "--c2pa", out, "--image", art(9)], "not the pixels"),
        (["register", gif, "-l", "CC0-1.0", "--c2pa-out", tmp_path / "c"], "cannot be embedded"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code in (ExitCode.USAGE, ExitCode.BAD_INPUT) and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and not (tmp_path / "c").exists()
    with home.registry() as registry:
        assert registry.db["works"].count == 1


def test_ingredients_name_parent_works_and_a_fine_tuned_base(home: Home, art, tmp_path: Path) -> None:
    from artforge.provenance import c2pa_manifest

    base, child = art(20), art(21)
    (parent,) = register_images(home, [base], licence_id="CC0-1.0")
    (work,) = register_images(home, [child], licence_id="CC0-1.0", parents=[parent.work_id])
    out = tmp_path / "child.png"
    assert run("export", work.work_id, "--c2pa", out, "--image", child).exit_code == 0
    ingredients = _reader(out, None).get_active_manifest()["ingredients"]
    assert [(i["title"], i["relationship"], i["instance_id"]) for i in ingredients] == [
        ("art-20", "parentOf", f"artforge:record:{parent.work_id}")]
    # An image from a fine-tuned model names the base checkpoint the model started from.
    record = {"record_id": "ab" * 32, "signature": "00" * 64, "payload": {
        "signer": {"key_id": "0" * 32}, "work": {"title": "t", "fingerprints": {"pdq": "11" * 32}},
        "licence": {"id": "CC0-1.0", "terms": {}},
        "origin": {"type": "generated", "generator": {"seed": 1, "checkpoint_sha256": "cc" * 32,
                                                      "parent": {"checkpoint_sha256": "dd" * 32, "family": "dcgan"}}}}}
    (base_model,) = c2pa_manifest.manifest_for(record, "someone", [])["ingredients"]
    assert base_model["relationship"] == "inputTo" and base_model["instance_id"] == "artforge:checkpoint:" + "dd" * 32
