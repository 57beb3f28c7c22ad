"""``make demo``: a segmentation workflow, end to end, on the built-in emulator.

It starts a seeded practice account on 127.0.0.1, reads the members of a list into a
DataFrame, builds a segment of email addresses with pandas (unsubscribed contacts,
written in mixed case with stray spaces, plus a few messy rows the way real exports
have them), plans with a membership snapshot, removes by email with a progress bar,
prints what happened to every row and to every (contact, list) pair and the removed
memberships per list, verifies through the API that the segment is gone from both
target lists, then undoes the removal (previewed first) and checks that every list has
exactly the members it had before.

The run journal and the daily request count of this practice run go to a temporary
directory (removed afterwards) unless ``CCPANDAS_DATA_DIR`` is set: practice data has no
place in the real journal.

Run it with ``python -m ccpandas.cli.demo`` (``--contacts N`` for a bigger account).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Iterator

import pandas as pd

import ccpandas
from ccpandas._config import DATA_DIR_ENV, env
from ccpandas.cli.main import progress_reporter
from ccpandas.emulator import Emulator
from ccpandas.vocab import PairOutcome


@contextlib.contextmanager
def _practice_data_dir() -> Iterator[str]:
    """``CCPANDAS_DATA_DIR`` if set, else a temporary one for the duration."""
    configured = env(DATA_DIR_ENV)
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="ccpandas-demo-", ignore_cleanup_errors=True) as path:
        os.environ[DATA_DIR_ENV] = path
        try:
            yield path
        finally:
            os.environ.pop(DATA_DIR_ENV, None)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit code.

    Example:
        >>> main(["--contacts", "500"])  # doctest: +SKIP
        0
    """
    parser = argparse.ArgumentParser(prog="python -m ccpandas.cli.demo", description=__doc__)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", type=float, default=20_000.0, help="emulator items/s")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 120)
    with _practice_data_dir():
        return _demo(args)


def _demo(args: argparse.Namespace) -> int:
    # Bars on a terminal; in a log, timestamped lines, as the command line writes them.
    bars = functools.partial(progress_reporter, "auto", sys.stderr)
    with Emulator(seed=args.seed, contacts=args.contacts, lists=6, speed=args.speed) as emu:
        print(f"Practice account on {emu.base_url} ({args.contacts:,} fake contacts)\n")
        client = ccpandas.Client(token=emu.token, base_url=emu.base_url)

        lists = ccpandas.read_contact_lists(client)
        print("Lists in the account:")
        print(lists[["name", "membership_count"]].to_string(index=False), "\n")

        newsletter = lists.iloc[0]
        members = ccpandas.read_contacts(client, lists=[newsletter["list_id"]])
        print(f"{len(members):,} members of {newsletter['name']!r}; by status:")
        print(members["status"].value_counts().to_string(), "\n")

        # The segment, keyed by email as CRM exports are: members who unsubscribed,
        # written the way exports write them, plus the mess they contain.
        unsub = members.loc[members["status"] == "unsubscribed", "email"].tolist()
        emails = [e.upper() if i % 3 == 0 else f" {e} " for i, e in enumerate(unsub)]
        messy = [unsub[0].title(), "not an address", None, "someone@not-a-member.example"]
        segment = pd.DataFrame({"email": emails + messy})
        second = lists.iloc[1]
        targets = [newsletter["name"], second["name"]]

        def members(target: pd.Series) -> set[str]:
            return set(ccpandas.read_contacts(client, lists=[target["list_id"]])["contact_id"])

        # Who is on both lists now, read independently: the undo must give back exactly this.
        before = {t["name"]: members(t) for t in (newsletter, second)}

        # The plan reads both lists' members first (the snapshot), matches the emails
        # to contacts and shows how many members of each list will leave.
        plan = segment.cc.plan(targets, "email", client=client)
        print(plan, "\n")

        result = segment.cc.remove_from_lists(targets, "email", client=client, progress=bars())
        print()
        print(result, "\n")
        print("Rows that were not sent, with their reason:")
        skipped = result.rows[result.rows["status"] != PairOutcome.REMOVED.value]
        print(skipped[["email", "status", "reason", "duplicate_of"]].to_string(), "\n")
        print("What happened to each (contact, list) pair, from the lists read again:")
        changes = result.changes
        table = pd.crosstab(changes["list_name"], changes["outcome"].astype(str))
        print(table.to_string(), "\n")
        print(f"Removed memberships per list: {result.summary_text()}\n")

        gone = set(result.rows["contact_id"].dropna())
        failed = False
        for target in (newsletter, second):
            after = members(target)
            still = gone & after
            print(f"{target['name']!r} now has {len(after):,} members.")
            if still:
                print(f"FAILED: {len(still)} contacts of the segment are still members")
                failed = True
        if failed:
            return 1
        print("Verified: no contact of the segment is still a member of either list.\n")

        # Undo: exactly the removed memberships go back, previewed first.
        print("Undo, previewed (nothing sent yet):")
        print(result.undo(dry_run=True), "\n")
        undo = result.undo(progress=bars())
        print()
        print(undo, "\n")
        for target in (newsletter, second):
            now = members(target)
            if now != before[target["name"]]:
                print(f"FAILED: {target['name']!r} is not back to its members before the run")
                return 1
            print(f"{target['name']!r} has its {len(now):,} members back.")
        print("Verified: every list has exactly the members it had before the removal.")
        print(f"Requests sent: {client.stats.requests} ({client.stats.throttled} throttled).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
