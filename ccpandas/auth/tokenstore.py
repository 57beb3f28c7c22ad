"""Saved credentials: one file per OAuth2 client id, private, written atomically under a lock.

Where: ``<user config dir>/tokens/<client id>.json``, the user config dir being
platformdirs' (``~/.config/ccpandas`` on Linux, ``~/Library/Application Support/ccpandas``
on macOS, ``%LOCALAPPDATA%\\ccpandas`` on Windows), or ``$CCPANDAS_CONFIG_DIR`` when set
(tests set it). The folder is mode 0700 and each file 0600: readable by you only.

How: every change is a new file written beside the old one and renamed over it
(``os.replace``), so a reader sees the old credentials or the new ones, never half a
file. Readers and writers of one client id take a file lock (``<client id>.json.lock``)
so two kernels refreshing at the same moment take turns: the second one sees the first
one's rotated refresh token instead of sending the old one (which the server would refuse).

Optionally the secrets go to the system keyring instead of the file (``keyring=True``,
or ``CCPANDAS_KEYRING=1`` with the ``keyring`` package installed); the file then keeps
only what is not secret. The pair of tokens is longer than Windows' Credential Manager
takes in one entry, so it is split over several (:mod:`ccpandas.auth.keyring_chunks`).

Example:
    >>> import tempfile
    >>> from ccpandas._secret import Secret
    >>> store = TokenStore(tempfile.mkdtemp())
    >>> store.save(Credentials("my-app", Secret("at-123"), Secret("rt-456"), expires_at=2e9))
    >>> store.load("my-app")
    Credentials(client_id='my-app', scopes=(), expires_at=2000000000, refresh_token=yes)
    >>> oct(store.path("my-app").stat().st_mode & 0o777)
    '0o600'
    >>> store.delete("my-app"), store.load("my-app")
    (True, None)
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ccpandas._config import CONFIG_DIR_ENV, KEYRING_ENV, config_dir, env, env_flag
from ccpandas._secret import Secret
from ccpandas.auth import keyring_chunks
from ccpandas.errors import AuthError, TokenStoreError

__all__ = [
    "CONFIG_DIR_ENV",
    "KEYRING_ENV",
    "CredentialStore",
    "Credentials",
    "MemoryTokenStore",
    "TokenStore",
    "config_dir",
]

#: Overrides the config directory (the token store lives in its ``tokens`` folder).
#: ``1`` keeps the secrets in the system keyring (needs the ``keyring`` package).
_KEYRING_SERVICE = "ccpandas"
_FORMAT = 1
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

_log = logging.getLogger("ccpandas.auth.connect")


@dataclasses.dataclass(frozen=True, repr=False)
class Credentials:
    """What a login leaves behind: the tokens (as :class:`~ccpandas._secret.Secret`), when
    the access token expires (seconds since the epoch, None if unknown), the granted scopes,
    and the servers they belong to.

    ``origin`` names the token chain the credentials belong to, and every refresh carries
    it on: for a chain started from ``CC_REFRESH_TOKEN``, a fingerprint of that token (not
    the token), so a later session knows the saved, rotated tokens continue it; for a
    login, a random id of that login. A session only takes over saved credentials of its
    own chain, never another login's (None: saved before chains were named).

    Args:
        client_id: The application's client id (its API key), e.g. ``"my-app"``.
        access_token: The access token, as a :class:`~ccpandas._secret.Secret` (it
            never shows in a repr).
        refresh_token: The refresh token, as a ``Secret``. None (the default) when the
            login has none (no ``offline_access`` scope).
        expires_at: When the access token expires, in seconds since the epoch, e.g.
            ``time.time() + 86400``. None (the default) when unknown.
        scopes: The scopes the server granted, e.g.
            ``("contact_data", "offline_access")``. Default none.
        obtained_at: When the tokens were issued, in seconds since the epoch. Default 0
            (unknown).
        auth_url: The authorization server that issued them. None (the default) when
            not recorded.
        base_url: The API they were made for, e.g. ``"https://api.cc.email/v3"``. None
            (the default) when not recorded: a saved login then counts as the real
            API's.
        origin: The token chain they belong to (see above). None (the default) for
            credentials saved before chains were named.
    """

    client_id: str
    access_token: Secret
    refresh_token: Secret | None = None
    expires_at: float | None = None
    scopes: tuple[str, ...] = ()
    obtained_at: float = 0.0
    auth_url: str | None = None
    base_url: str | None = None
    origin: str | None = None

    def __post_init__(self) -> None:
        # A token saved or pasted with a trailing line break still works: the client
        # strips the access token it sends; the refresh token goes into a form body.
        for name in ("access_token", "refresh_token"):
            value = getattr(self, name)
            if isinstance(value, Secret) and value.reveal() != value.reveal().strip():
                object.__setattr__(self, name, Secret(value.reveal().strip()))

    def __repr__(self) -> str:
        expires = "None" if self.expires_at is None else f"{self.expires_at:.0f}"
        refresh = "yes" if self.refresh_token else "no"
        return (
            f"Credentials(client_id={self.client_id!r}, scopes={self.scopes!r}, "
            f"expires_at={expires}, refresh_token={refresh})"
        )

    def public_dict(self) -> dict[str, Any]:
        """Everything but the two tokens (what the file keeps when a keyring holds them)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del data["access_token"], data["refresh_token"]
        return {**data, "scopes": list(self.scopes)}

    def secret_dict(self) -> dict[str, str | None]:
        """The two tokens, revealed: only the store calls this, to write them."""
        return {
            "access_token": self.access_token.reveal(),
            "refresh_token": self.refresh_token.reveal() if self.refresh_token else None,
        }

    @classmethod
    def from_dicts(cls, public: dict[str, Any], secret: dict[str, Any]) -> Credentials:
        """The inverse of :meth:`public_dict` + :meth:`secret_dict` (``ValueError`` if bad)."""
        access = secret.get("access_token")
        refresh = secret.get("refresh_token")
        if not isinstance(access, str) or not access:
            raise ValueError("no access token")
        if refresh is not None and not isinstance(refresh, str):
            raise ValueError("bad refresh token")
        expires = public.get("expires_at")
        return cls(
            client_id=str(public["client_id"]),
            access_token=Secret(access),
            refresh_token=Secret(refresh) if refresh else None,
            expires_at=float(expires) if expires is not None else None,
            scopes=tuple(str(s) for s in public.get("scopes") or ()),
            obtained_at=float(public.get("obtained_at") or 0.0),
            **{name: public.get(name) for name in ("auth_url", "base_url", "origin")},
        )


