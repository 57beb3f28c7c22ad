"""``python -m ccpandas.emulator``: serve the emulator until Ctrl-C or SIGTERM.

It prints exactly one line, ``ccpandas emulator listening on http://127.0.0.1:PORT/v3
token=T``, then serves. ``--port 0`` (the default) picks a free port. Every setting of
:class:`~ccpandas.emulator.settings.Settings` is a flag (``--error-rate 0.1``).

Example:
    >>> args = build_parser().parse_args(["--port", "0", "--rate", "0", "--fail-rate", ".2"])
    >>> settings_from(args)
    {'rate': 0.0, 'fail_rate': 0.2}
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from ccpandas.emulator.core import Emulator
from ccpandas.emulator.settings import Settings

__all__ = ["build_parser", "main", "serve", "settings_from"]


def _yes_no(text: str) -> bool:
    """``yes``/``no`` (also true/false, 1/0, on/off) for a boolean setting."""
    value = text.strip().lower()
    if value in ("yes", "true", "1", "on"):
        return True
    if value in ("no", "false", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, not {text!r}")


# flag -> (type, help); the defaults come from Settings.
_SETTING_FLAGS: dict[str, tuple[Any, str]] = {
    "rate": (float, "requests per second before 429 throttled (0: no limit)"),
    "rate_algorithm": (str, "how the per-second limit counts: bucket or sliding"),
    "daily_quota": (int, "requests per UTC day before 429 quota_exceeded (0: no limit)"),
    "quota_left": (int, "requests accepted from now on, any day (for tests; 0: none left)"),
    "max_queued_activities": (int, "unfinished activities before activity POSTs get 429"),
    "speed": (float, "items (contacts) each activity processes per second"),
    "start_delay": (float, "seconds a new activity stays initialized (default: 500/speed)"),
    "concurrency": (int, "activities processed at the same time"),
    "error_rate": (float, "fraction of requests answered 500 or 503"),
    "latency": (float, "seconds added to every answer"),
    "spike_rate": (float, "fraction of answers delayed by --spike-latency more"),
    "spike_latency": (float, "seconds a latency spike adds"),
    "drop_rate": (float, "fraction of requests handled whose connection is then dropped"),
    "fail_rate": (float, "fraction of activities that end failed"),
    "timeout_rate": (float, "fraction of activities that end timed_out"),
    "token_expires_after": (int, "the token answers 401 after this many requests (0: never)"),
    "keep_rate": (float, "fraction of removals a completed removal activity leaves in place"),
    "unknown_list_status": (
        int,
        "status for an unknown list or tag id in a POST: 404 or 400 (0: 404 remove, 400 add)",
    ),
    "unknown_contacts": (str, "unknown source contact ids: report (in activity_errors) or reject"),
    "access_token_lifetime": (float, "seconds an OAuth2 access token lives (0: forever)"),
    "rotate_refresh_tokens": (_yes_no, "each refresh returns a new refresh token: yes or no"),
    "auto_approve": (_yes_no, "approve OAuth2 logins at once, without the page: yes or no"),
    "device_interval": (float, "seconds the device flow asks clients to wait between polls"),
    "device_code_lifetime": (float, "seconds a device code stays valid"),
    "token_rate": (float, "token endpoint requests per second (0: no limit)"),
    "error_shape": (str, "error bodies: real (gateway objects, namespaced keys) or array"),
    "quota_error": (str, "the daily-quota 429 body: object or limit_exceeded"),
    "timestamps": (str, "timestamp precision: seconds or milliseconds"),
    "activity_errors": (str, "activity_errors entries: strings or objects"),
    "activity_shape": (str, "activity bodies: full or sparse"),
    "gateway_timeouts": (_yes_no, "a third of injected faults on reads are 504: yes or no"),
    "last_page_links": (str, "the last page's _links: empty ({}) or absent"),
    "access_tokens": (str, "OAuth2 access tokens: jwt or opaque"),
    "activity_answers": (
        str,
        "activity POSTs' 201: json, truncated, no_activity_id or replay (a caching proxy)",
    ),
    "activity_paging": (str, "GET /v3/activities pages: normal, or repeating (an endless loop)"),
    "contact_paging": (str, "GET /v3/contacts pages: stable, or offset (a change may skip one)"),
    "segment_pending_reads": (int, "first reads of each segment's contacts that answer 202"),
}
assert set(_SETTING_FLAGS) == set(Settings.names()), "every setting needs a CLI flag"


def build_parser(
    prog: str = "python -m ccpandas.emulator", *, add_help: bool = True
) -> argparse.ArgumentParser:
    """The command-line parser. ``ccpandas emulator`` reuses it as a parent parser
    (``add_help=False``: the subcommand brings its own ``--help``)."""
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog=prog,
        add_help=add_help,
        description="Serve a local Constant Contact V3 emulator with a seeded fake account. "
        "Its OAuth2 authorization server (for ccpandas.login) is at /oauth2/default/v1 "
        "on the same port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (0: pick a free one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data, token and faults")
    parser.add_argument("--token", default=None, help="access token to accept")
    parser.add_argument("--contacts", type=int, default=200, help="number of contacts")
    parser.add_argument("--lists", type=int, default=6, help="number of contact lists")
    parser.add_argument("--tags", type=int, default=5, help="number of tags")
    parser.add_argument("--segments", type=int, default=0, help="number of segments")
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    group = parser.add_argument_group("limits, processing and faults")
    for name, (kind, text) in _SETTING_FLAGS.items():
        default = getattr(defaults, name)
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=kind,
            default=None,
            help=f"{text} [default: {default}]",
        )
    return parser


def settings_from(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (flags left out keep their defaults)."""
    return {name: getattr(args, name) for name in _SETTING_FLAGS if getattr(args, name) is not None}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    return serve(parser.parse_args(argv), parser)


def serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Serve the emulator ``args`` describe until Ctrl-C or SIGTERM; the exit status.

    ``parser`` reports bad settings (``parser.error``: exit status 2).
    """
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(message)s")
    try:
        emulator = Emulator(
            seed=args.seed,
            token=args.token,
            contacts=args.contacts,
            lists=args.lists,
            tags=args.tags,
            segments=args.segments,
            host=args.host,
            port=args.port,
            **settings_from(args),
        )
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        emulator.start()
    except OSError as exc:
        print(
            f"ccpandas emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 1
    try:
        print(
            f"ccpandas emulator listening on {emulator.base_url} token={emulator.token}", flush=True
        )
        while not stop.wait(0.2):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
