"""One artforge home: its settings, key store and registry, and ``artforge init``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from artforge.config import DEFAULT_KEY_NAME, LOG_KEY_NAME, Settings
from artforge.errors import Conflict, RegistryError, SigningKeyError, UsageError
from artforge.fsutil import atomic_write, ensure_private_dir
from artforge.provenance.keys import KeyInfo, KeyStore, PassphraseProvider, Signer
from artforge.provenance.records import utc_now
from artforge.registry import transparency_log as translog
from artforge.registry.database import Registry, describe_location
from artforge.registry.postgres_backend import carries_password, is_database_url

# In a home that joined a shared registry whose log another home signs: that key's public half, as seen at
# 'init --database' (audit then expects every checkpoint to be signed by it).
PINNED_LOG_KEY_FILE = "registry-log.pub"


@dataclass
class Home:
    """Entry point of the library: everything a command needs, found from :class:`Settings`."""

    settings: Settings = field(default_factory=Settings.from_env)
    passphrase: PassphraseProvider | None = None  # asked only when an encrypted key is used
    identity: Signer | None = None  # signs instead of the default key file (e.g. Signer.from_callback)
    _signers: dict[str, Signer] = field(default_factory=dict, repr=False)
    _log_signer: Signer | None = field(default=None, repr=False)
    _log_kept_by: str | None = field(default=None, repr=False)  # a shared log's key, when this home lacks it
    _log_keeper_known: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        # One command asks for the passphrase once, though it may unlock two keys (identity and log key).
        if self.passphrase is not None:
            self.passphrase = _asked_once(self.passphrase)

    @property
    def keystore(self) -> KeyStore:
        return KeyStore(self.settings.keys_dir)

    @property
    def log_keystore(self) -> KeyStore:
        return KeyStore(self.settings.log_key_dir)

    def registry(self) -> Registry:
        """Open the registry (``with home.registry() as registry:``); its writes are checkpointed with the
        home's log key when this home holds the key that signs the registry's log (asked only when a write
        is about to be checkpointed: readers pay nothing for it; see log_signer)."""
        registry = Registry.open(self.settings.registry_location, local_dir=self.settings.home)
        registry.log_signer = lambda: self.log_signer() if self.keeps_log(registry) else None
        return registry

    def keeps_log(self, registry: Registry) -> bool:
        """Whether this home signs ``registry``'s checkpoints: it holds the log's key, or the log has none yet
        (the first home to write creates it)."""
        keeper = translog.log_keeper(registry.db)
        self._log_kept_by = keeper if keeper is not None and not self._holds_log_key(keeper) else None
        self._log_keeper_known = True
        return self._log_kept_by is None

    def _holds_log_key(self, key_id: str) -> bool:
        store = self.log_keystore
        return store.exists(LOG_KEY_NAME) and store.info(LOG_KEY_NAME).key_id == key_id

    def log_signer(self) -> Signer:
        """The key that signs the transparency log's checkpoints, created on first use (see service_signer).

        A log has one such key: the first home to write to a registry creates it.  Another home writing to
        a shared registry logs its records without signing checkpoints (the key's holder signs the next one,
        which covers them); asked for the key, it gets :class:`SigningKeyError` saying who holds it.
        """
        if not self._log_keeper_known:
            with Registry.open(self.settings.registry_location, local_dir=self.settings.home) as registry:
                self.keeps_log(registry)
        if self._log_kept_by is not None:
            raise SigningKeyError(f"this registry's log is signed by key {self._log_kept_by}, which this home "
                                  "does not hold: run this on the home that does (it signs the next checkpoint)")
        if self._log_signer is None:
            self._log_signer = self.service_signer(self.log_keystore, LOG_KEY_NAME)
        return self._log_signer

    def expected_log_key(self) -> bytes | None:
        """The public key this home expects the registry's checkpoints to be signed by: its own log key, or
        for a shared registry the key it was shown when it joined (``log/registry-log.pub``); None if neither."""
        pinned = self.settings.log_key_dir / PINNED_LOG_KEY_FILE
        if pinned.exists():
            return bytes.fromhex(pinned.read_text(encoding="ascii").strip())
        store = self.log_keystore
        return bytes.fromhex(store.info(LOG_KEY_NAME).public_key) if store.exists(LOG_KEY_NAME) else None

    def service_signer(self, store: KeyStore, name: str) -> Signer:
        """A key of the home's own (the log key, the Content Credentials CA), created on first use.

        It is encrypted when the default identity is (with the same passphrase), so a home that chose
        encryption never holds a plain private key.
        """
        identities = self.keystore
        if not store.exists(name):
            encrypted = identities.exists(DEFAULT_KEY_NAME) and identities.info(DEFAULT_KEY_NAME).encrypted
            secret = self.passphrase() if encrypted and self.passphrase else None
            if encrypted and not secret:
                raise SigningKeyError(f"the {name} key must be created encrypted: give the passphrase")
            try:
                store.create(name, secret)
            except Conflict:  # another process created it first
                pass
        return store.signer(name, self.passphrase)

    def signer(self, key_name: str | None = None) -> Signer:
        """The signer for a stored key (default: the injected ``identity``, else the home's default key);
        loaded once per Home."""
        if key_name is None and self.identity is not None:
            return self.identity
        name = key_name or DEFAULT_KEY_NAME
        if name not in self._signers:
            self._signers[name] = self.keystore.signer(name, self.passphrase)
        return self._signers[name]


def _asked_once(provider: PassphraseProvider) -> PassphraseProvider:
    answer: list[bytes | None] = []

    def provide() -> bytes | None:
        if not answer:
            answer.append(provider())
        return answer[0]

    return provide


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


def init_home(home: Home, key_name: str = DEFAULT_KEY_NAME, passphrase: Callable[[], bytes | None] | None = None,
              database_url: str | None = None) -> InitResult:
    """Create the home (0700), the registry and a default signing identity; safe to run again.

    With ``database_url`` the registry is that PostgreSQL database (given the schema when empty; shared with
    other homes), and the home remembers the URL.  The URL must not hold a password: libpq reads it from
    ``~/.pgpass`` or ``PGPASSWORD``, so no home file ever holds it.
    """
    settings = home.settings
    location = settings.registry_location
    if database_url is not None:
        if not is_database_url(database_url):
            raise UsageError("the database must be a postgresql:// URL")
        if carries_password(database_url):
            raise UsageError("the database URL holds a password: put it in ~/.pgpass or PGPASSWORD instead "
                             "(the URL is not shown, as it holds a secret)")
        location = database_url
    store = home.keystore
    created = not store.exists(key_name)
    secret = passphrase() if passphrase and created else None  # asked first: a refusal leaves nothing behind
    try:
        ensure_private_dir(settings.home)
        ensure_private_dir(settings.keys_dir)
        ensure_private_dir(settings.log_key_dir)
    except OSError as exc:
        raise RegistryError(f"cannot create home {settings.home} ({exc.strerror})") from None
    with Registry.open(location, create=True, local_dir=settings.home) as registry:
        version = registry.schema_version()
        where = registry.where
        keeper = translog.log_keeper(registry.db)
        kept_elsewhere = keeper is not None and not home._holds_log_key(keeper)
        keeper_public = translog.log_key(registry.db, keeper)[1] if kept_elsewhere else None
    if database_url is not None:
        atomic_write(settings.database_url_file, (database_url + "\n").encode(), mode=0o600)
    if keeper_public is not None:  # joining a shared registry whose log another home signs: remember its key
        atomic_write(settings.log_key_dir / PINNED_LOG_KEY_FILE, keeper_public.hex().encode() + b"\n")
    info = store.create(key_name, secret) if created else store.info(key_name)
    if created and not kept_elsewhere and not home.log_keystore.exists(LOG_KEY_NAME):
        home.log_keystore.create(LOG_KEY_NAME, secret)  # the log key is protected as the identity is
    if created:
        _sign_name(home, key_name, lambda: secret, log_passphrase=lambda: secret)
    return InitResult(
        home=str(settings.home),
        registry=where,
        schema_version=version,
        key=info,
        created_key=created,
    )


def create_key(home: Home, name: str, passphrase: PassphraseProvider | None = None) -> KeyInfo:
    """Create a signing key (encrypted when ``passphrase`` gives one) and, in an initialised home, have it sign
    its name into the registry: the name ``show`` and ``verify`` then give the key."""
    once = _asked_once(passphrase) if passphrase is not None else None
    info = home.keystore.create(name, once)
    if _registry_exists(home.settings):
        _sign_name(home, name, once)
    return info


def _sign_name(home: Home, name: str, passphrase: PassphraseProvider | None,
               log_passphrase: PassphraseProvider | None = None) -> None:
    # A new key may have another passphrase than the log key: then the claim is logged now and the next
    # command that writes signs the checkpoint that covers it.
    signer = home.keystore.signer(name, passphrase)
    with home.registry() as registry:
        # Signed now only with the log key's passphrase in hand (init), and only where this home keeps the log.
        registry.log_signer = None
        if log_passphrase is not None:
            registry.log_signer = lambda: (home.log_keystore.signer(LOG_KEY_NAME, log_passphrase)
                                           if home.keeps_log(registry) else None)
        with registry.transaction():
            registry.remember_identity(signer.key_id, signer.public_key.hex(), utc_now())
            registry.name_identity(signer, name)


def describe_home(home: Home) -> HomeInfo:
    """Paths of the home, whether or not it exists yet."""
    settings = home.settings
    return HomeInfo(
        home=str(settings.home),
        registry=describe_location(settings.registry_location),
        keys=str(settings.keys_dir),
        initialised=_registry_exists(settings),
    )


def _registry_exists(settings: Settings) -> bool:
    # A PostgreSQL registry is not asked (no connection for 'home'): this home joined it when it has a key.
    location = settings.registry_location
    if is_database_url(location):
        return KeyStore(settings.keys_dir).exists(DEFAULT_KEY_NAME)
    return Path(location).exists()
