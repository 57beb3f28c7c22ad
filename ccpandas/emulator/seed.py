"""A deterministic synthetic account: contacts, tags and overlapping lists from a seed.

The same seed and sizes always give the same ids, names, statuses, tags, memberships
and timestamps (seeded records are dated 2021-2024, independent of the clock).

Example:
    >>> data = seed_account(seed=1, contacts=20, lists=3, tags=2)
    >>> len(data.contacts), len(data.lists), len(data.tags)
    (20, 3, 2)
    >>> data == seed_account(seed=1, contacts=20, lists=3, tags=2)
    True
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import itertools
import random

from ccpandas.emulator.model import Contact, ContactList, Segment, Tag
from ccpandas.models import ENGAGEMENT_LEVELS, MAX_LISTS_PER_CONTACT

__all__ = ["MAX_TAGS_PER_CONTACT", "SeedData", "seed_account", "uuid1"]

#: Taggings are capped at 50, as list memberships are (MAX_LISTS_PER_CONTACT).
MAX_TAGS_PER_CONTACT = 50

_EPOCH = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
_SPAN = (dt.datetime(2024, 12, 31, tzinfo=dt.UTC) - _EPOCH).total_seconds()

_FIRST = (
    "Ada", "Alan", "Amara", "Ana", "Ben", "Chen", "Chloe", "Dario", "Elena", "Emeka",
    "Farah", "Grace", "Hana", "Ivan", "Jamal", "Julia", "Kenji", "Lena", "Luis", "Maya",
    "Mohammed", "Nadia", "Noah", "Olga", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Sofia",
    "Tariq", "Uma", "Victor", "Wen", "Xavier", "Yara", "Yusuf", "Zoe",
)  # fmt: skip
_LAST = (
    "Abebe", "Baker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lopez", "Martin", "Nakamura", "Okafor", "Patel", "Quispe",
    "Rossi", "Schmidt", "Silva", "Tanaka", "Usman", "Varga", "Wang", "Xu", "Yilmaz", "Zhou",
)  # fmt: skip
_DOMAINS = ("example.com", "example.org", "example.net")
_LIST_NAMES = (
    "Newsletter", "Customers", "Prospects", "Webinar attendees", "Spring sale 2024",
    "VIP", "Donors", "Volunteers", "Annual gala", "Trial users", "Partners", "Re-engagement",
)  # fmt: skip
_TAG_NAMES = (
    "Gold card member", "Event attendee", "Imported 2023", "Lead", "Churn risk", "Donor",
    "Press", "Board", "Student", "Wholesale",
)  # fmt: skip
_TAG_SOURCES = ("Contact", "Account", "ESTY", "Shopify")
_SEGMENT_NAMES = (
    "Opened in the last 30 days", "Never clicked", "Lapsed customers", "High engagement",
    "New this quarter", "Donors over 100",
)  # fmt: skip
# (status, weight, permission_to_send)
_STATUSES = (
    ("active", 0.78, None),
    ("unsubscribed", 0.08, "unsubscribed"),
    ("pending_confirmation", 0.03, "pending_confirmation"),
    ("temp_hold", 0.02, "temp_hold"),
    ("not_set", 0.04, "not_set"),
    ("deleted", 0.05, "implicit"),
)
_ENGAGEMENT_WEIGHTS = (0.25, 0.35, 0.25, 0.15)  # unqualified, low, medium, high


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID1_SET = (0x1000 << 64) | (0x8000 << 48)


def uuid1(rng: random.Random) -> str:
    """A version-1 UUID string drawn from ``rng`` (so it is reproducible).

    The service's ids are version-1 (time-based) UUIDs; these carry the version and
    variant bits of one, with random time, clock and node fields (nothing reads them).
    Same bits as ``uuid.UUID(int=..., version=1)``, formatted directly because seeding
    100,000 contacts through ``uuid.UUID`` costs a noticeable share of the start-up.

    Example:
        >>> import uuid
        >>> uuid.UUID(uuid1(random.Random(1))).version
        1
    """
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID1_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid1_at(rng: random.Random, when: dt.datetime, node: int = 0) -> str:
    """A version-1 UUID whose time fields hold ``when`` (100 ns steps since 1582), its
    clock and node fields drawn from ``rng`` and mixed with ``node`` (48 bits): the
    service's activity ids carry their creation time and the node that made them, so
    two emulators (each its own node) never hand out the same one, even on one seed and
    clocks at the same time.

    Example:
        >>> import uuid
        >>> at = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
        >>> u = uuid.UUID(uuid1_at(random.Random(1), at))
        >>> u.version, dt.datetime(1582, 10, 15, tzinfo=dt.UTC) + dt.timedelta(
        ...     microseconds=u.time // 10) == at
        (1, True)
    """
    step = when - _GREGORIAN
    ticks = ((step.days * 86_400 + step.seconds) * 1_000_000 + step.microseconds) * 10
    timed = (ticks & 0xFFFFFFFF) << 96 | ((ticks >> 32) & 0xFFFF) << 80 | (ticks >> 48) << 64
    drawn = rng.getrandbits(128) & ((1 << 64) - 1)  # one draw, as uuid1: the stream moves alike
    drawn ^= node & ((1 << 48) - 1)
    h = f"{(timed | drawn) & _UUID_CLEAR | _UUID1_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_GREGORIAN = dt.datetime(1582, 10, 15, tzinfo=dt.UTC)


def _when(rng: random.Random, after: dt.datetime | None = None) -> dt.datetime:
    start = after or _EPOCH
    room = _SPAN - (start - _EPOCH).total_seconds()
    return start + dt.timedelta(milliseconds=int(rng.random() * max(room, 0) * 1000))


@dataclasses.dataclass
class SeedData:
    """What :func:`seed_account` makes; ``memberships`` maps list id to contact ids."""

    contacts: list[Contact]
    lists: list[ContactList]
    tags: list[Tag]
    memberships: dict[str, set[str]]
    segments: list[Segment] = dataclasses.field(default_factory=list)


def _name(pool: tuple[str, ...], i: int) -> str:
    base = pool[i % len(pool)]
    return base if i < len(pool) else f"{base} {i // len(pool) + 1}"


def seed_account(*, seed: int, contacts: int, lists: int, tags: int, segments: int = 0) -> SeedData:
    """Build the account for ``seed``; sizes are counts of each record kind."""
    if min(contacts, lists, tags, segments) < 0:
        raise ValueError("contacts, lists, tags and segments must be >= 0")
    rng = random.Random(seed)
    # The order of the draws is the account: tags, lists, contacts, then who carries
    # which tag and who is on which list.
    tag_records = _seed_tags(rng, tags)
    list_records = _seed_lists(rng, lists)
    people = _seed_contacts(rng, contacts)
    _carry_tags(rng, people, tag_records)
    # Opt-out dates and segments come from generators of their own: adding them leaves
    # every other record of the seed as it was.
    _opt_out_dates(seed, people)
    memberships = _fill_lists(rng, people, list_records)
    segment_records = _segments(seed, segments, people)
    return SeedData(people, list_records, tag_records, memberships, segment_records)


def _seed_tags(rng: random.Random, tags: int) -> list[Tag]:
    return [
        Tag(
            tag_id=uuid1(rng),
            ordinal=i,
            name=_name(_TAG_NAMES, i),
            tag_source=rng.choice(_TAG_SOURCES),
            created_at=(created := _when(rng)),
            updated_at=_when(rng, created),
        )
        for i in range(tags)
    ]


def _seed_lists(rng: random.Random, lists: int) -> list[ContactList]:
    return [
        ContactList(
            list_id=uuid1(rng),
            ordinal=i,
            name=_name(_LIST_NAMES, i),
            description=f"{_name(_LIST_NAMES, i)} (seeded by the ccpandas emulator)",
            favorite=rng.random() < 0.2,
            created_at=(created := _when(rng)),
            updated_at=_when(rng, created),
        )
        for i in range(lists)
    ]


def _seed_contacts(rng: random.Random, contacts: int) -> list[Contact]:
    """``contacts`` people, their statuses and engagement drawn by weight."""
    # Hot loop for large accounts: one rng.random() per choice with precomputed
    # cumulative weights (rng.choices rebuilds them on every call).
    status_cum = list(itertools.accumulate(w for _, w, _ in _STATUSES))
    level_cum = list(itertools.accumulate(_ENGAGEMENT_WEIGHTS))
    rand = rng.random
    people: list[Contact] = []
    for i in range(contacts):
        first = _FIRST[int(rand() * len(_FIRST))]
        last = _LAST[int(rand() * len(_LAST))]
        status, _, permission = _STATUSES[
            min(bisect.bisect(status_cum, rand() * status_cum[-1]), len(_STATUSES) - 1)
        ]
        if permission is None:
            permission = "explicit" if rand() < 0.6 else "implicit"
        level = ENGAGEMENT_LEVELS[
            min(bisect.bisect(level_cum, rand() * level_cum[-1]), len(ENGAGEMENT_LEVELS) - 1)
        ]
        offset = rand() * _SPAN
        created = _EPOCH + dt.timedelta(seconds=round(offset, 3))
        updated = created + dt.timedelta(seconds=round(rand() * (_SPAN - offset), 3))
        people.append(
            Contact(
                contact_id=uuid1(rng),
                ordinal=i,
                email=f"{first}.{last}{i}@{_DOMAINS[i % len(_DOMAINS)]}".lower(),
                first_name=first,
                last_name=last,
                status=status,
                permission_to_send=permission,
                engagement_level=level,
                tag_ids=(),
                create_source="Contact" if rand() < 0.7 else "Account",
                created_at=created,
                updated_at=updated,
                opt_out_at=updated if status == "unsubscribed" else None,
                deleted_at=updated if status == "deleted" else None,
            )
        )
    return people


def _carry_tags(rng: random.Random, people: list[Contact], tag_records: list[Tag]) -> None:
    """Each tag is carried by a share of the contacts (popularity varies by tag)."""
    carried: list[list[str]] = [[] for _ in range(len(people))]
    for tag in tag_records:
        share = rng.uniform(0.03, 0.3)
        for idx in sorted(rng.sample(range(len(people)), round(share * len(people)))):
            if len(carried[idx]) < MAX_TAGS_PER_CONTACT:
                carried[idx].append(tag.tag_id)
    for person, tag_ids in zip(people, carried, strict=True):
        person.tag_ids = tuple(tag_ids)


def _fill_lists(
    rng: random.Random, people: list[Contact], list_records: list[ContactList]
) -> dict[str, set[str]]:
    """The members of each list: the first ten are large and overlap heavily; later
    ones are small, so a thousand-list account still keeps each contact under the
    50-list cap."""
    contacts = len(people)
    per_contact = [0] * contacts
    memberships: dict[str, set[str]] = {}
    for i, lst in enumerate(list_records):
        share = rng.uniform(0.08, 0.45) if i < 10 else rng.uniform(0.002, 0.02)
        members: set[str] = set()
        for idx in rng.sample(range(contacts), round(share * contacts)):
            if people[idx].status != "deleted" and per_contact[idx] < MAX_LISTS_PER_CONTACT:
                per_contact[idx] += 1
                members.add(people[idx].contact_id)
        memberships[lst.list_id] = members
    return memberships


def _opt_out_dates(seed: int, people: list[Contact]) -> None:
    """Date each unsubscribed contact's opt-out some time after it was created, apart
    from its ``updated_at`` (an opt-out does not change it in the real service), from a
    generator of its own so every other record of the seed stays as it was."""
    rng = random.Random(f"{seed}:opt-outs")
    for person in people:
        if person.status == "unsubscribed":
            person.opt_out_at = _when(rng, person.created_at)


def _segments(seed: int, count: int, people: list[Contact]) -> list[Segment]:
    """Segments with ids 1, 2, ... over the contacts that are not deleted.

    Drawn from their own generator, so adding segments leaves every other record of the
    seed as it was.
    """
    rng = random.Random(f"{seed}:segments")
    live = [c.contact_id for c in people if c.status != "deleted"]
    out = []
    for i in range(count):
        share = rng.uniform(0.05, 0.3)
        created = _when(rng)
        out.append(
            Segment(
                segment_id=i + 1,
                name=_name(_SEGMENT_NAMES, i),
                contact_ids=frozenset(rng.sample(live, round(share * len(live)))),
                created_at=created,
                edited_at=_when(rng, created),
            )
        )
    return out
