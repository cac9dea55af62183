"""Who may call artforge serve: API tokens (only their hash stored), roles over HTTP, POST /register; a real
uvicorn process spoken to with httpx, on both registry backends."""

from __future__ import annotations

import stat

import httpx
import pytest
from cli_helpers import run, run_json
from service_helpers import GUARD
from service_helpers import jpeg_bytes as _jpeg

pytestmark = pytest.mark.slow
REGISTRY_BACKENDS = ("sqlite", "postgresql")  # every test with a home runs on both (conftest.py)


def _token(tmp_path, key: str, label: str = "") -> tuple[str, dict]:
    out = tmp_path / f"{key}.token"
    result = run("token", "create", "--out", out, "--key", key, "--label", label or key)
    assert result.exit_code == 0, result.stderr
    token = out.read_text().strip()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert token not in result.stdout + result.stderr  # written to the file, nowhere else
    return token, {"Authorization": f"Bearer {token}"}


def _register(server: str, image: bytes, headers: dict, licence: str = "CC-BY-4.0") -> httpx.Response:
    return httpx.post(server + "/register", content=image, timeout=GUARD,
                      headers={**headers, "X-License": licence, "X-Title": "Uploaded", "X-File-Name": "u.png"})


def test_without_roles_reading_is_open_and_registering_needs_a_token(home, art, server, tmp_path) -> None:
    image = art(1).read_bytes()
    refused = _register(server, image, {})
    assert refused.status_code == 401 and refused.json()["errors"][0]["message"] == \
        "register: no token (send Authorization: Bearer TOKEN)"
    assert _register(server, image, {"Authorization": "Bearer aft_not-a-token"}).status_code == 401
    token, auth = _token(tmp_path, "default")
    made = _register(server, image, auth)
    assert made.status_code == 200, made.text
    work = made.json()["data"][0]
    assert work["created"] and work["title"] == "Uploaded" and work["path"] == "u.png"
    found = httpx.post(server + "/verify", content=_jpeg(art(1), crop=6), timeout=GUARD).json()  # anonymous
    assert found["data"]["match"]["work_id"] == work["work_id"]
    code, shown = run_json("show", work["work_id"])
    assert code == 0 and shown["data"]["work"]["owner_key_id"] == work["owner_key_id"]  # signed by the token's key
    assert _register(server, art(2).read_bytes(), auth, licence="GPL-9").status_code == 404  # unknown licence
    code, listed = run_json("token", "list")
    assert [(t["key_id"], t["revoked"]) for t in listed["data"]] == [(work["owner_key_id"], False)]


def test_with_roles_every_route_needs_a_token_whose_role_allows_it(home, art, server, tmp_path) -> None:
    assert run("keys", "create", "alice", "--no-encrypt").exit_code == 0
    assert run("role", "set", "default", "admin").exit_code == 0
    assert run("role", "set", "alice", "verifier").exit_code == 0
    _, admin = _token(tmp_path, "default")
    _, alice = _token(tmp_path, "alice")
    upload = _jpeg(art(1), crop=6)

    assert httpx.post(server + "/verify", content=upload, timeout=GUARD).status_code == 401
    assert httpx.get(server + "/log/checkpoint", timeout=GUARD).status_code == 401
    assert httpx.get(server + "/health", timeout=GUARD).status_code == 200
    assert httpx.post(server + "/verify", content=upload, headers=alice, timeout=GUARD).status_code == 200
    denied = _register(server, art(1).read_bytes(), alice)
    assert denied.status_code == 403 and "has role verifier" in denied.json()["errors"][0]["message"]
    made = _register(server, art(1).read_bytes(), admin)
    assert made.status_code == 200
    shown = httpx.get(server + f"/works/{made.json()['data'][0]['work_id']}", headers=alice, timeout=GUARD)
    assert shown.status_code == 200 and shown.json()["data"]["status"] == "valid"

    alice_id = run_json("keys", "show", "alice")[1]["data"]["key_id"]
    code, listed = run_json("token", "list")
    alice_token = next(t["token_id"] for t in listed["data"] if t["key_id"] == alice_id)
    assert run("token", "revoke", alice_token, "--key", "alice").exit_code == 0
    assert httpx.post(server + "/verify", content=upload, headers=alice, timeout=GUARD).status_code == 401

    for _ in range(3):  # strangers again within the minute: refused, but no more rows (no writer lock each)
        assert httpx.post(server + "/verify", content=upload, timeout=GUARD).status_code == 401
    refused = run_json("role", "list")[1]["data"]["refused"]
    assert [(r["action"], r["key_id"][:6]) for r in refused] == [
        ("verify", "unknow"), ("register", alice_id[:6]), ("read", "anonym"), ("verify", "anonym")]


def test_a_token_for_a_key_the_service_does_not_hold_cannot_register(home, art, server, tmp_path) -> None:
    assert run("keys", "create", "carol", "--no-encrypt").exit_code == 0
    _, carol = _token(tmp_path, "carol")
    for suffix in (".key", ".json"):  # the service's home no longer holds carol's key
        (home.settings.keys_dir / f"carol{suffix}").unlink()
    refused = _register(server, art(4).read_bytes(), carol)
    assert refused.status_code == 403 and "not held by this service" in refused.json()["errors"][0]["message"]
