"""The *vectorised* pandas baseline for planning, and the data it is measured on.

What a good pandas user writes to plan a removal, with no per-row Python: strip, lower,
validate with a regex (``str.fullmatch``, run by Arrow on Arrow-backed strings), dedupe
(``duplicated``), merge against the snapshot's member table (one row per (contact,
list) pair, as ``json_normalize`` + ``explode`` give it), and chunk each list's
contacts into requests of 500. The text is made Arrow-backed first
(``string[pyarrow]``), as pandas 3 reads a CSV anyway: the pandas string methods are
then Arrow compute kernels.

Both planners get the same frame and are checked to agree on every row's status, and
(with a snapshot) on the (contact, list) pairs that leave. Their request counts can
differ: the baseline sends per list, ccpandas groups contacts by their exact set of
memberships (the same or fewer requests).

Example:
    >>> data = make_email_case(4_000, seed=1)
    >>> out = pandas_plan_emails(data.frame, data.members)
    >>> sorted(set(out["status"].tolist()))
    ['duplicate', 'invalid_email', 'missing', 'not_a_member', 'planned']
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "EMAIL_PATTERN",
    "UUID_PATTERN",
    "Case",
    "make_email_case",
    "make_id_case",
    "pandas_plan_emails",
    "pandas_plan_ids",
]

#: The same patterns ccpandas checks against (see ccpandas.plan.ids / membership).
UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: ccpandas' address pattern with ``\s`` spelled out as RE2 reads it: pandas hands a
#: pattern with ``\s`` to Python's ``re``, one call per row, and this baseline is to be
#: as fast as pandas can be.
EMAIL_PATTERN = r"[^@ \t\n\f\r]+@[^@ \t\n\f\r]+\.[^@ \t\n\f\r.]+"
CONTACTS_PER_REQUEST = 500
#: Three target lists, as in the per-row benchmark.
LIST_IDS = (
    "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f",
    "7f3c2b1a-0e9d-4c8b-a7f6-5e4d3c2b1a09",
    "c0ffee00-1234-4abc-8def-0123456789ab",
)
_TEXT = "string[pyarrow]"


# -- the baseline ----------------------------------------------------------------------
def _text(values: pd.Series) -> pd.Series:
    """Arrow-backed text (what pandas 3 reads a CSV as): the str methods run in C++."""
    if getattr(values.dtype, "storage", None) == "pyarrow" or isinstance(
        values.dtype, pd.ArrowDtype
    ):
        return values
    return values.astype(_TEXT)


def _chunks(contacts: pd.Series | None, members: pd.DataFrame | None, lists: Sequence[str]) -> int:
    """Requests of 500: every contact to every list without a snapshot, else per list
    its member contacts (the removal requests are counted, their bodies built)."""
    n = 0
    if members is None:
        assert contacts is not None
        ids = contacts.to_numpy()
        bodies = [ids[i : i + CONTACTS_PER_REQUEST] for i in range(0, len(ids), 500)]
        return len(bodies) * math.ceil(len(lists) / 50)
    for _, group in members.groupby("list_id", sort=False, observed=True)["contact_id"]:
        ids = group.to_numpy()
        n += len([ids[i : i + CONTACTS_PER_REQUEST] for i in range(0, len(ids), 500)])
    return n


def pandas_plan_ids(
    df: pd.DataFrame,
    list_ids: Sequence[str],
    members: pd.DataFrame | None = None,
    column: str = "contact_id",
) -> dict[str, Any]:
    """Contact ids, vectorised: per-row ``status`` (planned / invalid_id / missing /
    duplicate, and not_a_member with a ``members`` table), the ``leaving`` pairs
    (with a table) and the ``requests``.

    Example:
        >>> ids = ["8B54D1F4-5B0E-11EE-8C99-0242AC120002 ", "oops", None,
        ...        "8b54d1f4-5b0e-11ee-8c99-0242ac120002"]
        >>> pandas_plan_ids(pd.DataFrame({"contact_id": ids}), LIST_IDS)["status"].tolist()
        ['planned', 'invalid_id', 'missing', 'duplicate']
    """
    key = _text(df[column]).str.strip().str.lower()
    missing = (key.isna() | (key == "")).fillna(True).to_numpy(dtype=bool)
    valid = key.str.fullmatch(UUID_PATTERN).fillna(False).to_numpy(dtype=bool)
    dup = valid & key.duplicated().to_numpy()
    first = valid & ~dup
    if members is None:
        status = np.select(
            [missing, ~valid, dup], ["missing", "invalid_id", "duplicate"], "planned"
        )
        return {"status": status, "leaving": None, "requests": _chunks(key[first], None, list_ids)}
    segment = pd.DataFrame({"row": np.flatnonzero(first), "contact_id": key[first].array})
    leaving = segment.merge(members[["contact_id", "list_id"]], on="contact_id")
    return _statuses(missing, valid, dup, leaving, "invalid_id", list_ids)


def pandas_plan_emails(
    df: pd.DataFrame, members: pd.DataFrame, column: str = "email"
) -> dict[str, Any]:
    """Email addresses, vectorised, against the snapshot's ``members`` (columns
    ``contact_id``, ``email``, ``list_id``): per-row ``status`` (planned /
    invalid_email / missing / duplicate / not_a_member), the ``leaving`` pairs
    (contact_id, list_id) and the removal ``requests``."""
    stripped = _text(df[column]).str.strip()
    missing = (stripped.isna() | (stripped == "")).fillna(True).to_numpy(dtype=bool)
    key = stripped.str.lower()
    # ccpandas' address check: the pattern, and no "mailto:" link.
    valid = (key.str.fullmatch(EMAIL_PATTERN) & ~key.str.startswith("mailto:")).fillna(False)
    valid = valid.to_numpy(dtype=bool)
    dup = valid & key.duplicated().to_numpy()
    first = valid & ~dup
    table = members.assign(email=_text(members["email"]).str.strip().str.lower())
    segment = pd.DataFrame({"row": np.flatnonzero(first), "email": key[first].array})
    leaving = segment.merge(table[["email", "contact_id", "list_id"]], on="email")
    return _statuses(missing, valid, dup, leaving, "invalid_email", LIST_IDS)


def _statuses(
    missing: np.ndarray,
    valid: np.ndarray,
    dup: np.ndarray,
    leaving: pd.DataFrame,
    invalid: str,
    list_ids: Sequence[str],
) -> dict[str, Any]:
    """Per-row statuses given the merged pairs (``row``: the row that named them)."""
    found = np.zeros(len(missing), dtype=bool)
    found[leaving["row"].to_numpy()] = True
    status = np.select(
        [missing, ~valid, dup, ~found],
        ["missing", invalid, "duplicate", "not_a_member"],
        "planned",
    )
    pairs = leaving[["contact_id", "list_id"]]
    return {"status": status, "leaving": pairs, "requests": _chunks(None, pairs, list_ids)}


# -- the data ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark case: the ``frame`` to plan, the ``snapshot`` of the target lists
    (a :class:`~ccpandas.plan.membership.MembershipSnapshot`, built from the records a
    read gives) and the same as the baseline's ``members`` table (one row per
    (contact, list) pair, as ``json_normalize`` and ``explode`` give it)."""

    frame: pd.DataFrame
    snapshot: Any
    members: pd.DataFrame


