"""artforge: fingerprint, sign, license and verify images (and, soon, make them).

The library is usable without the CLI::

    from artforge import Home, register_images, verify_images
    home = Home()
    register_images(home, ["art.png"], licence_id="CC-BY-4.0")
"""

from importlib.metadata import PackageNotFoundError, version

from artforge.usecases.audit import audit_registry
from artforge.config import Settings
from artforge.errors import ArtforgeError, ExitCode
from artforge.provenance.fingerprints import Fingerprint, fingerprint_file
from artforge.usecases.home import Home, init_home
from artforge.provenance.records import ProvenanceRecord, SignedRecord, canonical_bytes, check_chain, check_signature
from artforge.usecases.register import register_images
from artforge.usecases.verify import DisputeReport, verify_images

try:
    __version__ = version("artforge")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "ArtforgeError", "DisputeReport", "ExitCode", "Fingerprint", "Home", "ProvenanceRecord", "Settings",
    "SignedRecord", "__version__", "audit_registry", "canonical_bytes", "check_chain", "check_signature",
    "fingerprint_file", "init_home", "register_images", "verify_images",
]
