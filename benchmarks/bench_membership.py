"""Membership snapshots: resolving emails, membership-aware batching and what they cost.

Two parts:

- **planning** (pure, no HTTP): an email-keyed segment of 100,000 rows against lists of
  50,000 and 200,000 members (20,000 in both: 230,000 contacts in the snapshot), of
  which 20 % are members. Measured: CPU time to resolve the emails and plan (target
  < 2 s), removal requests beside today's ``ceil(n/500) x ceil(L/50)`` (target <= 0.25x),
  the reads the snapshot and the verification need (``ceil(union / 500)`` per 25 lists),
  the wall time both modes take at 4 requests/s, and the break-even of the
  ``snapshot="auto"`` rule for contact-id input.
- **end to end** (HTTP, the emulator at its real 4 requests/s): a smaller account, the
  same 20 %-members segment by contact id without a snapshot (today) and by email with
  one; requests counted by the emulator, wall time measured.
- **memory** (pure): bytes per (member, list) pair of a snapshot of 50,000 members on 20
  of 50 lists each (1,000,000 pairs) read page by page, of the whole plan (snapshot +
  plan) of an email segment of half of them, and the peak while reading and planning
  (tracemalloc); and the journal's bytes per page of 500 contacts of real membership
  reads on the emulator (1 and 50 lists; a segment of 1 %, 10 % and 100 % of the
  members, by contact id and by email), beside the same read journaling every member.

Example:
    >>> r = run(quick=True)
    >>> r["plan"]["removal_requests"] <= 0.25 * r["plan"]["today_requests"]
    True
"""

from __future__ import annotations

import gc
import math
import os
import random
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.bench_e2e import _private_data_dir

__all__ = ["markdown", "print_table", "run"]

RATE = 4.0


def _snapshot(sizes: tuple[int, int], overlap: int, seed: int = 0) -> Any:
    from ccpandas.plan.membership import MembershipSnapshot

    rng = np.random.default_rng(seed)
    a, b = sizes
    n = a + b - overlap
    ids = np.array([str(uuid.UUID(int=int(x))) for x in rng.integers(1 << 60, 1 << 62, n)])
    emails = np.array([f"user{i}@example.com" for i in range(n)], dtype=object)
    l1, l2 = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
    lists = np.empty(n, dtype=object)
    only_a = a - overlap
    lists[:only_a] = [(l1,)] * only_a
    lists[only_a:a] = [(l1, l2)] * overlap
    lists[a:] = [(l2,)] * (n - a)
    return MembershipSnapshot(
        list_ids=(l1, l2),
        contact_ids=ids.astype(object),
        emails=emails,
        statuses=np.full(n, "active", dtype=object),
        lists=lists,
        tags=np.array([()] * n + [None], dtype=object)[:n],
        list_names={l1: "50k list", l2: "200k list"},
    )


def run_plan(
    rows: int = 100_000,
    sizes: tuple[int, int] = (50_000, 200_000),
    overlap: int = 20_000,
    member_share: float = 0.2,
    repeats: int = 3,
) -> dict[str, Any]:
    """The pure part: resolve + plan CPU time, request counts, modelled wall time."""
    from ccpandas.plan.membership import plan_membership_removal, plan_requests, snapshot_reads

    snap = _snapshot(sizes, overlap)
    rng = np.random.default_rng(1)
    n_members = int(rows * member_share)
    members = snap.emails[rng.choice(len(snap), n_members, replace=False)]
    strangers = np.array([f"x{i}@elsewhere.example" for i in range(rows - n_members)], dtype=object)
    values = np.concatenate([members, strangers])
    rng.shuffle(values)
    # Exported the way CRMs export: mixed case, stray spaces.
    segment = pd.Series([v.upper() if i % 3 == 0 else f" {v} " for i, v in enumerate(values)])
    best = math.inf
    plan = None
    for _ in range(repeats):
        fresh = _snapshot(sizes, overlap)  # the email index is built inside the timing
        t = time.process_time()
        plan = plan_membership_removal(segment, fresh.list_ids, fresh)
        best = min(best, time.process_time() - t)
    assert plan is not None
    union = len(snap)
    reads = snapshot_reads([union])  # one pass: 2 lists; the union is what is read
    today = plan_requests(rows, 2)
    removal = plan.n_requests
    snapshot_total = 1 + reads + removal + reads  # listing + snapshot + removals + verify
    # Break-even of snapshot="auto" for contact-id input: reads <= today's requests.
    break_even = reads * 500  # segment size where ceil(n/500) x 1 reaches the reads
    return {
        "rows": rows,
        "list_sizes": list(sizes),
        "union_members": union,
        "segment_members": n_members,
        "cpu_seconds": best,
        "removal_requests": removal,
        "today_requests": today,
        "ratio": removal / today,
        "snapshot_reads": reads,
        "verify_reads": reads,
        "today_seconds_at_4": today / RATE,
        "snapshot_seconds_at_4": snapshot_total / RATE,
        "snapshot_requests_total": snapshot_total,
        "auto_break_even_contacts": break_even,
    }


