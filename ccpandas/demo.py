"""``make demo``: a segmentation workflow, end to end, on the built-in emulator.

It starts a seeded practice account on 127.0.0.1, reads the members of a list into a
DataFrame, builds a segment with pandas (unsubscribed contacts, plus a few messy rows
the way real exports have them), plans, removes with a progress bar, prints what
happened to every row and verifies through the API that the segment is gone.

Run it with ``python -m ccpandas.demo`` (``--contacts N`` for a bigger account).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

import ccpandas
from ccpandas.emulator import Emulator


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m ccpandas.demo", description=__doc__)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", type=float, default=20_000.0, help="emulator items/s")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 120)

    with Emulator(seed=args.seed, contacts=args.contacts, lists=6, speed=args.speed) as emu:
        print(f"Practice account on {emu.base_url} ({args.contacts:,} fake contacts)\n")
        client = ccpandas.Client(token=emu.token, base_url=emu.base_url)

        lists = ccpandas.read_contact_lists(client)
        print("Lists in the account:")
        print(lists[["name", "membership_count"]].to_string(index=False), "\n")

        newsletter = lists.iloc[0]
        members = ccpandas.read_contacts(client, lists=[newsletter["list_id"]])
        print(f"{len(members):,} members of {newsletter['name']!r}; by permission status:")
        print(members["status"].value_counts().to_string(), "\n")

        # The segment: members who unsubscribed, plus the mess real exports contain.
        segment = members.loc[members["status"] == "unsubscribed", ["contact_id", "email"]]
        messy = pd.DataFrame(
            {
                "contact_id": [segment["contact_id"].iloc[0], "not-an-id", None],
                "email": ["repeated row", "typo", "blank"],
            }
        )
        segment = pd.concat([segment, messy], ignore_index=True)
        targets = [newsletter["name"], lists.iloc[1]["name"]]

        plan = segment.cc.plan_removal(targets, client=client)
        print(plan, "\n")

        result = segment.cc.remove_from_lists(targets, client=client, progress="tqdm")
        print()
        print(result, "\n")
        print("Rows that were not sent, with their reason:")
        skipped = result.rows[result.rows["status"] != "removed"]
        print(skipped[["contact_id", "status", "reason", "duplicate_of"]].to_string(), "\n")

        after = ccpandas.read_contacts(client, lists=[newsletter["list_id"]])
        still = set(segment["contact_id"].dropna()) & set(after["contact_id"])
        print(f"{newsletter['name']!r} now has {len(after):,} members.")
        if still:
            print(f"FAILED: {len(still)} contacts of the segment are still members")
            return 1
        print("Verified: no contact of the segment is still a member.")
        print(f"Requests sent: {client.stats.requests} ({client.stats.throttled} throttled).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
