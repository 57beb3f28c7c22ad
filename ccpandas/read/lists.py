"""The account's lists, read once: which target lists are active lists of this account.

One ``GET /contact_lists?status=all&include_membership_count=all`` (a page holds
1,000 lists, the most an account has) gives every list with its name, its member
count and whether it was deleted (``deleted_at``). That one read resolves list names,
refuses list ids that are not an active list of the account (a typo, a deleted list,
another account's list: changing them would do nothing and report every row
``not_a_member``) and gives the sizes a membership snapshot is planned with.

Example:
    >>> lists = read_lists(client)  # doctest: +SKIP
    >>> check_targets(["Newsletter"], lists)  # doctest: +SKIP
    ('2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f',)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ccpandas.errors import PlanError
from ccpandas.plan.ids import PLANNED, check_ids
from ccpandas.plan.planner import list_values, resolve_list_ids

__all__ = ["ListInfo", "Targets", "check_targets", "read_lists"]


@dataclass(frozen=True)
class ListInfo:
    """A list of the account (``GET /contact_lists``): its name, member count, and
    whether it was deleted."""

    list_id: str
    name: str
    members: int
    deleted: bool = False


@dataclass(frozen=True)
class Targets:
    """Target lists as resolved: their ``ids`` in the order given, and the account's
    ``lists`` they were checked against (None: planned offline, not checked), and the
    requests that listing ``spent`` (retries included: the first plan of them counts them).

    Example:
        >>> Targets(("2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f",)).checked
        False
    """

    ids: tuple[str, ...]
    lists: Mapping[str, ListInfo] | None = None
    spent: int = field(default=0, compare=False)
    # Whether a plan counted ``spent`` already: the listing was sent once, so a second
    # plan of these targets (and its run) must not claim it again.
    _claimed: list[bool] = field(default_factory=list, init=False, compare=False, repr=False)

    def unclaimed(self) -> int:
        """``spent``, until a plan claimed it (:meth:`claim`); 0 after, and unchecked."""
        return 0 if self._claimed or self.lists is None else self.spent

    def claim(self) -> None:
        """Say that a plan made of these targets counted their listing."""
        self._claimed.append(True)

    @property
    def checked(self) -> bool:
        """Whether the ids were checked against the account's lists."""
        return self.lists is not None


def read_lists(client: Any) -> dict[str, ListInfo]:
    """Every list of the account, active and deleted, by lower-case id: one
    ``GET /contact_lists`` listing (paged when an account has more than 1,000).

    Example:
        >>> read_lists(client)[newsletter_id].members  # doctest: +SKIP
        1331
    """
    out: dict[str, ListInfo] = {}
    params = {"include_membership_count": "all", "limit": 1000, "status": "all"}
    for item in client.paginate("/contact_lists", "lists", params):
        lid = str(item.get("list_id", "")).lower()
        name = str(item.get("name", lid))
        members = int(item.get("membership_count") or 0)
        out[lid] = ListInfo(lid, name, members, deleted=bool(item.get("deleted_at")))
    return out


def check_targets(
    values: Sequence[str], lists: Mapping[str, ListInfo], argument: str = "list_ids"
) -> tuple[str, ...]:
    """The list ids of ``values`` (list UUIDs and exact names), each an *active* list
    in ``lists`` (:func:`read_lists`); pure.

    A name matches active lists only: a name only a deleted list has is refused saying
    so (a list deleted then re-created under its name means the new one). An id that
    is not an active list of the account (a typo, a deleted list, another account's
    list) is a :class:`~ccpandas.errors.PlanError` naming it: sending to it would
    change nothing and report every row ``not_a_member``.

    Example:
        >>> lists = {"2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f": ListInfo(
        ...     "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f", "Newsletter", 3)}
        >>> check_targets(["Newsletter"], lists)
        ('2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f',)
        >>> check_targets(["7c6b5a4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"], lists)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ccpandas.errors.PlanError: list_ids: list 7c6b5a4d-... is not a list of this account ...
    """
    values = list(list_values(values, argument))
    active = [i for i in lists.values() if not i.deleted]
    frame = pd.DataFrame(
        {"list_id": [i.list_id for i in active], "name": [i.name for i in active]}, dtype=object
    )
    checked = check_ids(pd.Series(values, dtype=object))
    known = set(frame["name"])
    unknown = [v for v, s in zip(values, checked.status, strict=True) if s != PLANNED]
    gone = [i for i in lists.values() if i.deleted and i.name in set(unknown) - known]
    if gone:
        by_name: dict[str, list[str]] = {}
        for info in gone:
            by_name.setdefault(info.name, []).append(info.list_id)
        parts = [f"{n!r} (deleted list {', '.join(ids)})" for n, ids in by_name.items()]
        raise PlanError(
            f"no active list named {', '.join(parts)}: only a deleted list has that "
            "name, and a deleted list cannot be changed. Nothing was sent. Restore the "
            "list in Constant Contact, or name an active list (read_contact_lists() "
            "shows them).",
            values=list(by_name),
        )
    ids = resolve_list_ids(values, frame)
    _refuse_inactive(ids, lists, argument)
    return ids


def _refuse_inactive(ids: Sequence[str], lists: Mapping[str, ListInfo], argument: str) -> None:
    """A PlanError naming every id that is not an active list of the account."""
    bad = [i for i in dict.fromkeys(ids) if i not in lists or lists[i].deleted]
    if not bad:
        return
    parts = []
    for lid in bad[:10]:
        info = lists.get(lid)
        if info is None:
            parts.append(f"list {lid} is not a list of this account (a typo, or another account's)")
        else:
            parts.append(f"list {lid} ({info.name!r}) was deleted")
    more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
    raise PlanError(
        f"{argument}: {'; '.join(parts)}{more}. Nothing was sent: changing it would "
        "change no membership. read_contact_lists() shows the account's active lists.",
        values=bad,
    )