def run_e2e(contacts: int = 6_000, rate: float = RATE, seed: int = 7) -> list[dict[str, Any]]:
    """Both modes against the emulator at ``rate`` requests/s (20 % members)."""
    import ccpandas
    from ccpandas.emulator import Emulator

    out = []
    with _private_data_dir():
        for mode in ("today (ids, no snapshot)", "emails + snapshot + verify"):
            with Emulator(seed=seed, contacts=contacts, lists=6, rate=rate, speed=1e6) as emu:
                acct = emu.account
                targets = acct.list_ids()[:2]
                union = sorted(set(acct.members(targets[0])) | set(acct.members(targets[1])))
                outsiders = [c for c in acct.contact_ids() if c not in set(union)]
                k = min(len(union) // 2, len(outsiders) // 4)
                seg_ids = union[:k] + outsiders[: 4 * k]  # 20 % members
                client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=rate)
                t = time.perf_counter()
                if mode.startswith("today"):
                    df = pd.DataFrame({"contact_id": seg_ids})
                    df.cc.remove_from_lists(targets, client=client, snapshot=False, progress=False)
                else:
                    df = pd.DataFrame({"email": [acct.contact(c).email.upper() for c in seg_ids]})
                    df.cc.remove_from_lists(targets, "email", client=client, progress=False)
                wall = time.perf_counter() - t
                out.append(
                    {
                        "mode": mode,
                        "segment": len(seg_ids),
                        "union_members": len(union),
                        "removal_requests": acct.count(
                            method="POST", route="/v3/activities/remove_list_memberships"
                        ),
                        "reads": acct.count(method="GET", route="/v3/contacts"),
                        "requests": client.stats.requests,
                        "wall_seconds": wall,
                    }
                )
                client.close()
    return out


#: :func:`run_memory` on the version before compact snapshots (96b11bd), its read
#: holding a dict per contact as that version's did: a snapshot of tuples of strings,
#: int64 pairs. (Neither "snapshot" figure counts the caches planning adds.)
MEMORY_BEFORE = {"snapshot": 21.3, "whole": 77.0, "peak": 172.3}
#: The audit's figure for a snapshot plan (10M pairs took 1.97 GB), bytes per pair.
MEMORY_AUDIT = 195
MEMORY_TARGET = 40


def _member_pages(
    contacts: int, lists: list[str], per_contact: int, seed: int
) -> Iterator[list[dict[str, Any]]]:
    """Pages of 500 snapshot records as a read parses them (fresh strings each)."""
    rng = np.random.default_rng(seed + 1)  # not the target lists' draws
    others = [str(uuid.UUID(int=int(x))) for x in rng.integers(1 << 60, 1 << 62, 10)]
    for start in range(0, contacts, 500):
        page = []
        for i in range(start, min(contacts, start + 500)):
            on = [lists[j] for j in np.sort(rng.choice(len(lists), per_contact, replace=False))]
            page.append(
                {
                    "contact_id": str(uuid.UUID(int=int(rng.integers(1, 1 << 62)))),
                    "email": f"user{i}@example.com",
                    "status": "active" if i % 7 else "unsubscribed",
                    "lists": [x.upper().lower() for x in [*on, others[i % 10]]],
                    "tags": [others[i % 3]] if i % 2 else [],
                }
            )
        yield page


