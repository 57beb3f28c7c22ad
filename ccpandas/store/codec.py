"""A Series (values, dtype, index, name) as plain JSON, for the run journal.

The journal keeps the id column of a run exactly as it was given, so planning it again
gives the very same rows: strings, missing values, numbers, categorical columns, Arrow
and python string storage, and every kind of index (range, integers, text, dates,
several levels). A value JSON cannot hold (bytes, a ``uuid.UUID``...) comes back as a
stand-in that prints like it and has a type of the same name, so it plans (and reads)
as the same "not a string" row.

Example:
    >>> import json
    >>> s = pd.Series(["a", None, 3], index=[10, 10, 11], name="contact_id")
    >>> back = decode_series(json.loads(json.dumps(encode_series(s))))
    >>> back.equals(s), back.index.tolist(), back.name
    (True, [10, 10, 11], 'contact_id')
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import struct
import uuid
import zlib
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from ccpandas.errors import JournalError
from ccpandas.models import UUID_RE
from ccpandas.plan.changes import ChangeSet
from ccpandas.plan.compact import PageCounts

__all__ = [
    "decode_change_set",
    "decode_page",
    "decode_series",
    "encode_change_set",
    "encode_page",
    "encode_series",
    "read_page",
]

_TEXT_DTYPES = ("str", "string[python]", "string[pyarrow]", "arrow_string")


class Opaque:
    """Stands in for a value JSON could not hold: same repr, a type of the same name."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__

    # Not a dataclass's: equal to nothing but the same stand-in (not mock.ANY, and no
    # element-wise answer against an array), hashed apart from other types' stand-ins.
    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.text == self.text

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.text))


@cache
def _opaque_type(name: str) -> type[Opaque]:
    return type(name, (Opaque,), {"__slots__": (), "__module__": __name__})


def _encode_values(values: list[Any], *, dates: bool = False) -> tuple[list[Any], dict[str, str]]:
    """JSON values, and ``{position: type name}`` for those kept as their repr.

    ``dates``: the array's dtype holds dates, which come back from ISO text.
    """
    out: list[Any] = []
    opaque: dict[str, str] = {}
    for i, v in enumerate(values):
        kind = type(v)
        if kind is str or v is None or kind is bool or kind is int or kind is float:
            out.append(v)  # NaN and infinities too: Python's json reads them back
        elif v is pd.NA or v is pd.NaT:
            out.append(None)
        elif dates and isinstance(v, dt.datetime | dt.date | pd.Timestamp):
            out.append(v.isoformat())
        else:
            out.append(repr(v))
            opaque[str(i)] = kind.__name__
    return out, opaque


def _decode_values(values: list[Any], opaque: dict[str, str]) -> list[Any]:
    for pos, name in opaque.items():
        i = int(pos)
        values[i] = _opaque_type(name)(values[i])
    return values


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, pd.StringDtype):
        return "str" if dtype.na_value is np.nan else f"string[{dtype.storage}]"
    if isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_string_dtype(dtype):
        return "arrow_string"
    return str(dtype)


def _as_dtype(values: list[Any], name: str) -> Any:
    array = pd.Series(values, dtype=object).to_numpy()  # lists stay elements
    try:
        if name == "str":
            return pd.array(array, dtype=pd.Series([], dtype="str").dtype)
        if name == "arrow_string":
            import pyarrow as pa

            return pd.array(array, dtype=pd.ArrowDtype(pa.string()))
        if name != "object":
            return pd.array(array, dtype=name)
    except (TypeError, ValueError, ImportError):
        pass  # e.g. an extension type of another library: the values stay objects
    return array


def _encode_array(values: pd.Series) -> dict[str, Any]:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats, opaque = _encode_values(dtype.categories.tolist())
        return {
            "categories": cats,
            "opaque": opaque,
            "categories_dtype": _dtype_name(dtype.categories.dtype),
            "codes": values.cat.codes.to_numpy(dtype="int64").tolist(),
            "ordered": bool(dtype.ordered),
        }
    dates = pd.api.types.is_datetime64_any_dtype(dtype)
    encoded, opaque = _encode_values(values.astype(object).tolist(), dates=dates)
    return {"values": encoded, "opaque": opaque, "dtype": _dtype_name(dtype)}