def _hex_words(n: int, width: int, rng: np.random.Generator) -> np.ndarray:
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = digits[rng.integers(0, 16, size=(n, width), dtype=np.uint8)]
    return chars.view(f"S{width}").ravel().astype(str)


def _member_lists(n: int, rng: np.random.Generator) -> list[tuple[str, ...]]:
    """Each member on one to three of the target lists."""
    combos = [LIST_IDS[:1], LIST_IDS[1:2], LIST_IDS[2:], LIST_IDS[:2], LIST_IDS[1:], LIST_IDS]
    pick = rng.choice(len(combos), size=n, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.1])
    return [combos[k] for k in pick.tolist()]


def _case(
    members_ids: np.ndarray, emails: np.ndarray, lists: list[tuple[str, ...]], frame: pd.DataFrame
) -> Case:
    from ccpandas.plan.membership import MembershipSnapshot

    snapshot = MembershipSnapshot.from_records(
        LIST_IDS,
        (
            {"contact_id": c, "email": e, "status": "active", "lists": ls, "tags": ()}
            for c, e, ls in zip(members_ids.tolist(), emails.tolist(), lists, strict=True)
        ),
    )
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = [x for ls in lists for x in ls]
    members = pd.DataFrame(
        {
            "contact_id": np.repeat(members_ids, lengths),
            "email": np.repeat(emails, lengths),
            "list_id": pd.Categorical(flat, categories=list(LIST_IDS)),
        }
    )
    return Case(frame, snapshot, members)