def _file_name(client_id: str) -> str:
    """A safe file name for a client id (Constant Contact's are UUIDs, already safe)."""
    if _SAFE_ID.match(client_id):
        return client_id
    digest = hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:12]
    return re.sub(r"[^A-Za-z0-9_-]", "_", client_id)[:64] + "-" + digest


def _load_keyring(choice: Any) -> Any:
    """The keyring module or object to use, or None (the file holds the secrets)."""
    if choice is None:
        choice = env_flag(KEYRING_ENV)
    if choice is not True:
        return choice or None  # False, or an object with get/set/delete_password
    try:
        import keyring  # optional: only where it is already installed
    except ImportError:
        _log.warning("%s is set but the keyring package is not installed", KEYRING_ENV)
        return None
    return keyring


class CredentialStore(abc.ABC):
    """What every token store does: credentials per client id, saved, loaded, deleted,
    listed, and a lock that keeps two processes from refreshing at once.
    :class:`TokenStore` keeps them on disk (or in the keyring), :class:`MemoryTokenStore`
    in this process only.
    """

    _chosen = False

    @property
    def chosen(self) -> bool:
        """True when this store's place was chosen (a folder given, or
        ``CCPANDAS_CONFIG_DIR`` set), False for the platform's default folder."""
        return self._chosen

    @abc.abstractmethod
    def locked(self, client_id: str) -> contextlib.AbstractContextManager[None]:
        """Hold the store's lock for ``client_id``: no other process (or thread)
        refreshes and saves it meanwhile.

        Args:
            client_id: The application's client id, e.g. ``"app-1"``.
        """

    @abc.abstractmethod
    def load(self, client_id: str) -> Credentials | None:
        """The saved credentials of ``client_id``, or None.

        Args:
            client_id: The application's client id, e.g. ``"app-1"``.
        """

    @abc.abstractmethod
    def save(self, credentials: Credentials) -> None:
        """Save ``credentials`` (under their client id), replacing any saved before.

        Args:
            credentials: The :class:`Credentials` to keep.
        """

    @abc.abstractmethod
    def delete(self, client_id: str) -> bool:
        """Delete the saved credentials of ``client_id``; False when there were none.

        Args:
            client_id: The application's client id, e.g. ``"app-1"``.
        """

    @abc.abstractmethod
    def client_ids(self) -> list[str]:
        """The client ids with saved credentials, sorted."""