def _decode_array(doc: dict[str, Any]) -> Any:
    if "categories" in doc:
        categories = pd.Index(
            _as_dtype(_decode_values(doc["categories"], doc["opaque"]), doc["categories_dtype"])
        )
        codes = np.asarray(doc["codes"], dtype="int64")
        return pd.Categorical.from_codes(codes, categories=categories, ordered=doc["ordered"])
    return _as_dtype(_decode_values(doc["values"], doc["opaque"]), doc["dtype"])


def _name(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return {"name": repr(value), "type": type(value).__name__}


def _unname(value: Any) -> Any:
    if isinstance(value, dict):
        return _opaque_type(value["type"])(value["name"])
    return value


def _encode_index(index: pd.Index) -> dict[str, Any]:
    if isinstance(index, pd.RangeIndex):
        return {"range": [index.start, index.stop, index.step], "name": _name(index.name)}
    if isinstance(index, pd.MultiIndex):
        return {
            "levels": [_encode_index(index.get_level_values(i)) for i in range(index.nlevels)],
            "names": [_name(n) for n in index.names],
        }
    doc = _encode_array(pd.Series(index, copy=False))
    doc["name"] = _name(index.name)
    doc["freq"] = getattr(index, "freqstr", None)
    return doc


def _decode_index(doc: dict[str, Any]) -> pd.Index:
    if "range" in doc:
        return pd.RangeIndex(*doc["range"], name=_unname(doc["name"]))
    if "levels" in doc:
        levels = [_decode_index(level) for level in doc["levels"]]
        return pd.MultiIndex.from_arrays(levels, names=[_unname(n) for n in doc["names"]])
    values = _decode_array(doc)
    name = _unname(doc["name"])
    dtype = doc.get("dtype")
    if dtype and dtype not in ("object", *_TEXT_DTYPES) and not isinstance(values, np.ndarray):
        index = pd.Index(values, name=name)
    else:
        index = pd.Index(values, name=name, dtype=object if dtype == "object" else None)
    if dtype and _dtype_name(index.dtype) != dtype:
        # dates come back as text: their dtype (with its time zone) restores them
        with contextlib.suppress(TypeError, ValueError):
            index = index.astype(dtype)
    if doc.get("freq") and isinstance(index, pd.DatetimeIndex | pd.TimedeltaIndex):
        with contextlib.suppress(TypeError, ValueError):
            index = type(index)(index, freq=doc["freq"])
    return index


def encode_series(series: pd.Series) -> dict[str, Any]:
    """The Series as a JSON-ready dict (see :func:`decode_series`)."""
    return {
        "name": _name(series.name),
        "index": _encode_index(series.index),
        **_encode_array(series),
    }


def decode_series(doc: dict[str, Any]) -> pd.Series:
    """The Series :func:`encode_series` encoded: same values, dtype, index and name."""
    values = _decode_array(doc)
    index = _decode_index(doc["index"])
    return pd.Series(values, index=index, name=_unname(doc["name"]), copy=False)


# -- change sets ----------------------------------------------------------------------------
# Every kind journals its pairs the same way: each id once, the pairs as small integer
# arrays (base64 of their little-endian bytes), so a new kind needs no encoding of its own.
_PAIR_ARRAYS = {"pair_contact": "<i4", "pair_list": "<i4", "action": "<i1", "was_member": "?"}


def encode_change_set(cs: ChangeSet) -> dict[str, Any]:
    """The change set as a JSON-ready dict (see :func:`decode_change_set`); batches are
    not kept: batching the decoded set again gives the same ones.

    Example:
        >>> from ccpandas.plan.changes import ADD
        >>> cs = ChangeSet.from_pairs([("c1", "l1"), ("c2", "l1")], ADD, was_member=False)
        >>> back = decode_change_set(encode_change_set(cs))
        >>> back.pairs(ADD), back.known
        ([('c1', 'l1'), ('c2', 'l1')], True)
    """
    doc: dict[str, Any] = {
        "contact_ids": [str(c) for c in cs.contact_ids.tolist()],
        "list_ids": list(cs.list_ids),
        "known": bool(cs.known),
    }
    for name, dtype in _PAIR_ARRAYS.items():
        raw = np.ascontiguousarray(getattr(cs, name), dtype=dtype).tobytes()
        doc[name] = base64.b64encode(raw).decode("ascii")
    return doc


def decode_change_set(doc: dict[str, Any]) -> ChangeSet:
    """The :class:`~ccpandas.plan.changes.ChangeSet` :func:`encode_change_set` encoded."""
    arrays = {
        name: np.frombuffer(base64.b64decode(doc[name]), dtype=dtype)
        for name, dtype in _PAIR_ARRAYS.items()
    }
    return ChangeSet(
        contact_ids=np.asarray(doc["contact_ids"], dtype=object),
        list_ids=tuple(doc["list_ids"]),
        pair_contact=arrays["pair_contact"].astype(np.int64),
        pair_list=arrays["pair_list"].astype(np.int64),
        action=arrays["action"].astype(np.int8),
        was_member=arrays["was_member"].astype(bool),
        known=bool(doc["known"]),
    )


# -- snapshot pages -------------------------------------------------------------------------
#: A journal page of the compact format starts with these bytes (``CCJ3``: with the
#: counts of the members not kept, and contact ids maybe as positions into the run's
#: input; ``CCJ2``: every member, ids as UUID bytes); an older page is a zlib stream of
#: JSON (its first byte 0x78). Each still reads.
PAGE_MAGIC = b"CCJ3"
_PAGE_MAGICS = (b"CCJ2", PAGE_MAGIC)
_HEADER = struct.Struct("<I")


def _width(n: int) -> str:
    """The smallest unsigned code type for codes below ``n``."""
    return "<u1" if n <= 256 else ("<u2" if n <= 65_536 else "<u4")


def encode_page(
    rows: Sequence[Sequence[Any]],
    list_ids: Sequence[str],
    *,
    counts: PageCounts | None = None,
    positions: Sequence[int] | None = None,
) -> bytes:
    """A snapshot page ``[[contact_id, status, [list ids], [tag ids]], ...]`` as compact
    bytes: contact ids as 16 UUID bytes (text when any is not a canonical UUID), or as
    ``positions`` (per row) into the run's input, which decoding is given back;
    list ids as indices into ``list_ids`` (the snapshot's lists, kept once in its row)
    or into the page's own few other ids, statuses and tags the same way, columns of
    small integers, zlib-compressed; ``counts``: the members the page does not keep.
    :func:`decode_page` gives the rows back exactly.

    Example:
        >>> rows = [["8b54d1f4-5b0e-11ee-8c99-0242ac120002", "active", ["l1", "l9"], []]]
        >>> blob = encode_page(rows, ["l1"])
        >>> blob[:4], decode_page(blob, ["l1"]) == rows
        (b'CCJ3', True)
        >>> blob = encode_page(rows, ["l1"], positions=[0])
        >>> decode_page(blob, ["l1"], keys=[rows[0][0]]) == rows
        True
    """
    table: dict[Any, int] = {lid: k for k, lid in enumerate(list_ids)}
    extra: list[Any] = []

    def code(value: Any) -> int:
        k = table.get(value)
        if k is None:
            k = table[value] = len(table)
            extra.append(value)
        return k

    ids = [str(r[0]) for r in rows]
    positional = positions is not None
    # Canonical (lower-case, hyphenated) UUIDs only: 16 bytes give them back exactly.
    binary = not positional and all(UUID_RE.fullmatch(c) for c in ids)
    statuses = [code(r[1]) for r in rows]
    lists = [[code(x) for x in r[2]] for r in rows]
    tags = [[code(x) for x in r[3]] for r in rows]
    wide = _width(len(table))
    head: dict[str, Any] = {
        "n": len(rows),
        "uuid": binary,
        "ids": None if binary or positional else ids,
        "extra": extra,
        "codes": wide,
    }
    parts: list[bytes] = []
    if positions is not None:
        head["pos"] = _width(max(positions, default=0) + 1)
        parts.append(np.asarray(positions, dtype=head["pos"]).tobytes())
    if counts is not None:
        head["counts"] = [counts.contacts, counts.new, list(counts.lists)]
    header = json.dumps(head, separators=(",", ":")).encode()
    parts[:0] = [_HEADER.pack(len(header)), header]
    if binary:
        parts.append(b"".join(bytes.fromhex(c.replace("-", "")) for c in ids))
    parts.append(np.asarray(statuses, dtype=wide).tobytes())
    for ragged in (lists, tags):
        parts.append(np.asarray([len(x) for x in ragged], dtype="<u2").tobytes())
        flat = [k for x in ragged for k in x]
        parts.append(np.asarray(flat, dtype=wide).tobytes())
    return PAGE_MAGIC + zlib.compress(b"".join(parts), 9)


def decode_page(
    blob: bytes, list_ids: Sequence[str], keys: Sequence[str | None] | None = None
) -> list[list[Any]]:
    """The rows :func:`encode_page` encoded (``keys``: the run's input keys its
    positions point into); an older page (zlib JSON) reads as it was written,
    anything else is a :class:`~ccpandas.errors.JournalError`."""
    return read_page(blob, list_ids, keys)[0]


def read_page(
    blob: bytes, list_ids: Sequence[str], keys: Sequence[str | None] | None = None
) -> tuple[list[list[Any]], PageCounts | None]:
    """The rows of a page and the counts of the members it did not keep (None: it
    kept every one). See :func:`decode_page`.

    Example:
        >>> blob = encode_page([], ["l1"], counts=PageCounts((4,), 4, 4))
        >>> read_page(blob, ["l1"])
        ([], PageCounts(lists=(4,), contacts=4, new=4))
    """
    try:
        if bytes(blob[:4]) not in _PAGE_MAGICS:
            return list(json.loads(zlib.decompress(blob))), None
        raw = zlib.decompress(blob[4:])
        (size,) = _HEADER.unpack_from(raw)
        head = json.loads(raw[4 : 4 + size])
        table = [*list_ids, *head["extra"]]
        rows = _page_rows(memoryview(raw)[4 + size :], head, table, keys)
        counted = head.get("counts")
        counts = None if counted is None else PageCounts(tuple(counted[2]), *counted[:2])
        return rows, counts
    except (zlib.error, ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise JournalError(
            f"a membership snapshot page of the journal cannot be read ({exc}): it was "
            "written by another version of ccpandas, or the file is damaged; read the "
            "lists again (snapshot=True)"
        ) from None


def _page_rows(
    body: memoryview, head: dict[str, Any], table: list[Any], keys: Sequence[str | None] | None
) -> list[list[Any]]:
    n, wide = int(head["n"]), np.dtype(head["codes"])
    at = 0

    def take(count: int, dtype: Any) -> list[Any]:
        nonlocal at
        out = np.frombuffer(body, dtype=dtype, count=count, offset=at)
        at += out.nbytes
        return out.tolist()

    if head.get("pos"):
        if keys is None:
            raise JournalError(
                "a membership snapshot page of the journal keeps its contact ids as "
                "positions into the run's input: it loads with its run (resume, "
                "run_result), or continues with the same column (snapshot='snap-...')"
            )
        ids = [keys[k] for k in take(n, head["pos"])]
        if not all(isinstance(c, str) for c in ids):
            raise ValueError("its positions point at no contact id of the run's input")
    elif head["uuid"]:
        raw = bytes(body[: 16 * n])
        at = 16 * n
        ids = [str(uuid.UUID(bytes=raw[i : i + 16])) for i in range(0, 16 * n, 16)]
    else:
        ids = list(head["ids"])
    statuses = [table[k] for k in take(n, wide)]
    columns = []
    for _ in range(2):
        lengths = take(n, "<u2")
        flat = iter(take(sum(lengths), wide))
        columns.append([[table[next(flat)] for _ in range(m)] for m in lengths])
    return [list(r) for r in zip(ids, statuses, *columns, strict=True)]