def _mix(
    n: int, member_values: np.ndarray, other: np.ndarray, bad: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``n`` rows: half members, 34 % others, 10 % repeats of them, 4 % bad, 1 % None."""
    n_missing, n_bad, n_dup = round(n * 0.01), round(n * 0.04), round(n * 0.10)
    n_members = n // 2
    n_other = n - n_members - n_missing - n_bad - n_dup
    unique = np.concatenate([member_values[:n_members], other[:n_other]])
    dups = unique[rng.integers(0, len(unique), size=n_dup)]
    values = np.concatenate([unique, dups, bad[:n_bad], np.full(n_missing, None, dtype=object)])
    return values[rng.permutation(n)]


def make_email_case(n: int, seed: int = 0, dtype: str = "str") -> Case:
    """``n`` email rows against a snapshot of ``n // 2`` members (half the rows are
    members, in mixed case and with stray spaces; 10 % repeats, 4 % not addresses,
    1 % missing), the column of ``dtype``."""
    rng = np.random.default_rng(seed)
    m = max(n // 2, 1)
    local = _hex_words(m + n, 10, rng)
    domains = np.array(["example.com", "Example.org", "mail.example.net", "corp.example"])
    emails = np.char.add(np.char.add(local, "@"), domains[rng.integers(0, 4, m + n)])
    emails = emails.astype(object)
    members_emails, others = emails[:m], emails[m:]
    # Exported the way CRMs export: a third upper case, a third with spaces.
    shown = members_emails[rng.permutation(m)]
    third = np.arange(m) % 3
    shown[third == 0] = np.char.upper(shown[third == 0].astype(str)).astype(object)
    shown[third == 1] = np.char.add(np.char.add(" ", shown[third == 1].astype(str)), " ")
    k = max(round(n * 0.04), 3)
    bad = np.empty(k, dtype=object)
    bad[:] = [("mailto:a@b.co", "no-at-sign.example.com", "two words@x.com")[i % 3] + str(i)
              for i in range(k)]  # fmt: skip
    values = _mix(n, shown, others, bad, rng)
    ids = _uuid_strings(m, rng)
    frame = pd.DataFrame({"email": pd.Series(values, dtype=_dtype(dtype))})
    return _case(ids, members_emails, _member_lists(m, rng), frame)


def _uuid_strings(n: int, rng: np.random.Generator) -> np.ndarray:
    digits = _hex_words(n, 32, rng)
    return np.array(
        [f"{d[:8]}-{d[8:12]}-4{d[13:16]}-a{d[17:20]}-{d[20:]}" for d in digits], dtype=object
    )


def make_id_case(n: int, seed: int = 0, dtype: str = "str") -> Case:
    """``n`` contact-id rows against a snapshot of ``n // 2`` members (half the rows),
    with the same mix as :func:`make_email_case`."""
    rng = np.random.default_rng(seed)
    m = max(n // 2, 1)
    ids = _uuid_strings(m + n, rng)
    k = max(round(n * 0.04), 3)
    bad = np.array([f"not-an-id-{i}" for i in range(k)], dtype=object)
    values = _mix(n, ids[:m][rng.permutation(m)], ids[m:], bad, rng)
    frame = pd.DataFrame({"contact_id": pd.Series(values, dtype=_dtype(dtype))})
    return _case(
        ids[:m],
        np.array([f"c{i}@example.com" for i in range(m)], dtype=object),
        _member_lists(m, rng),
        frame,
    )


def _dtype(kind: str) -> Any:
    return {"object": object, "str": "str", "arrow": _TEXT}[kind]
