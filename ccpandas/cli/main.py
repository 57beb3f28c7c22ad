"""The ``ccpandas`` command line: the library's removals for scripts, cron and CI.

Every command is a thin layer over the public functions (:mod:`ccpandas.api`,
:mod:`ccpandas.api`, :mod:`ccpandas.readers`, :mod:`ccpandas.auth`), so a run
started here is the same journaled run a notebook sees in ``ccpandas.runs()``.

It is built on :mod:`argparse`: the standard library, no new dependency, and the
emulator's own argparse parser (``python -m ccpandas.emulator``) becomes
``ccpandas emulator`` as a parent parser instead of being rewritten.

Exit codes (:class:`~ccpandas.vocab.ExitCode`, from the result's one summary,
:mod:`ccpandas.run.summary`): 0 every sendable row done (rows never sendable are
skipped and counted, not failures), 1 some pair did not end as asked (or the run
stopped on an error or a timeout), 2 bad usage or input (nothing sent), 3 the daily
quota is spent (``ccpandas resume RUN_ID`` after the reset), 130 interrupted.

Example:
    >>> main(["plan", "-", "--lists", "Newsletter"])  # doctest: +SKIP
    >>> build_parser().parse_args(["runs", "--json"]).command
    'runs'
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd

import ccpandas
from ccpandas import api, readers
from ccpandas.report.progress import READ_PHASES, NullReporter
from ccpandas.vocab import ExitCode

if TYPE_CHECKING:
    from ccpandas.client.http import Client
    from ccpandas.plan.planner import RemovalPlan
    from ccpandas.report.progress import Snapshot
    from ccpandas.run.result import RemovalResult

__all__ = [
    "INPUT_FORMATS",
    "OUTPUT_FORMATS",
    "ExitCode",
    "LogReporter",
    "build_parser",
    "main",
    "read_table",
]

PROG = "ccpandas"


#: File name endings read as input, and the pandas reader each one uses.
INPUT_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".ods": "excel",
}
#: Compressions pandas infers from the name (``contacts.csv.gz``), for CSV and TSV.
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")
#: File name endings ``--output`` writes.
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class _Usage(Exception):
    """Bad usage or input found by the command line itself (exit 2, nothing sent)."""


# --------------------------------------------------------------------------- input


def read_table(path: str, fmt: str | None = None, *, stdin: TextIO | None = None) -> pd.DataFrame:
    """Read ``path`` with pandas' own reader for its ending (see :data:`INPUT_FORMATS`);
    ``-`` reads CSV from standard input. CSV, TSV and Excel cells are read as text, so
    ids keep their exact spelling; empty cells are missing values.

    Raises a usage error (exit 2) for a missing file, an unknown ending or a file the
    reader cannot parse.

    Example:
        >>> import io
        >>> read_table("-", stdin=io.StringIO("contact_id\\nabc\\n")).contact_id.tolist()
        ['abc']
    """
    if path == "-":
        source: Any = stdin if stdin is not None else sys.stdin
        kind = fmt or "csv"
        if kind not in ("csv", "tsv"):
            raise _Usage(f"standard input (-) is read as CSV or TSV, not {kind}")
        where = "standard input"
    else:
        file = Path(path)
        if not file.exists():
            raise _Usage(f"no such file: {path}")
        if file.is_dir():
            raise _Usage(f"{path} is a directory, not a file")
        kind = fmt or _format_of(file)
        source, where = file, path
    try:
        if kind in ("csv", "tsv"):
            return pd.read_csv(source, dtype=str, sep="\t" if kind == "tsv" else ",")
        if kind == "excel":
            return pd.read_excel(source, dtype=str)
        return pd.read_parquet(source)
    except ImportError as exc:  # an optional reader (openpyxl, odfpy) is not installed
        raise _Usage(f"cannot read {where}: {exc}") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        # pandas' EmptyDataError is a ValueError; pyarrow's errors are OSError/ValueError.
        raise _Usage(f"cannot read {where} as {kind}: {exc}") from None


def _format_of(file: Path) -> str:
    suffixes = [s.lower() for s in file.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in _COMPRESSED and suffixes[-2] in (".csv", ".tsv"):
        return INPUT_FORMATS[suffixes[-2]]
    if suffixes and suffixes[-1] in INPUT_FORMATS:
        return INPUT_FORMATS[suffixes[-1]]
    known = ", ".join(INPUT_FORMATS)
    ending = suffixes[-1] if suffixes else "no ending"
    raise _Usage(
        f"cannot tell the format of {file} ({ending}): name it with one of {known} "
        "(CSV and TSV may be compressed: .csv.gz ...), or pass --format"
    )


def _output_format(path: str | None) -> str | None:
    """Check ``--output`` before anything is sent."""
    if path is None:
        return None
    file = Path(path)
    kind = OUTPUT_FORMATS.get(file.suffix.lower())
    if kind is None:
        raise _Usage(
            f"--output {path}: write .csv or .parquet (the ending picks the format), "
            f"not {file.suffix or 'a name without ending'}"
        )
    if not file.parent.is_dir():
        raise _Usage(f"--output {path}: the folder {file.parent} does not exist")
    return kind


def _write_rows(rows: pd.DataFrame, path: str) -> None:
    if OUTPUT_FORMATS[Path(path).suffix.lower()] == "csv":
        rows.to_csv(path, index=True)
    else:
        # Object columns of text and None (activity_id, error) as nullable strings.
        rows.to_parquet(path, index=True)


def _list_values(args: argparse.Namespace) -> list[str]:
    values: list[str] = []
    for text in args.lists or ():
        parts = [p.strip() for p in text.split(",")]
        if any(not p for p in parts):
            raise _Usage(
                f"--lists {text!r}: an empty list name; separate names with commas "
                '("Newsletter,Customers"), or give one name per --list'
            )
        values.extend(parts)
    values.extend(v.strip() for v in args.list or ())
    if not values or any(not v for v in values):
        raise _Usage('name the target lists: --lists "Newsletter,Customers" (names or ids)')
    return values


#: ``--snapshot`` values: the library's ``snapshot=`` argument.
_SNAPSHOT: dict[str, bool | str] = {"auto": "auto", "yes": True, "no": False}

# --------------------------------------------------------------------------- progress


class LogReporter(NullReporter):
    """Progress for a log file: plain timestamped lines, never ``\\r`` or escapes.

    A line when the run starts, then at most one every ``interval`` seconds while it
    runs, and one when it ends. Pass it as ``progress=``.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> rep = LogReporter(out, interval=5, clock=iter([0, 1, 9]).__next__)
        >>> from ccpandas.report.progress import Snapshot
        >>> rep.start(Snapshot("submitting", 4, 0))
        >>> rep.update(Snapshot("submitting", 4, 1))  # 1 s later: too soon, no line
        >>> rep.finish(Snapshot("done", 4, 4))
        >>> [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
        ['ccpandas: submitting: 0 of 4 requests sent', 'ccpandas: done: 4 of 4 requests sent']
    """

    stop_requested = False

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self.interval = interval
        self._clock = clock
        self._last = -math.inf

    def _line(self, snapshot: Snapshot) -> None:
        if snapshot.phase in READ_PHASES:  # a membership read: pages, not removal requests
            parts = [f"{snapshot.batches_submitted:,} of {snapshot.batches_total:,} pages read"]
        else:
            parts = [f"{snapshot.batches_submitted:,} of {snapshot.batches_total:,} requests sent"]
        if snapshot.items_total:
            parts.append(
                f"{snapshot.items_completed:,} of {snapshot.items_total:,} items processed"
            )
        if snapshot.failed:
            parts.append(f"{snapshot.failed:,} activities failed")
        if snapshot.wait_seconds:
            parts.append(f"waiting {snapshot.wait_seconds:.0f} s")
        if snapshot.message:
            parts.append(snapshot.message)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        text = f"{stamp} ccpandas: {snapshot.phase}: " + "; ".join(parts)
        # A log line is one line: a message never breaks it or moves the cursor.
        text = "".join(c if c.isprintable() else " " for c in text)
        print(text, file=self._stream or sys.stderr, flush=True)

    def start(self, snapshot: Snapshot) -> None:
        self._last = self._clock()
        self._line(snapshot)

    def update(self, snapshot: Snapshot) -> None:
        now = self._clock()
        if now - self._last >= self.interval:
            self._last = now
            self._line(snapshot)

    def finish(self, snapshot: Snapshot) -> None:
        self._line(snapshot)


def _reporter(args: argparse.Namespace, stderr: TextIO) -> Any:
    """``--progress``: bars on a terminal, timestamped lines in a log, or nothing."""
    mode = getattr(args, "progress", "auto")
    if mode == "none":
        return False
    if mode == "bar" or (mode == "auto" and stderr.isatty()):
        from ccpandas.report.progress import TqdmReporter  # tqdm only for a terminal

        return TqdmReporter(file=stderr)
    return LogReporter(stderr)


# --------------------------------------------------------------------------- the session


class _Session:
    """One command's streams, client and options."""

    def __init__(self, args: argparse.Namespace, stdin: TextIO, stdout: TextIO, stderr: TextIO):
        self.args = args
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self._client: Client | None = None

    @property
    def json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    def client(self) -> Client:
        """A client from the first token source that has one, as ``ccpandas.connect()``;
        never an interactive login (a cron job must not wait for a browser)."""
        if self._client is None:
            try:
                self._client = ccpandas.connect(
                    getattr(self.args, "client_id", None),
                    base_url=getattr(self.args, "base_url", None),
                    auth_url=getattr(self.args, "auth_url", None),
                    interactive=False,
                    set_default=False,
                )
            except ccpandas.AuthError as exc:
                exc.add_note(
                    "From the command line: set CC_ACCESS_TOKEN, or log in once with "
                    "`ccpandas login --client-id YOUR_API_KEY`."
                )
                raise
        return self._client

    def client_or_none(self) -> Client | None:
        """A client if one can be had; None when no token source has one (planning
        with list ids needs none)."""
        try:
            return self.client()
        except ccpandas.AuthError:
            return None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def confirm(self, question: str) -> None:
        """Ask on a terminal; refuse without ``--yes`` when there is none."""
        if getattr(self.args, "yes", False):
            return
        if not self.stdin.isatty():
            raise _Usage(
                "standard input is not a terminal, so nobody can confirm: pass --yes to "
                "go ahead without asking (or --dry-run to see the plan). Nothing was sent."
            )
        print(f"{question} [y/N] ", end="", file=self.stderr, flush=True)
        answer = self.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise _Usage("not confirmed: nothing was sent")


# --------------------------------------------------------------------------- reports


def _finish(
    s: _Session,
    command: str,
    result: RemovalResult,
    names: dict[str, str],
    error: BaseException | None,
) -> int:
    """Print the result's one summary (text, or ``--json``); its outcome is the exit
    status (:class:`~ccpandas.vocab.RunOutcome`, docs/cli.md)."""
    from ccpandas.run.summary import Summary

    output = getattr(s.args, "output", None)
    if output is not None:
        _write_rows(result.rows, output)
    summary = Summary.of(result, error=error, names=names)
    if s.json:
        s.out(json.dumps(summary.to_json(command, output), default=str))
    else:
        s.out(summary.report_text(output))
    return int(summary.exit_code)


def _settled(run: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """Run ``run()`` and return ``(result, None)``, or ``(error.result, error)`` when it
    stopped on an error that carries the result so far (a Ctrl-C too: the run settles
    its journal, then the interrupt carries the result). Any other error propagates."""
    try:
        return run(), None
    except (ccpandas.CCError, KeyboardInterrupt) as exc:
        result = getattr(exc, "result", None)
        if result is None:
            raise
        return result, exc


# --------------------------------------------------------------------------- commands


def _cmd_lists(s: _Session) -> int:
    lists = readers.read_contact_lists(s.client(), status=s.args.status)
    frame = lists[["name", "list_id", "membership_count"]].rename(
        columns={"membership_count": "members"}
    )
    if s.json:
        s.out(json.dumps(json.loads(frame.to_json(orient="records"))))
    elif frame.empty:
        s.out("No lists.")
    else:
        s.out(frame.to_string(index=False))
    return ExitCode.OK


def _plan(s: _Session) -> tuple[RemovalPlan, dict[str, str], Client | None]:
    """Read FILE and plan; sends at most the one listing that resolves list names."""
    args = s.args
    values = _list_values(args)
    _output_format(getattr(args, "output", None))
    data = read_table(args.file, args.format, stdin=s.stdin)
    sends = args.command == "remove" and not args.dry_run
    client = s.client() if sends else s.client_or_none()
    try:
        ids = api.target_lists(values, client)
    except ccpandas.AuthError as exc:
        exc.add_note("List names are resolved through the API: give list ids, or connect.")
        raise
    # The names the user gave, for the report (a value that was an id names nothing).
    names = {i: v for i, v in zip(ids, values, strict=True) if i != v.strip().strip("{}").lower()}
    snapshot = _SNAPSHOT[args.snapshot]
    if client is None and snapshot == "auto":
        snapshot = False  # `ccpandas plan` with no login: ids plan offline (emails cannot)
    try:
        plan = api.plan_list_removal(
            data,
            ids,
            column=args.column,
            client=client,
            snapshot=snapshot,
            by=args.by,
            progress=_reporter(args, s.stderr) if snapshot is not False else False,
        )
    except ccpandas.PlanError as exc:
        if "snapshot" in str(exc):
            exc.add_note("On the command line: --snapshot auto (the default, with a login) or yes.")
        raise
    return plan, names, client


def _cmd_plan(s: _Session) -> int:
    plan, names, _ = _plan(s)
    output = getattr(s.args, "output", None)
    if output is not None:
        _write_rows(plan.rows, output)
    if s.json:
        body = {"command": "plan", **plan.summary(), "list_ids": list(plan.list_ids)}
        body["list_names"] = [names.get(i) for i in plan.list_ids]
        body["output"] = output
        s.out(json.dumps(body, default=str))
    else:
        s.out(str(plan))
        if output is not None:
            s.out(f"Wrote {plan.n_rows:,} rows to {output}")
    return ExitCode.OK


def _cmd_remove(s: _Session) -> int:
    plan, names, client = _plan(s)
    if s.args.dry_run:
        planned = api.run_plan(plan, client, dry_run=True)
        if not s.json:
            s.out(str(plan))
        return _finish(s, "remove", planned, names, None)
    if not s.json:
        s.out(str(plan))
    targets = ", ".join(names.get(i, i) for i in plan.list_ids)
    s.confirm(
        f"Remove {plan.n_contacts:,} contacts from {plan.n_lists:,} "
        f"list{'s' * (plan.n_lists != 1)} ({targets}) with {plan.n_requests:,} requests?"
    )
    result, error = _settled(
        lambda: api.run_plan(
            plan,
            s.client(),
            progress=_reporter(s.args, s.stderr),
            timeout=s.args.timeout,
            wait_for_quota=s.args.wait_for_quota,
        )
    )
    return _finish(s, "remove", result, names, error)


def _cmd_resume(s: _Session) -> int:
    result, error = _settled(
        lambda: api.resume(
            s.args.run_id,
            s.client(),
            progress=_reporter(s.args, s.stderr),
            timeout=s.args.timeout,
            wait_for_quota=s.args.wait_for_quota,
        )
    )
    return _finish(s, "resume", result, {}, error)


def _cmd_runs(s: _Session) -> int:
    frame = api.runs()
    if s.args.limit:
        frame = frame.head(s.args.limit)
    if s.json:
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        s.out(json.dumps(records))
        return ExitCode.OK
    if frame.empty:
        s.out("No runs in the journal.")
        return ExitCode.OK
    shown = frame[["run_id", "started_at", "state", "lists", "contacts", "progress", "stop_reason"]]
    shown = shown.assign(
        started_at=shown["started_at"].dt.strftime("%Y-%m-%d %H:%M UTC"),
        progress=shown["progress"].map("{:.0%}".format),
        stop_reason=shown["stop_reason"].fillna(""),
    )
    s.out(shown.to_string(index=False))
    return ExitCode.OK


def _cmd_undo(s: _Session) -> int:
    undo = ccpandas.undo
    s.confirm(f"Undo run {s.args.run_id} (put its removed contacts back on their lists)?")
    result, error = _settled(lambda: undo(s.args.run_id, client=s.client()))
    if hasattr(result, "runs") and hasattr(result, "plan"):
        return _finish(s, "undo", result, dict(getattr(result.plan, "list_names", {})), error)
    s.out(str(result))
    return ExitCode.OK


def _cmd_login(s: _Session) -> int:
    from ccpandas.auth import TextView

    args = s.args
    client = ccpandas.login(
        getattr(args, "client_id", None),
        flow=args.flow,
        auth_url=getattr(args, "auth_url", None),
        base_url=getattr(args, "base_url", None),
        open_browser=False if args.no_browser else None,
        # The link and code go to stderr: stdout stays the command's result.
        view=TextView(s.stderr),
        timeout=args.timeout,
        set_default=False,
    )
    client.close()
    s.out("Logged in; the next commands use this login until `ccpandas logout`.")
    return ExitCode.OK


def _cmd_logout(s: _Session) -> int:
    args = s.args
    removed = ccpandas.logout(
        getattr(args, "client_id", None),
        revoke=not args.no_revoke,
        auth_url=getattr(args, "auth_url", None),
    )
    s.out("Logged out: the saved login is deleted." if removed else "No saved login to remove.")
    return ExitCode.OK


def _cmd_emulator(s: _Session) -> int:
    from ccpandas.emulator.__main__ import serve

    return serve(s.args, s.args.emulator_parser)


_COMMANDS: dict[str, Callable[[_Session], int]] = {
    "lists": _cmd_lists,
    "plan": _cmd_plan,
    "remove": _cmd_remove,
    "runs": _cmd_runs,
    "resume": _cmd_resume,
    "undo": _cmd_undo,
    "login": _cmd_login,
    "logout": _cmd_logout,
    "emulator": _cmd_emulator,
}


# --------------------------------------------------------------------------- the parser


def _common() -> argparse.ArgumentParser:
    """Options every command (but ``emulator``) takes, before or after its name.

    Their default is SUPPRESS so a subcommand never overwrites a value given before it.
    """
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection and output")
    sup = argparse.SUPPRESS
    group.add_argument(
        "--base-url",
        default=sup,
        metavar="URL",
        help="the API (default: CC_BASE_URL, else Constant Contact's). The token comes "
        "from CC_ACCESS_TOKEN (refreshed with CC_REFRESH_TOKEN and CC_CLIENT_ID), else "
        "the saved login",
    )
    group.add_argument(
        "--client-id",
        default=sup,
        metavar="ID",
        help="your application's API key: picks the saved login (default: CC_CLIENT_ID)",
    )
    group.add_argument(
        "--auth-url", default=sup, metavar="URL", help="the OAuth2 server (default: CC_AUTH_URL)"
    )
    group.add_argument(
        "--json", action="store_true", default=sup, help="print one JSON object (machines)"
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", default=sup, help="log requests to stderr"
    )
    return common


def _file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="CSV, TSV, Parquet or Excel; - reads CSV")
    parser.add_argument(
        "--lists",
        action="append",
        metavar="NAMES",
        help='target lists, names or ids, comma-separated ("Newsletter,Customers")',
    )
    parser.add_argument(
        "--list",
        action="append",
        metavar="NAME",
        help="one target list, name or id, taken whole (for a name with a comma)",
    )
    parser.add_argument(
        "--column",
        default="contact_id",
        help="the column of contact ids or email addresses (default: contact_id)",
    )
    parser.add_argument(
        "--by",
        choices=("auto", "contact_id", "email"),
        default="auto",
        help="what the column holds (auto: told from its values)",
    )
    parser.add_argument(
        "--snapshot",
        choices=tuple(_SNAPSHOT),
        default="auto",
        help="read the lists' members first, send only what changes and verify after: "
        "auto (always for emails; for ids when cheap), yes, no (default: auto)",
    )
    parser.add_argument(
        "--format",
        choices=sorted(set(INPUT_FORMATS.values())),
        help="read FILE as this format whatever its name",
    )
    parser.add_argument(
        "--output", metavar="PATH", help="write the per-row result to PATH (.csv or .parquet)"
    )


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop waiting for activities after this long (exit 1; resume follows them)",
    )
    parser.add_argument(
        "--wait-for-quota",
        action="store_true",
        help="sleep through a spent daily quota (until 00:00 UTC) instead of stopping",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "log", "none"),
        default="auto",
        help="progress on stderr: bars on a terminal, timestamped lines otherwise (auto)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``ccpandas`` parser with every subcommand.

    Example:
        >>> build_parser().parse_args(["remove", "x.csv", "--lists", "A", "--yes"]).yes
        True
    """
    from ccpandas.emulator.__main__ import build_parser as emulator_parser

    common = _common()
    parser = argparse.ArgumentParser(
        prog=PROG,
        parents=[common],
        description="Remove contacts from Constant Contact lists from a file of contact "
        "ids or email addresses; every run is journaled and resumable. Exit codes: 0 "
        "done (rows never sendable are skipped, counted apart), 1 some contacts not "
        "removed as asked (or stopped), 2 bad usage or input (nothing sent), "
        "3 quota spent (resume later), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"ccpandas {ccpandas.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("lists", parents=[common], help="the account's lists: name, id, members")
    p.add_argument("--status", choices=("active", "deleted", "all"), default="active")

    p = sub.add_parser(
        "plan", parents=[common], help="what a removal would send (dry run; nothing sent)"
    )
    _file_options(p)

    p = sub.add_parser("remove", parents=[common], help="remove FILE's contacts from lists")
    _file_options(p)
    p.add_argument("--dry-run", action="store_true", help="plan and report; send nothing")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    _run_options(p)

    p = sub.add_parser("runs", parents=[common], help="the runs in the journal, newest first")
    p.add_argument("--limit", type=int, default=20, help="show this many (0: all; default 20)")

    p = sub.add_parser("resume", parents=[common], help="continue a stopped or interrupted run")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--output", metavar="PATH", help="write the per-row result (.csv or .parquet)")
    _run_options(p)

    p = sub.add_parser("undo", parents=[common], help="put a run's removed contacts back")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--output", metavar="PATH", help="write the per-row result (.csv or .parquet)")

    p = sub.add_parser("login", parents=[common], help="log in with OAuth2 and save the login")
    p.add_argument("--flow", choices=("device", "pkce"), default="device")
    p.add_argument("--no-browser", action="store_true", help="never open a browser (pkce)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="give up after this long")

    p = sub.add_parser("logout", parents=[common], help="revoke and delete the saved login")
    p.add_argument("--no-revoke", action="store_true", help="delete here only; do not revoke")

    emu = emulator_parser(f"{PROG} emulator", add_help=False)
    p = sub.add_parser(
        "emulator",
        parents=[emu],
        help="serve the local emulator (same options as python -m ccpandas.emulator)",
        description=emu.description,
    )
    p.set_defaults(emulator_parser=p)
    return parser


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def _plain_warnings(stderr: TextIO) -> Iterator[None]:
    """Library warnings (a run longer than today's quota...) as one stderr line each."""

    def show(message: Any, category: Any, *rest: Any, **kw: Any) -> None:
        print(f"{PROG}: warning: {message}", file=stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit status (:class:`ExitCode`).

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        ccpandas 0.1.0
        0
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (status 2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else ExitCode.USAGE
    if getattr(args, "verbose", False) and args.command != "emulator":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=stderr)
    session = _Session(args, stdin, stdout, stderr)
    try:
        with _plain_warnings(stderr):
            return int(_COMMANDS[args.command](session))
    except KeyboardInterrupt:
        session.err(f"{PROG}: interrupted")
        return ExitCode.INTERRUPTED
    except _Usage as exc:
        session.err(f"{PROG} {args.command}: {exc}")
        return ExitCode.USAGE
    except ccpandas.QuotaExceededError as exc:
        session.err(f"{PROG} {args.command}: {_message(exc)}")
        return ExitCode.QUOTA
    except ccpandas.CCError as exc:
        # Raised before a run started (a run's own errors are reported by _finish).
        session.err(f"{PROG} {args.command}: {_message(exc)}\nNothing was changed.")
        return ExitCode.USAGE
    finally:
        session.close()


def _message(exc: BaseException) -> str:
    return "\n".join([str(exc), *getattr(exc, "__notes__", ())])