def run_memory(
    contacts: int = 50_000, n_lists: int = 50, per_contact: int = 20, seed: int = 0
) -> dict[str, Any]:
    """Bytes per (member, list) pair: the snapshot read page by page, the whole plan of
    an email segment of every other member, and the peak of both (tracemalloc)."""
    from ccpandas.plan.compact import SnapshotBuilder
    from ccpandas.plan.membership import MembershipSnapshot, plan_membership_removal

    rng = np.random.default_rng(seed)
    lists = [str(uuid.UUID(int=int(x))) for x in rng.integers(1 << 60, 1 << 62, n_lists)]
    segment = pd.Series([f"User{i}@Example.com " for i in range(0, contacts, 2)])
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        builder = SnapshotBuilder()
        for page in _member_pages(contacts, lists, per_contact, seed):
            builder.extend(page)
        snap = MembershipSnapshot.from_records(lists, builder)
        del builder, page
        gc.collect()
        held_snapshot = tracemalloc.get_traced_memory()[0] - base
        plan = plan_membership_removal(segment, lists, snap)
        held, peak = (m - base for m in tracemalloc.get_traced_memory())
    finally:
        tracemalloc.stop()
    pairs = snap.n_pairs
    return {
        "contacts": contacts,
        "lists": n_lists,
        "pairs": pairs,
        "segment": len(segment),
        "removal_requests": plan.n_requests,
        "snapshot": held_snapshot / pairs,
        "whole": held / pairs,
        "peak": peak / pairs,
        # A 1M-member x 50-list snapshot (50M pairs) at these rates, in GiB.
        "gib_1m_x_50": {
            k: v * 50e6 / 2**30 for k, v in {"whole": held / pairs, "peak": peak / pairs}.items()
        },
    }


#: The audit's journal per page of 500 contacts (bytes): on 1 list, on 50 lists.
JOURNAL_AUDIT = {1: 17_000, 50: 30_000}


def _journal_account(emu: Any, n_lists: int, members: int) -> list[str]:
    """``n_lists`` new lists, each holding the same ``members`` contacts (who stay on
    their seeded lists too)."""
    acct = emu.account
    targets = [acct.create_list(f"Journal bench {n_lists}-{k}") for k in range(n_lists)]
    acct.apply_memberships("add_list_memberships", acct.contact_ids()[:members], targets)
    return targets


def _stored(db: Any, sid: str) -> tuple[int, int]:
    """The pages of a journaled read and their bytes."""
    row = db.query(
        "SELECT count(*) AS pages, sum(length(members)) AS bytes FROM snapshot_pages "
        "WHERE snapshot_id = ?",
        (sid,),
    )[0]
    return int(row["pages"]), int(row["bytes"] or 0)


def run_journal(members: int = 5_000, seed: int = 3) -> list[dict[str, Any]]:
    """The journal of real membership reads of a run, on the emulator: lists of
    ``members`` contacts (1 list, or 50 lists holding the same contacts), a segment of
    1 %, 10 % and 100 % of them by contact id and by email, planned with
    ``snapshot=True``; bytes stored per page of 500 contacts read, beside the same
    read journaling every member (as before) and the audit's figure."""
    import ccpandas
    from ccpandas.emulator import Emulator
    from ccpandas.read.snapshot import read_snapshot
    from ccpandas.store.journal import open_journal

    out = []
    with _private_data_dir():
        for n_lists in (1, 50):
            with Emulator(seed=seed, contacts=members + 500, lists=3, speed=1e6) as emu:
                targets = _journal_account(emu, n_lists, members)
                client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None)
                db = open_journal()
                _, every = read_snapshot(client, targets, journal=db, need_emails=False)
                pages, full = _stored(db, every)  # type: ignore[arg-type]
                ids = sorted(emu.account.members(targets[0]))
                rng = random.Random(seed)
                for share in (0.01, 0.1, 1.0):
                    chosen = rng.sample(ids, max(1, round(share * len(ids))))
                    for key in ("contact_id", "email"):
                        values = chosen
                        if key == "email":
                            values = [emu.account.contact(c).email for c in chosen]
                        df = pd.DataFrame({key: values})
                        plan = df.cc.plan(targets, key, client=client, snapshot=True)
                        sid = plan.membership.snapshot_id
                        n, stored = _stored(db, sid)
                        out.append(
                            {
                                "lists": n_lists,
                                "members": len(ids),
                                "share": share,
                                "key": key,
                                "pages": n,
                                "page_bytes": stored / n,
                                "every_member_page_bytes": full / pages,
                                "audit_page_bytes": JOURNAL_AUDIT[n_lists],
                            }
                        )
                client.close()
    return out


