"""Smoke test of the benchmark suite (``make bench``) at tiny sizes.

It checks that every benchmark runs, that ccpandas and the naive baseline are both
measured, and that the results, the chart and the page are written. No timing is
asserted: speed is for ``make bench`` to measure, not for tests to guess.
"""

from __future__ import annotations

import json
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` is a folder of the repository, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as cli  # noqa: E402
from benchmarks import bench_e2e, bench_import, bench_plan, chart, report  # noqa: E402


def test_plan_benchmark_measures_both_planners_on_every_column_kind() -> None:
    rows = bench_plan.run(sizes=(2_000,), repeats=1)
    assert [r["column"] for r in rows] == list(bench_plan.KINDS)
    for r in rows:
        if r.get("skipped"):
            assert r["column"] == "arrow" and not bench_plan.arrow_available()
            continue
        assert r["agree"], r  # both planners found the same statuses and batches
        assert (r["contacts"], r["invalid"], r["duplicates"]) == (1_700, 100, 200)
        assert r["requests"] == 4  # ceil(1,700 / 500) x 1 list group
        for key in ("ccpandas_seconds", "naive_seconds", "input_bytes"):
            assert r[key] > 0, key
        assert r["ccpandas_peak_bytes"] > 0 and r["naive_peak_bytes"] > 0


def test_plan_data_has_the_promised_mix() -> None:
    values = bench_plan.make_values(10_000, seed=3)
    statuses = bench_plan.naive_plan(bench_plan.make_frame(values, "object"), ["x"])["statuses"]
    counts = {s: statuses.count(s) for s in set(statuses)}
    assert counts == {"planned": 8_500, "duplicate": 1_000, "invalid_id": 400, "missing": 100}


def test_e2e_benchmark_runs_ccpandas_and_the_naive_script_on_fresh_emulators() -> None:
    rows = bench_e2e.run([(1_200, 3), (600, 60)], rate=40.0, poll_every=0.2)
    assert [(r["runner"], r["contacts"], r["lists"]) for r in rows] == [
        ("ccpandas", 1_200, 3),
        ("naive", 1_200, 3),
        ("ccpandas", 600, 60),
        ("naive", 600, 60),
    ]
    for r in rows:
        assert r["ok"], r["runner"]  # every membership is gone
        assert r["memberships_before"] > 0 and r["memberships_after"] == 0
        assert r["minimum_requests"] == (3 if r["lists"] == 3 else 4)
        assert r["removal_requests"] == r["minimum_requests"]
        assert r["activities"] == r["minimum_requests"]
        # A fresh emulator per run: the log holds this run's requests only.
        assert len(r["request_offsets"]) == r["total_requests"] == len(r["request_kinds"])
        sent = r["removal_requests"] + r["poll_requests"] + r["read_requests"]
        assert r["total_requests"] == sent
        for key in ("wall_seconds", "achieved_rate", "rate_ratio", "wall_ratio"):
            assert r[key] > 0, key
    naive = [r for r in rows if r["runner"] == "naive"]
    assert all(r["poll_requests"] >= r["activities"] for r in naive)  # one GET each at least


def test_import_benchmark_times_both_and_lists_heavy_modules() -> None:
    out = bench_import.run(repeats=1, warm_up=False)
    assert set(out["seconds"]) == {"python", "pandas", "ccpandas"}
    assert all(v > 0 for v in out["seconds"].values())
    assert isinstance(out["heavy_imported"], list)
    assert "ccpandas" in out["ccpandas_modules"]


def test_chart_is_valid_svg_with_one_line_per_run() -> None:
    runs = [
        {
            "runner": name,
            "request_offsets": [0.1 * i * k for i in range(20)],
            "request_kinds": ["post"] * 18 + ["poll"] * 2,
            "total_requests": 20,
            "wall_seconds": 2.0 * k,
        }
        for name, k in (("ccpandas", 1), ("naive", 2))
    ]
    svg = chart.rate_chart_svg(runs, limit=4.0, title="t & <t>")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}polyline")) == 2
    assert "t &amp; &lt;t&gt;" in svg


def test_targets_are_fixed_and_misses_are_explained() -> None:
    e2e = {
        "runner": "ccpandas",
        "contacts": 500,
        "lists": 1,
        "removal_requests": 1,
        "minimum_requests": 1,
        "removal_ratio": 1.0,
        "polls_per_activity": 1.0,
        "poll_requests": 1,
        "activities": 1,
        "throttled": 0,
        "rate_ratio": 1.0,
        "achieved_rate": 4.0,
        "wall_ratio": 1.0,
        "wall_seconds": 0.5,
        "total_requests": 2,
    }
    verdicts = report.check_targets({"e2e": [e2e]})
    missed = [v["metric"] for v in verdicts if not v["met"]]
    assert missed == ["poll requests per activity"]
    assert len(report.notes(verdicts)) == 1


def test_cli_quick_run_writes_results_chart_and_page(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    page = tmp_path / "docs" / "benchmarks.md"
    charts = tmp_path / "docs" / "_static"
    # The benchmarks themselves are covered above; here the e2e section (the one with
    # charts) goes through the command line into the files.
    code = cli.main(
        [
            "--quick",
            "--only",
            "e2e",
            "--results",
            str(results),
            "--docs",
            str(page),
            "--charts",
            str(charts),
        ]
    )
    assert code == 0
    data = json.loads(results.read_text())
    assert {"machine", "e2e", "targets"} <= set(data)
    assert {v["benchmark"] for v in data["targets"]} == {"e2e"}
    assert {"cores", "python", "pandas"} <= set(data["machine"])
    svgs = sorted(p.name for p in charts.glob("bench-e2e-*.svg"))
    assert svgs == ["bench-e2e-1500x3.svg", "bench-e2e-600x60.svg"]
    text = page.read_text()
    assert "## Targets" in text and "## End to end" in text and "naive" in text
    assert "_static/bench-e2e-1500x3.svg" in text


@pytest.mark.parametrize("bad", ["nope"])
def test_unknown_column_kind_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown column kind"):
        bench_plan.make_frame(bench_plan.make_values(10), bad)


@pytest.fixture(scope="module")
def membership_quick() -> dict[str, Any]:
    """One ``bench_membership.run(quick=True)`` for the module: its journal part (the
    costly one, about 4 s of CPU) is the one the journal test checks too."""
    from benchmarks import bench_membership

    return bench_membership.run(quick=True)


def test_membership_benchmark_runs_both_parts_at_tiny_sizes(
    membership_quick: dict[str, Any],
) -> None:
    from benchmarks import bench_membership

    r = membership_quick
    p = r["plan"]
    assert p["removal_requests"] <= 0.25 * p["today_requests"]
    assert p["snapshot_reads"] == -(-p["union_members"] // 500)
    modes = [row["mode"] for row in r["e2e"]]
    assert len(modes) == 2 and r["e2e"][0]["reads"] == 0 and r["e2e"][1]["reads"] > 0
    assert r["e2e"][1]["removal_requests"] <= r["e2e"][0]["removal_requests"]
    assert "## Membership snapshots" in "\n".join(bench_membership.markdown(r))


def test_minimum_activities_counts_contacts_not_pairs() -> None:
    from benchmarks.bench_sync import minimum_activities

    # "a" lacks l2, "b" lacks l1: one add request serves both; "c" leaves.
    assert minimum_activities({"a", "b"}, [{"a", "c"}, {"b"}]) == (2, 2, 1)
    many = {f"c{i}" for i in range(1_001)}
    assert minimum_activities(many, [set()]) == (3, 1_001, 0)
    assert minimum_activities(set(), [many]) == (3, 0, 1_001)


def test_sync_benchmark_counts_every_request_against_the_minimum(tmp_path: Path) -> None:
    from benchmarks import bench_sync

    rows = bench_sync.run(contacts=1_500, newcomers=60, rate=100.0)
    assert [r["by"] for r in rows] == ["email", "contact_id"]
    for r in rows:
        assert r["ok"], r["by"]  # each list holds exactly the segment's contacts
        assert r["adds"] > 0 and r["removes"] > 0
        assert r["activities"] == r["add_requests"] + r["remove_requests"]
        assert r["activities"] == r["minimum_activities"]
        assert r["verify_reads"] > 0 and r["reads_before"] > 0 and r["throttled"] == 0
        parts = ("activities", "list_lookups", "reads_before", "polls", "verify_reads")
        assert sum(r[k] for k in parts) <= r["total_requests"]
    # By email the newcomers' addresses cost reads that contact ids do not.
    assert rows[0]["reads_before"] > rows[1]["reads_before"]
    text = "\n".join(bench_sync.markdown(rows, "Measured now."))
    assert "## Sync" in text and "Measured now." in text


def test_grid_best_possible_takes_the_cheaper_strategy() -> None:
    from benchmarks.bench_grid import best_possible

    # 2 lists of 1,000 (the same members), 600 of them in the segment, by id.
    same = [range(1_000), range(1_000)]
    best = best_possible(same, range(600), "contact_id")
    # read: listing + 2 pages (one pass) + 2 sends (one group) + poll + 1 page after
    assert (best["reads"], best["sends"], best["verify"]) == (2, 2, 1)
    assert best["read"] == 1 + 2 + 2 + 1 + 1 and best["blind"] == 1 + 2 + 1
    assert best["best"] == 4  # blind is cheaper: nobody outside the segment is sent
    # By email there is no blind send, and 3 lookups beat 2 pages only when fewer.
    assert best_possible(same, range(3), "email")["reads"] == 2
    assert best_possible(same, range(1), "email")["reads"] == 1
    # 60 lists are two groups of 50 and three passes of 25.
    sixty = [range(i * 10, i * 10 + 10) for i in range(60)]
    best = best_possible(sixty, range(600), "email")
    assert (best["reads"], best["sends"], best["verify"]) == (3, 2, 2)


def test_grid_examples_hold() -> None:
    import doctest

    from benchmarks import bench_grid

    outcome = doctest.testmod(bench_grid)
    assert outcome.attempted >= 6 and outcome.failed == 0


def test_grid_layout_caps_a_contact_at_50_lists() -> None:
    from benchmarks.bench_grid import layout

    members, union = layout(60, 100, "full")
    assert union == 200 and len(members) == 60
    per_contact = np.bincount(np.concatenate(members))
    assert per_contact.max() == 50 and per_contact.sum() == 6_000
    assert layout(2, 10, "none")[1] == 20 and layout(2, 10, "half")[1] == 15


def test_grid_quick_run_counts_every_request_against_the_best(tmp_path: Path) -> None:
    from benchmarks import bench_grid

    results, page = tmp_path / "results.json", tmp_path / "benchmarks.md"
    args = ["--quick", "--only", "grid", "--results", str(results), "--docs", str(page)]
    assert cli.main([*args, "--charts", str(tmp_path)]) == 0
    data = json.loads(results.read_text())
    rows = data["grid"]
    assert len(rows) == 8
    for r in rows:
        assert r["exact"] and r["result_ok"], r  # the segment left, nobody else did
        parts = ("listing", "reads", "sends", "polls", "verify", "other")
        assert sum(r[f"sent_{k}"] for k in parts) == r["sent_total"]
        assert r["sent_total"] >= r["best_best"] > 0 and r["sent_throttled"] == 0
        assert r["plan_total"] is not None and r["plan_ratio"] > 0
    # Every choice of snapshot="auto" ran: a blind send, a list read, email lookups.
    assert {r["choice"] for r in rows} >= {"blind", "snapshot", "email lookups"}
    verdicts = [v for v in data["targets"] if v["benchmark"] == "grid"]
    assert verdicts == bench_grid.targets(rows)
    assert verdicts[-1]["metric"] == "segment removed, nobody else, result ok"
    assert verdicts[-1]["met"]
    text = page.read_text()
    assert "## Requests against the best possible" in text and "**The best possible**" in text
    assert text.count("\n| 8 x 600 half |") == 4  # one row per cell of 8 lists


def test_grid_shows_an_account_it_left_out() -> None:
    from benchmarks import bench_grid

    grid = {"lists": (60,), "size": (10_000,), "overlap": ("none",), "share": (1.0,)}
    rows = bench_grid.run({**grid, "by": ("contact_id",)})  # 600,000 contacts: not built
    assert rows == [
        {
            "lists": 60,
            "size": 10_000,
            "overlap": "none",
            "union": 600_000,
            "skipped": "600,000 contacts on the lists (over 100,000)",
        }
    ]
    assert bench_grid.targets(rows) == []
    assert "not run: 600,000 contacts" in "\n".join(bench_grid.markdown(rows))


def test_membership_benchmark_measures_bytes_per_pair_and_per_journal_page(
    membership_quick: dict[str, Any],
) -> None:
    from benchmarks import bench_membership

    mem = bench_membership.run_memory(contacts=1_000)
    assert mem["pairs"] == 20 * 1_000  # 20 target lists each (the 21st is no target)
    assert 0 < mem["snapshot"] < mem["whole"] <= mem["peak"]
    pages = membership_quick["journal"]  # run_journal(members=1_000), as quick runs it
    assert [(p["lists"], p["share"], p["key"]) for p in pages][:2] == [
        (1, 0.01, "contact_id"),
        (1, 0.01, "email"),
    ]
    assert len(pages) == 12 and {p["lists"] for p in pages} == {1, 50}
    for p in pages:
        # Real pages of a run: smaller than every member's, and a small segment's
        # pages hold little more than the counts.
        assert 0 < p["page_bytes"] < p["every_member_page_bytes"]
        assert p["pages"] == 2 * math.ceil(p["lists"] / 25)  # 25 lists a pass
        if p["share"] <= 0.1:
            assert p["page_bytes"] * 10 < p["audit_page_bytes"]
    text = "\n".join(bench_membership.memory_markdown(mem, pages))
    assert "### Memory" in text and "| 50 | 100% | email |" in text
