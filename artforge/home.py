"""One artforge home: its settings, key store and registry, and ``artforge init``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .config import DEFAULT_KEY_NAME, Settings
from .errors import RegistryError
from .fsutil import ensure_private_dir
from .keys import KeyInfo, KeyStore, PassphraseProvider, Signer
from .registry import Registry


@dataclass
class Home:
    """Entry point of the library: everything a command needs, found from :class:`Settings`."""

    settings: Settings = field(default_factory=Settings.from_env)
    passphrase: PassphraseProvider | None = None  # asked only when an encrypted key is used
    _signers: dict[str, Signer] = field(default_factory=dict, repr=False)

    @property
    def keystore(self) -> KeyStore:
        return KeyStore(self.settings.keys_dir)

    def registry(self) -> Registry:
        """Open the registry (``with home.registry() as registry:``)."""
        return Registry.open(self.settings.registry_path)

    def signer(self, key_name: str | None = None) -> Signer:
        """The signer for a stored key (default: the home's default identity); loaded once per Home."""
        name = key_name or DEFAULT_KEY_NAME
        if name not in self._signers:
            self._signers[name] = self.keystore.signer(name, self.passphrase)
        return self._signers[name]


@dataclass(frozen=True)
class InitResult:
    """What ``artforge init`` created or found."""

    home: str
    registry: str
    schema_version: int
    key: KeyInfo
    created_key: bool

    def to_dict(self) -> dict:
        return {**self.__dict__, "key": self.key.to_dict()}


@dataclass(frozen=True)
class HomeInfo:
    """Where things live (``artforge home``)."""

    home: str
    registry: str
    keys: str
    initialised: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def init_home(home: Home, key_name: str = DEFAULT_KEY_NAME, passphrase: Callable[[], bytes | None] | None = None) -> InitResult:
    """Create the home (0700), the registry and a default signing identity; safe to run again."""
    settings = home.settings
    try:
        ensure_private_dir(settings.home)
        ensure_private_dir(settings.keys_dir)
    except OSError as exc:
        raise RegistryError(f"cannot create home {settings.home} ({exc.strerror})") from None
    with Registry.open(settings.registry_path, create=True) as registry:
        version = registry.schema_version()
    store = home.keystore
    created = not store.exists(key_name)
    info = store.create(key_name, passphrase() if passphrase else None) if created else store.info(key_name)
    return InitResult(
        home=str(settings.home),
        registry=str(settings.registry_path),
        schema_version=version,
        key=info,
        created_key=created,
    )


def describe_home(home: Home) -> HomeInfo:
    """Paths of the home, whether or not it exists yet."""
    settings = home.settings
    return HomeInfo(
        home=str(settings.home),
        registry=str(settings.registry_path),
        keys=str(settings.keys_dir),
        initialised=settings.registry_path.exists(),
    )
