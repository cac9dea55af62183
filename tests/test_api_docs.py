"""docs/api.md runs: its examples, in order, on an encrypted home; and the API is what it says it is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import artforge
from artforge.generation.procedural import draw_art

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_the_api_docs_examples_run_on_an_encrypted_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    draw_art(5, (320, 240)).save("art.png")
    namespace: dict = {}
    examples = _examples()
    assert len(examples) >= 6
    for number, code in enumerate(examples, 1):
        exec(compile(code, f"docs/api.md example {number}", "exec"), namespace)  # noqa: S102 - our own docs
    home = namespace["home"]
    key = home.keystore.info("default")
    assert key.encrypted  # the examples ran against keys encrypted at rest
    assert (tmp_path / "studio" / "keys").stat().st_mode & 0o077 == 0


def test_every_public_name_resolves_and_is_documented() -> None:
    assert set(artforge.__all__) == set(artforge._EXPORTS) | {"__version__"}  # the literal list type checkers read
    for name in artforge.__all__:
        value = getattr(artforge, name)
        if name != "__version__":
            assert value.__doc__, f"artforge.{name} needs a docstring"
    documented = set(re.findall(r"`(\w+)\(", DOC.read_text()))
    functions = {name for name in artforge.__all__ if callable(getattr(artforge, name)) and name[0].islower()}
    assert functions - {"check_chain", "check_signature", "canonical_bytes"} <= documented


def test_the_package_is_typed_and_imports_without_its_heavy_dependencies() -> None:
    assert (Path(artforge.__file__).parent / "py.typed").exists()
    probe = ("import sys, artforge; heavy = {'torch', 'faiss', 'web3', 'cv2', 'sqlite_utils'}; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_a_signer_callback_with_the_wrong_key_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    one, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    public = one.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    with pytest.raises(artforge.ArtforgeError, match="does not verify") as caught:
        artforge.Signer.from_callback(public, other.sign)
    assert caught.value.exit_code == artforge.ExitCode.KEY_ERROR
    assert artforge.Signer.from_callback(public, one.sign).key_id
