"""The IPython extension: ``%load_ext ccpandas``.

Loading it registers the ``df.cc`` accessor, the magics below, and makes the live
widget status display the default progress display of removals in this kernel
(outside a Jupyter kernel, e.g. the IPython terminal, progress stays tqdm text).

``%cc_connect [--client-id KEY] [--flow device|pkce] [--base-url URL] [--auth-url URL]``
    Connect with ``CC_ACCESS_TOKEN``, the saved login or a new login and make that
    client the default. Prints who is connected, never the token. Without any of them
    it shows a prompt: a client id field and a *Log in* button.
``%cc_emulator [--contacts N] [--seed S] [--lists L] [--speed X] [--rate R]``
    Start a local Constant Contact emulator in this kernel and connect to it.
``%cc_progress widgets|text|off``
    Choose how removals show progress in this kernel.
``%cc_undo RUN_ID [--dry-run] [--force]``
    Put back exactly the memberships run RUN_ID removed (``ccpandas.undo``), with the
    default client; ``--dry-run`` shows the preview and sends nothing.

Example:
    >>> import IPython  # doctest: +SKIP
    >>> %load_ext ccpandas  # doctest: +SKIP
    >>> %cc_emulator --contacts 500 --seed 7  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ccpandas.report.progress import NullReporter, TqdmReporter, set_default_reporter_factory

__all__ = ["CCMagics", "current_emulator", "load_ipython_extension", "unload_ipython_extension"]

_emulator: Any = None


def current_emulator() -> Any:
    """The emulator ``%cc_emulator`` started in this kernel (None if none)."""
    return _emulator


def _stop_emulator() -> None:
    global _emulator
    if _emulator is not None:
        _emulator.stop()
        _emulator = None


@magics_class
class CCMagics(Magics):
    """The ``%cc_*`` magics."""

    @magic_arguments()
    @argument("--base-url", default=None, help="API base URL (default: CC_BASE_URL or the API)")
    @argument(
        "--client-id",
        default=None,
        help="your application's API key (default: CC_CLIENT_ID or the saved login)",
    )
    @argument(
        "--flow",
        default="device",
        choices=("device", "pkce"),
        help="device (default; works on hosted notebooks) or pkce (desktops)",
    )
    @argument(
        "--auth-url",
        default=None,
        help="OAuth2 server (default: CC_AUTH_URL or Constant Contact's)",
    )
    @line_magic
    def cc_connect(self, line: str) -> None:
        """Connect to Constant Contact and make the client the default one."""
        from IPython.display import display

        from ccpandas.client.http import Client
        from ccpandas.widgets.login import connect, describe_connection

        # The options are named as connect() names them: base_url, client_id, flow, auth_url.
        outcome = connect(**vars(parse_argstring(self.cc_connect, line)))
        if not isinstance(outcome, Client):  # the prompt: a client id field, Log in
            display(outcome)
            return
        print(describe_connection(outcome))

    @magic_arguments()
    @argument("--contacts", type=int, default=1000, help="contacts to create (default 1000)")
    @argument("--seed", type=int, default=0, help="random seed: same seed, same account")
    @argument("--lists", type=int, default=None, help="contact lists to create")
    @argument("--segments", type=int, default=None, help="segments to create (default 0)")
    @argument("--speed", type=float, default=None, help="items an activity processes per second")
    @argument("--rate", type=float, default=None, help="requests per second (default 4; 0: off)")
    @line_magic
    def cc_emulator(self, line: str) -> None:
        """Start a local emulator of the Constant Contact API and connect to it."""
        global _emulator
        from ccpandas.client.http import Client, set_default_client
        from ccpandas.emulator import Emulator

        args = parse_argstring(self.cc_emulator, line)
        _stop_emulator()
        given = {k: getattr(args, k) for k in ("lists", "segments", "speed", "rate")}
        options = {k: v for k, v in given.items() if v is not None}  # else the defaults
        emulator = Emulator(seed=args.seed, contacts=args.contacts, **options)
        emulator.start()
        _emulator = emulator
        # The client keeps to the same pace as the emulator (0 switches both off).
        pace: dict[str, Any] = {} if args.rate is None else {"rate": args.rate or None}
        client = Client(token=emulator.token, base_url=emulator.base_url, **pace)
        set_default_client(client)
        from ccpandas.readers import read_contact_lists, read_contact_tags

        lists = read_contact_lists(client)
        tags = read_contact_tags(client)
        print(
            f"Emulator running at {emulator.base_url} (seed {args.seed}): "
            f"{args.contacts:,} contacts, {len(lists):,} lists, {len(tags):,} tags. "
            "Connected: it is the default client now."
        )

    @magic_arguments()
    @argument("run_id", help="the run to undo (ccpandas.runs() lists them)")
    @argument("--dry-run", action="store_true", help="show what would come back; send nothing")
    @argument(
        "--force",
        action="store_true",
        help="undo a run undone before, or one whose pairs later runs changed again",
    )
    @line_magic
    def cc_undo(self, line: str) -> Any:
        """``%cc_undo RUN_ID [--dry-run] [--force]``: put back exactly the memberships
        run RUN_ID removed (take off those an add or a sync added), with the default
        client; returns the undo's result (its preview with ``--dry-run``)."""
        import ccpandas

        args = parse_argstring(self.cc_undo, line)
        return ccpandas.undo(args.run_id, dry_run=args.dry_run, force=args.force)

    @line_magic
    def cc_progress(self, line: str) -> None:
        """``%cc_progress widgets|text|off``: how removals show progress here."""
        choice = line.strip() or "widgets"
        factories = {"widgets": _widget_factory, "text": TqdmReporter, "off": NullReporter}
        if choice not in factories:
            raise ValueError(f"%cc_progress takes widgets, text or off, not {choice!r}")
        set_default_reporter_factory(factories[choice])
        print(f"ccpandas progress: {choice}")


def _widget_factory() -> Any:
    from ccpandas.widgets.status import make_widget_reporter

    return make_widget_reporter()


def load_ipython_extension(ipython: Any) -> None:
    """Called by ``%load_ext ccpandas``: accessor, magics, widget progress.

    Args:
        ipython: The running IPython shell (``get_ipython()``), which the ``%cc_*``
            magics are registered with.
    """
    import ccpandas  # noqa: F401  (registers df.cc)
    from ccpandas._env import in_notebook

    ipython.register_magics(CCMagics)
    if in_notebook():
        set_default_reporter_factory(_widget_factory)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext ccpandas``: back to text progress; stop the emulator."""
    set_default_reporter_factory(None)
    _stop_emulator()
