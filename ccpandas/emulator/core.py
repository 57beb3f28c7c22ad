"""``Emulator``: a local Constant Contact V3 server with a seeded fake account.

Example:
    >>> import requests
    >>> with Emulator(seed=1, contacts=50, lists=3) as emu:
    ...     r = requests.get(
    ...         f"{emu.base_url}/contact_lists",
    ...         headers={"Authorization": f"Bearer {emu.token}"},
    ...         timeout=5,
    ...     )
    ...     [lst["name"] for lst in r.json()["lists"]]
    ['Newsletter', 'Customers', 'Prospects']
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from ccpandas.emulator.account import Account
from ccpandas.emulator.clock import Clock, SystemClock
from ccpandas.emulator.faults import Faults
from ccpandas.emulator.oauth import AUTH_PATH, AuthServer
from ccpandas.emulator.pipeline import Pipeline
from ccpandas.emulator.seed import seed_account
from ccpandas.emulator.server import EmulatorHTTPServer, check_loopback
from ccpandas.emulator.settings import Settings
from ccpandas.emulator.tokens import DEFAULT_SCOPES, TokenStore, default_token

__all__ = ["Emulator"]


class Emulator:
    """A Constant Contact V3 emulator serving a seeded account on a loopback port.

    Construction seeds the account (``emu.account`` is usable at once);
    :meth:`start` (or ``with``) serves it on ``host:port`` (``port=0``: a free port)
    in background threads. ``emu.oauth`` is the authorization server (device flow,
    authorization code with PKCE, refresh) at :attr:`auth_url`.

    Args:
        seed: The seed the account's data, its token and its random faults all follow: the
            same seed, the same account. Default 0.
        token: The access token it accepts, e.g. ``"test-token"``. None (the default)
            derives one from the seed (:attr:`token` tells it).
        contacts: How many contacts the seeded account has. Default 200.
        lists: How many contact lists it has (the first are ``Newsletter``, ``Customers``,
            ``Prospects``...). Default 6.
        tags: How many tags it has. Default 5.
        segments: How many segments it has (ids 1, 2, ..., each selecting a share of
            the contacts that are not deleted). Default 0.
        host: The loopback address to serve on, e.g. ``"127.0.0.1"`` (the default) or
            ``"::1"``; any other host is refused.
        port: The port to serve on. 0 (the default) picks a free one (:attr:`port` tells
            it).
        clock: The emulator's clock (activities, quota days, token lifetimes): a
            :class:`~ccpandas.emulator.clock.ManualClock` or
            :class:`~ccpandas.emulator.clock.OffsetClock` for tests. None (the default) is
            the system clock.
        settings: Any :class:`~ccpandas.emulator.settings.Settings` field by name, e.g.
            ``rate=None, error_rate=0.1, speed=1e6``; :meth:`configure` can change them
            while it runs.

    Raises:
        ValueError: A host that is not a loopback address, a port out of range, a bad
            setting value.
        TypeError: An unknown setting name.

    Example:
        >>> Emulator(seed=1, contacts=20, rate=None).settings.rate is None
        True
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        token: str | None = None,
        contacts: int = 200,
        lists: int = 6,
        tags: int = 5,
        segments: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        **settings: Any,
    ) -> None:
        self._host = check_loopback(host)
        if not 0 <= port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        self._requested_port = port
        self.seed = seed
        self.sizes = {"contacts": contacts, "lists": lists, "tags": tags, "segments": segments}
        self.clock: Clock = clock or SystemClock()
        self.faults = Faults(seed)
        tokens = TokenStore(seed)
        self._token = tokens.issue(token or default_token(seed), scopes=DEFAULT_SCOPES)
        self.account = Account(
            seed_account(seed=seed, contacts=contacts, lists=lists, tags=tags, segments=segments),
            clock=self.clock,
            settings=Settings().replace(**settings),
            faults=self.faults,
            tokens=tokens,
            seed=seed,
        )
        self.pipeline = Pipeline(self.account, self.faults)
        #: The OAuth2 authorization server, served under :attr:`auth_url`.
        self.oauth = AuthServer(self.account, seed=seed)
        self.pipeline.oauth = self.oauth
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> Emulator:
        """Serve in background threads; returns ``self``. Idempotent."""
        if self._server is None:
            server = EmulatorHTTPServer(self._host, self._requested_port, self.pipeline)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"ccpandas-emulator-{server.server_port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving and close open connections. Idempotent; ``start`` may follow."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    # -- where and how to reach it -----------------------------------------------------

    @property
    def host(self) -> str:
        """The loopback address it binds."""
        return self._host

    @property
    def port(self) -> int:
        """The port it listens on (only while running)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use 'with'")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no path)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API root, ``http://127.0.0.1:PORT/v3``."""
        return f"{self.url}/v3"

    @property
    def auth_url(self) -> str:
        """The OAuth2 authorization server, ``http://127.0.0.1:PORT/oauth2/default/v1``
        (pass it as ``auth_url=`` to :func:`ccpandas.login`)."""
        return f"{self.url}{AUTH_PATH}"

    @property
    def token(self) -> str:
        """The access token it accepts (from ``token=`` or derived from the seed)."""
        return self._token

    def headers(self, token: str | None = None) -> dict[str, str]:
        """``Authorization`` and ``Content-Type`` headers for a plain HTTP call.

        Args:
            token: The token to send. None (the default) is the emulator's own
                (:attr:`token`).

        Example:
            >>> Emulator(seed=1, contacts=1, token="t").headers()["Authorization"]
            'Bearer t'
        """
        return {
            "Authorization": f"Bearer {token or self._token}",
            "Content-Type": "application/json",
        }

    # -- settings and hooks --------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The settings in force (a frozen snapshot)."""
        return self.account.settings

    def configure(self, **changes: Any) -> Settings:
        """Change settings while running, e.g. ``configure(rate=1, error_rate=0.1)``.

        Takes effect for the next request. Activities already running are first
        brought up to now at the old speed, so a speed change applies from this moment.
        Unknown names raise ``TypeError``, bad values ``ValueError`` (nothing changes).

        Args:
            changes: Settings by name (:class:`~ccpandas.emulator.settings.Settings`), e.g.
                ``rate=1, error_rate=0.1``.

        Returns:
            The settings now in force.
        """
        with self.account.lock:
            new = self.account.settings.replace(**changes)
            self.account.sync()
            self.account.settings = new
            if "segment_pending_reads" in changes:  # the first N reads from now on
                self.account.segment_reads.clear()
            if "quota_left" in changes:  # N left from now on
                self.pipeline.quota.since_set = 0
            return new

    def issue_token(
        self,
        *,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        expires_after: int | None = None,
        token: str | None = None,
    ) -> str:
        """Register another valid token (deterministic under the seed) and return it.

        ``expires_after`` gives it its own budget of requests (else the
        ``token_expires_after`` setting applies); ``scopes`` without
        ``contact_data`` make every endpoint answer 403.

        Args:
            scopes: The token's scopes. Default ``contact_data`` and ``offline_access``;
                leave out ``contact_data`` to test 403 answers.
            expires_after: Accepted requests after which this token answers 401. None (the
                default): the ``token_expires_after`` setting.
            token: The token's text. None (the default) derives one from the seed.

        Returns:
            The token.

        Example:
            >>> emu = Emulator(seed=1, contacts=1)
            >>> emu.issue_token(token="second") == "second"
            True
        """
        return self.account.tokens.issue(token, scopes=scopes, expires_after=expires_after)

    def revoke_token(self, token: str) -> None:
        """Make ``token`` answer 401 from now on.

        Args:
            token: A token the emulator accepted, e.g. :attr:`token` or one from
                :meth:`issue_token`.
        """
        self.account.tokens.revoke(token)

    def fail_next(self, count: int = 1, state: str = "failed", at: float = 0.5) -> None:
        """Make the next ``count`` activities end ``failed`` (or ``timed_out``) after
        processing the fraction ``at`` of their items.

        Args:
            count: How many of the next activities fail. Default 1.
            state: How they end: ``"failed"`` (the default) or ``"timed_out"``.
            at: The fraction of their items processed before they end, 0 to 1. Default 0.5.
        """
        self.faults.fail_next(count, state, at)

    def keep_members(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Make removal activities leave each ``(contact_id, list_id)`` of ``pairs`` in
        place, silently: the activity still ends ``completed``, with no error.

        For testing a client's "still a member" check. It lasts until
        ``emu.faults.keep_members.clear()``; the ``keep_rate`` setting does the same to
        a random fraction of removals.

        Args:
            pairs: ``(contact_id, list_id)`` pairs to leave in place, any case, e.g.
                ``[("C1", "L1")]``.

        Example:
            >>> emu = Emulator(seed=1, contacts=20, lists=2)
            >>> emu.keep_members([("C1", "L1")])
            >>> emu.faults.keep_members
            {('c1', 'l1')}
        """
        self.faults.keep_members.update((c.lower(), lst.lower()) for c, lst in pairs)

    @property
    def quota_used(self) -> int:
        """Requests counted against today's daily quota."""
        return self.pipeline.quota_used()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait (in real time) until no activity is initialized or processing.

        Raises ``TimeoutError`` after ``timeout`` seconds; with a ``ManualClock`` that
        nobody advances, activities never progress.

        Args:
            timeout: Seconds of real time to wait at most. Default 10.
        """
        deadline = time.monotonic() + timeout
        while True:
            queued = self.account.queued_activities
            if queued == 0:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{queued} activities still running after {timeout} s")
            time.sleep(0.005)

    def __repr__(self) -> str:
        where = self.base_url if self.running else "not running"
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        return f"<Emulator {where} seed={self.seed} {sizes}>"