def run(quick: bool = False) -> dict[str, Any]:
    """Every part; ``quick`` uses tiny sizes and a fast emulator."""
    measured = {
        "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    if quick:
        return {
            "plan": run_plan(rows=5_000, sizes=(2_500, 10_000), overlap=1_000, repeats=1),
            "e2e": run_e2e(contacts=1_500, rate=200.0),
            "memory": run_memory(contacts=2_000),
            "journal": run_journal(members=1_000),
        }
    out = {"plan": run_plan(), "e2e": run_e2e(), "memory": run_memory(), "journal": run_journal()}
    measured["load_after"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    out["measured"] = measured
    return out


def print_table(results: dict[str, Any]) -> None:
    """Print both parts."""
    print("\n".join(markdown(results)))


def markdown(results: dict[str, Any]) -> list[str]:
    """The docs section (Markdown lines)."""
    p = results["plan"]
    lines = [
        "## Membership snapshots",
        "",
        "Written by `make bench` (`benchmarks/bench_membership.py`). An email-keyed segment "
        f"of {p['rows']:,} rows (mixed case, stray spaces) against two lists of "
        f"{p['list_sizes'][0]:,} and {p['list_sizes'][1]:,} members "
        f"({p['union_members']:,} contacts in the snapshot); "
        f"{p['segment_members']:,} of the rows "
        f"({p['segment_members'] / p['rows']:.0%}) are members.",
        "",
        "| metric | target | measured | met |",
        "|---|---|---|---|",
        f"| resolve emails + plan, CPU | < 2 s | {p['cpu_seconds']:.2f} s | "
        f"{'yes' if p['cpu_seconds'] < 2 else '**no**'} |",
        f"| removal requests / today's | <= 0.25 | {p['removal_requests']:,} / "
        f"{p['today_requests']:,} = {p['ratio']:.2f} | "
        f"{'yes' if p['ratio'] <= 0.25 else '**no**'} |",
        f"| snapshot reads | ceil(union / 500) per 25 lists | {p['snapshot_reads']:,} | yes |",
        "",
        "| mode | reads | removal requests | total requests | time at 4/s |",
        "|---|---|---|---|---|",
        f"| today (contact ids; every contact to every list) | 0 | {p['today_requests']:,} | "
        f"{p['today_requests']:,} | {p['today_seconds_at_4']:.0f} s |",
        f"| snapshot + verification (emails) | {p['snapshot_reads'] + p['verify_reads'] + 1:,} | "
        f"{p['removal_requests']:,} | {p['snapshot_requests_total']:,} | "
        f"{p['snapshot_seconds_at_4']:.0f} s |",
        "",
        "Today's mode cannot take emails at all; for a contact-id segment the snapshot costs "
        f"more requests here than it saves (the lists hold {p['union_members'] / p['rows']:.1f}x "
        "as many contacts as the segment has rows), but it is the "
        'only way to know who was a member and who really left. The `snapshot="auto"` rule '
        "for contact-id input reads the lists when the reads cost at most the removal "
        "requests today's plan would send: against these lists "
        f"({p['snapshot_reads']:,} reads) that is a segment of at least "
        f"{p['auto_break_even_contacts']:,} contacts (ceil(n/500) >= reads); email input "
        "always takes it (or one `GET /contacts?email=` per address, when fewer).",
        "",
        "End to end against the emulator at its real 4 requests/s, a smaller account, the "
        "same 20 %-members segment (counted by the emulator):",
        "",
        "| mode | segment | list members | reads | removal requests | all requests | wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results["e2e"]:
        lines.append(
            f"| {r['mode']} | {r['segment']:,} | {r['union_members']:,} | {r['reads']:,} | "
            f"{r['removal_requests']:,} | {r['requests']:,} | {r['wall_seconds']:.1f} |"
        )
    m = results.get("measured")
    if m:
        load = m.get("load_before"), m.get("load_after")
        lines.append(
            f"Measured {m['at']} (load average before / after: {load[0][0] if load[0] else '?'}"
            f" / {load[1][0] if load[1] else '?'}, 1-minute, on 2 cores shared with other work: "
            "wall times are inflated, the CPU time is steadier)."
        )
    lines.append("")
    if results.get("memory"):
        lines += memory_markdown(results["memory"], results.get("journal") or [])
    return lines


def memory_markdown(mem: dict[str, Any], journal: list[dict[str, Any]]) -> list[str]:
    """The memory subsection (Markdown lines)."""
    before, gib = MEMORY_BEFORE, mem["gib_1m_x_50"]

    def met(value: float) -> str:
        return "yes" if value <= MEMORY_TARGET else "**no**"

    lines = [
        "### Memory",
        "",
        f"A snapshot of {mem['contacts']:,} members on {mem['pairs'] // mem['contacts']} of "
        f"{mem['lists']} lists each ({mem['pairs']:,} (member, list) pairs), read page by "
        "page as a read does, then the plan of an email segment of every other member. "
        "Bytes per pair as tracemalloc counts them (Python objects and numpy arrays), "
        "beside the same measure on the version before compact snapshots (96b11bd) and "
        f"the audit's {MEMORY_AUDIT} bytes per pair:",
        "",
        "| bytes per pair | target | before | now | met |",
        "|---|---|---|---|---|",
        f"| snapshot, held | | {before['snapshot']:.0f} | {mem['snapshot']:.1f} | |",
        f"| whole plan (snapshot + plan), held | <= {MEMORY_TARGET} | {before['whole']:.0f} | "
        f"{mem['whole']:.1f} | {met(mem['whole'])} |",
        f"| peak while reading and planning | <= {MEMORY_TARGET} | {before['peak']:.0f} | "
        f"{mem['peak']:.1f} | {met(mem['peak'])} |",
        "",
        f"At these rates a 1M-member x 50-list snapshot plan (50M pairs) holds "
        f"{gib['whole']:.1f} GiB and peaks at {gib['peak']:.1f} GiB (the audit: about 10 GB).",
        "",
    ]
    if journal and "share" in journal[0]:
        lines += journal_markdown(journal)
    return lines


def journal_markdown(journal: list[dict[str, Any]]) -> list[str]:
    """The journal subsection (Markdown lines)."""
    lines = [
        "The journal of a run's membership read, per page of 500 contacts read: real "
        f"reads on the emulator of lists of {journal[0]['members']:,} contacts (1 list, or "
        "50 lists holding the same contacts, each also on its seeded lists), for a "
        "segment of 1 %, 10 % and 100 % of them, planned with `snapshot=True`. A page "
        "keeps the members the run's input selects, each as a position into the run's "
        "input (its distinct ids; for addresses, the first row of each, whose contact the "
        "run's journal keeps), and counts the others. Beside the same read journaling "
        "every member (the format before: ids as 16 bytes each) and the audit's figure:",
        "",
        "| lists | segment | input | page now | every member | audit | smaller than audit |",
        "|---|---|---|---|---|---|---|",
    ]
    for j in journal:
        ratio = j["audit_page_bytes"] / j["page_bytes"]
        lines.append(
            f"| {j['lists']} | {j['share']:.0%} | {j['key']} | {j['page_bytes']:,.0f} B | "
            f"{j['every_member_page_bytes']:,.0f} B | {j['audit_page_bytes']:,} B | "
            f"{ratio:.0f}x{'' if ratio >= 10 else ' (**< 10x**)'} |"
        )
    lines += [
        "",
        "Where the segment is a few percent of the lists the pages keep a few rows and "
        "the counts. Where it is the whole list every member is a change and every row "
        "stays, with its status and target lists: its id is then a position of 2 bytes "
        "(4 beyond 65,536 input values) instead of 16 random bytes, which is what brings "
        "that case under a tenth of the audit's page. A page of a verification keeps the "
        "run's contacts the same way, as ids. Where an address belongs to two contacts, "
        "the pages that hold the second keep 16-byte ids.",
        "",
    ]
    return lines


if __name__ == "__main__":  # pragma: no cover
    print_table(run())
