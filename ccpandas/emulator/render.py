"""JSON shapes of the records, as the V3 spec defines them.

Optional timestamps are left out (never ``null``) until they exist, as the real service
does, so every body validates against the spec's schemas. Each function takes the
emulator's :class:`~ccpandas.emulator.settings.Settings` for the shapes that vary
(timestamp precision, activity shapes); None is the defaults.

Example:
    >>> import datetime as dt
    >>> t = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    >>> tag = Tag("3fa85f64-5717-4562-b3fc-2c963f66afa6", 0, "VIP", "Contact", t, t)
    >>> tag_json(tag, contacts_count=3)["contacts_count"]
    3
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ccpandas.emulator.model import Activity, Contact, ContactList, Segment, Tag, iso
from ccpandas.emulator.settings import Settings
from ccpandas.models import ActivityState

__all__ = ["activity_json", "contact_json", "list_json", "segment_json", "tag_json"]

#: ``include=`` values of GET /contacts that the emulator fills (the others are empty).
EMPTY_SUBRESOURCES = ("custom_fields", "phone_numbers", "street_addresses", "notes")


def _stamp(settings: Settings | None) -> Any:
    seconds = settings is None or settings.timestamps == "seconds"
    return lambda value: iso(value, seconds=seconds)


def activity_json(activity: Activity, settings: Settings | None = None) -> dict[str, Any]:
    """An activity as GET /activities/{id} (and the 201 of the POSTs) show it.

    ``activity_shape="sparse"``: while ``initialized``, ``percent_done`` is 1 and
    ``status`` holds only ``list_count``; once ``completed``, there are no ``_links``.
    ``activity_errors="objects"``: each error is ``{"message": ...}``.
    """
    settings = settings or Settings()
    stamp = _stamp(settings)
    sparse = settings.activity_shape == "sparse"
    initialized = activity.state == ActivityState.INITIALIZED.value
    errors: list[Any] = list(activity.errors)
    if settings.activity_errors == "objects":
        errors = [{"message": text} for text in errors]
    status: dict[str, int] = {"list_count": len(activity.list_ids)}
    if not (sparse and initialized):
        status = {
            "items_total_count": activity.items_total,
            "items_completed_count": activity.items_completed,
            **status,
        }
    body: dict[str, Any] = {
        "activity_id": activity.activity_id,
        "state": activity.state,
        "created_at": stamp(activity.created_at),
        "updated_at": stamp(activity.updated_at or activity.created_at),
        "percent_done": 1 if sparse and initialized else activity.percent_done,
        "activity_errors": errors,
        "status": status,
    }
    if not (sparse and activity.state == ActivityState.COMPLETED.value):
        body["_links"] = {"self": {"href": f"/v3/activities/{activity.activity_id}"}}
    if activity.started_at is not None:
        body["started_at"] = stamp(activity.started_at)
    if activity.completed_at is not None:
        body["completed_at"] = stamp(activity.completed_at)
    return body


def list_json(
    lst: ContactList, membership_count: int | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """A contact list; ``membership_count`` only when asked for."""
    stamp = _stamp(settings)
    body: dict[str, Any] = {
        "list_id": lst.list_id,
        "name": lst.name,
        "description": lst.description,
        "favorite": lst.favorite,
        "created_at": stamp(lst.created_at),
        "updated_at": stamp(lst.updated_at),
    }
    if lst.deleted_at is not None:
        body["deleted_at"] = stamp(lst.deleted_at)
    if membership_count is not None:
        body["membership_count"] = membership_count
    return body


def tag_json(
    tag: Tag, contacts_count: int | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """A tag; ``contacts_count`` only with ``include_count=true``."""
    stamp = _stamp(settings)
    body: dict[str, Any] = {
        "tag_id": tag.tag_id,
        "name": tag.name,
        "tag_source": tag.tag_source,
        "created_at": stamp(tag.created_at),
        "updated_at": stamp(tag.updated_at),
    }
    if contacts_count is not None:
        body["contacts_count"] = contacts_count
    return body


def segment_json(segment: Segment, settings: Settings | None = None) -> dict[str, Any]:
    """A segment as ``GET /segments`` lists it (``SegmentMaster``)."""
    stamp = _stamp(settings)
    return {
        "name": segment.name,
        "segment_id": segment.segment_id,
        "created_at": stamp(segment.created_at),
        "edited_at": stamp(segment.edited_at),
    }


def contact_json(
    contact: Contact,
    include: Iterable[str] = (),
    list_ids: Iterable[str] = (),
    settings: Settings | None = None,
) -> dict[str, Any]:
    """A contact; ``include`` names the sub-resources to add (``list_memberships``
    takes its ids from ``list_ids``). Like the real service, it shows no top-level
    ``status`` (no ``include`` value asks for one)."""
    stamp = _stamp(settings)
    email: dict[str, Any] = {
        "address": contact.email,
        "permission_to_send": contact.permission_to_send,
        "created_at": stamp(contact.created_at),
        "updated_at": stamp(contact.updated_at),
        "opt_in_source": contact.create_source,
        "opt_in_date": stamp(contact.created_at),
        "confirm_status": "confirmed" if contact.permission_to_send == "explicit" else "off",
    }
    if contact.opt_out_at is not None:
        email["opt_out_source"] = "Contact"
        email["opt_out_date"] = stamp(contact.opt_out_at)
    body: dict[str, Any] = {
        "contact_id": contact.contact_id,
        "email_address": email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "create_source": contact.create_source,
        "created_at": stamp(contact.created_at),
        "updated_at": stamp(contact.updated_at),
    }
    if contact.deleted_at is not None:
        body["deleted_at"] = contact.deleted_at.date().isoformat()
    for name in include:
        if name == "list_memberships":
            body["list_memberships"] = list(list_ids)
        elif name == "taggings":
            body["taggings"] = list(contact.tag_ids)
        elif name in EMPTY_SUBRESOURCES:
            body[name] = []
    return body