class TokenStore(CredentialStore):
    """Credentials saved per client id in ``directory`` (default: :func:`config_dir`/tokens).

    Args:
        directory: The folder of the credential files, e.g. ``tempfile.mkdtemp()``
            for a throwaway store. None (the default) is the ``tokens`` folder of
            :func:`config_dir` (``CCPANDAS_CONFIG_DIR`` when set, else the platform's
            config folder).
        keyring: Where the two tokens go: None (the default) puts them in the system
            keyring only when ``CCPANDAS_KEYRING=1`` (and the ``keyring`` package is
            installed), True always, False never (the file holds them); or an object
            with keyring's ``get_password``, ``set_password`` and ``delete_password``.
        lock_timeout: Seconds to wait for another process's file lock before a
            :class:`~ccpandas.errors.TokenStoreError`. Default 60.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        keyring: Any = None,
        lock_timeout: float = 60.0,
    ) -> None:
        self.directory = Path(directory) if directory is not None else config_dir() / "tokens"
        self._chosen = directory is not None or bool(env(CONFIG_DIR_ENV))
        self._keyring = _load_keyring(keyring)
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        where = "keyring" if self._keyring is not None else "file"
        return f"TokenStore({str(self.directory)!r}, secrets={where})"

    def path(self, client_id: str) -> Path:
        """The file that holds ``client_id``'s credentials.

        Args:
            client_id: The application's client id (its API key), e.g. ``"my-app"``.
        """
        if not isinstance(client_id, str) or not client_id.strip():
            raise AuthError("client_id must be a non-empty string")
        return self.directory / f"{_file_name(client_id.strip())}.json"

    @contextlib.contextmanager
    def locked(self, client_id: str) -> Iterator[None]:
        """Hold ``client_id``'s file lock (re-entrant in one thread; other threads and
        processes wait up to ``lock_timeout`` seconds, then get an AuthError).

        Args:
            client_id: The application's client id (its API key), e.g. ``"my-app"``.
        """
        import filelock

        lock_path = str(self.path(client_id)) + ".lock"
        # One FileLock object per lock file in this process (is_singleton), re-entrant per
        # thread: nested ``locked()`` calls on any TokenStore of the folder cannot deadlock.
        lock = filelock.FileLock(lock_path, mode=0o600, is_singleton=True)
        failure = ""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if os.name == "posix":
                # mkdir's mode is masked by the umask and ignored for an existing folder.
                os.chmod(self.directory, 0o700)
            lock.acquire(timeout=self.lock_timeout)
        except filelock.Timeout:
            failure = (
                f"the token store is locked by another process for over {self.lock_timeout:g} s "
                f"({lock_path}); is another kernel stuck? Delete the .lock file if not."
            )
        except OSError as exc:
            failure = (
                f"cannot use the token store folder {self.directory} "
                f"({type(exc).__name__}: {exc.strerror or exc})"
            )
        if failure:
            raise TokenStoreError(failure)
        try:
            yield
        finally:
            lock.release()

    def load(self, client_id: str) -> Credentials | None:
        """The saved credentials of ``client_id``, or None (nothing saved, or unreadable:
        a warning is logged and the file is left for a new login to replace).

        Args:
            client_id: The application's client id (its API key), e.g. ``"my-app"``.
        """
        path = self.path(client_id)
        with self.locked(client_id):
            creds, failure = self._read(path, client_id.strip())
        if failure:
            # Outside the except block: the failed read's frames held the file's text.
            raise TokenStoreError(f"could not read the saved credentials in {path} ({failure})")
        return creds

    def _read(self, path: Path, client_id: str) -> tuple[Credentials | None, str]:
        """``(credentials or None, "")``, or ``(None, what went wrong)`` for a file or a
        keyring that cannot be read at all."""
        try:
            raw = path.read_text(encoding="utf-8")
            if os.name == "posix" and path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)  # someone widened it: make it private again
        except FileNotFoundError:
            return None, ""
        except OSError as exc:
            return None, f"{type(exc).__name__}: {exc.strerror or exc}"
        try:
            data = json.loads(raw)
            if data.get("format") != _FORMAT or data.get("client_id") != client_id:
                raise ValueError("another format or client id")
            if data.get("secrets") == "keyring":
                if self._keyring is None:
                    raise ValueError("the tokens are in the keyring, which is not enabled")
                text = keyring_chunks.read(self._keyring, _KEYRING_SERVICE, client_id)
                secret = json.loads(text) if text else {}
            else:
                secret = data
            return Credentials.from_dicts(data, secret), ""
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            _log.warning("ignoring unreadable saved credentials in %s (%s)", path, exc)
            return None, ""
        except Exception as exc:  # a keyring backend's own errors
            return None, f"the keyring refused: {type(exc).__name__}"

    def save(self, credentials: Credentials) -> None:
        """Save (replace) the credentials of ``credentials.client_id``, atomically.

        Args:
            credentials: The :class:`Credentials` to save, e.g. a refresh's; they
                replace the saved ones of ``credentials.client_id``.
        """
        client_id = credentials.client_id.strip()
        path = self.path(client_id)
        with self.locked(client_id):
            failure = self._write(path, client_id, credentials)
        if failure:
            # Raised here, outside the except block: the failed write's frames held the
            # tokens in clear, and this error chains none of them.
            raise TokenStoreError(f"could not save the credentials of {client_id}: {failure}")

    def _write(self, path: Path, client_id: str, credentials: Credentials) -> str:
        """Write the keyring (if used), then the file; "" when done, else what went wrong
        and what to do about it."""
        data = {"format": _FORMAT, **credentials.public_dict(), "client_id": client_id}
        if self._keyring is not None:
            try:
                secret = json.dumps(credentials.secret_dict())
                keyring_chunks.write(self._keyring, _KEYRING_SERVICE, client_id, secret)
                data["secrets"] = "keyring"
            except Exception as exc:  # a keyring backend's own errors, OSError included
                return _keyring_failure(self._keyring, exc)
        else:
            data.update(credentials.secret_dict())
        try:
            _write_private(path, json.dumps(data, indent=1).encode("utf-8"))
        except OSError as exc:
            return _file_failure(path, exc)
        return ""

    def delete(self, client_id: str) -> bool:
        """Forget ``client_id``'s credentials; True if there were any.

        Args:
            client_id: The application's client id (its API key), e.g. ``"my-app"``.
        """
        path = self.path(client_id)
        with self.locked(client_id):
            existed = path.exists()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            if self._keyring is not None:
                with contextlib.suppress(Exception):  # keyring backends raise their own errors
                    keyring_chunks.delete(self._keyring, _KEYRING_SERVICE, client_id.strip())
        return existed

    def client_ids(self) -> list[str]:
        """The client ids with saved credentials, sorted."""
        ids = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                client_id = json.loads(path.read_text(encoding="utf-8")).get("client_id")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(client_id, str) and client_id:
                ids.append(client_id)
        return sorted(ids)


class MemoryTokenStore(CredentialStore):
    """A token store that keeps credentials in this process only (nothing on disk).

    Practice logins (to the local emulator) use one unless you pass ``store=``, so they
    never land in your real token store. It has the methods of :class:`TokenStore`
    (``load``, ``save``, ``delete``, ``client_ids``, ``locked``) and takes no arguments.

    Example:
        >>> store = MemoryTokenStore()
        >>> store.save(Credentials("app", Secret("at")))
        >>> store.client_ids(), store.load("app").client_id, store.chosen
        (['app'], 'app', False)
    """

    def __init__(self) -> None:
        self._saved: dict[str, Credentials] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self._saved)} saved)"

    @contextlib.contextmanager
    def locked(self, client_id: str) -> Iterator[None]:
        with self._lock:
            yield

    def load(self, client_id: str) -> Credentials | None:
        with self._lock:
            return self._saved.get(client_id.strip())

    def save(self, credentials: Credentials) -> None:
        with self._lock:
            self._saved[credentials.client_id.strip()] = credentials

    def delete(self, client_id: str) -> bool:
        with self._lock:
            return self._saved.pop(client_id.strip(), None) is not None

    def client_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._saved)


def _keyring_failure(ring: Any, exc: BaseException) -> str:
    """What a keyring's refusal was and what to do, from the error's type and numbers only
    (a backend's message might quote what it was given)."""
    backend = ring.get_keyring() if hasattr(ring, "get_keyring") else ring
    winerror = getattr(exc, "winerror", None)
    code = winerror or getattr(exc, "errno", None)
    why = ("Windows error" if winerror else type(exc).__name__) + (
        f" {code}" if isinstance(code, int) else ""
    )
    return (
        f"the system keyring ({type(backend).__name__}) refused to store them: {why}. "
        "Unlock the keyring (or allow Python to use it), or keep the tokens in the "
        "private file instead: set CCPANDAS_KEYRING=0, or pass TokenStore(keyring=False)"
    )


def _file_failure(path: Path, exc: OSError) -> str:
    """What a failed write of ``path`` was and what to do, by the operating system's
    error number."""
    import errno

    folder = path.parent
    reason = f"{type(exc).__name__}: {exc.strerror or exc}"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):  # no EDQUOT on Windows
        fix = f"free some space on the disk of {folder}"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = f"make {folder} writable by you, or set {CONFIG_DIR_ENV} to a folder that is"
    elif exc.errno == errno.EISDIR:
        fix = f"remove the folder {path} (a file of that name belongs there)"
    else:
        fix = f"check {folder} (or set {CONFIG_DIR_ENV} to another folder)"
    return f"writing {path} failed ({reason}): {fix}"


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only."""
    # mkstemp creates the file with mode 0600 whatever the umask, in the same folder so
    # os.replace is a rename on one file system.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":
        # Make the rename itself durable: a crash right after must not bring back the old
        # file, whose refresh token the server may already have retired.
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
