"""Vectorised checking and normalisation of id columns (contact, list and tag UUIDs).

An id is accepted after stripping whitespace and one pair of surrounding braces and
lower-casing; it must then be a canonical 8-4-4-4-12 hexadecimal UUID. Every value gets
a status: ``planned`` (a valid id), ``invalid_id`` or ``missing``. No Python loop runs
per row. With pyarrow, ids already in canonical form (nearly all, in exported data) are
read straight from the column's Arrow buffers as 128-bit numbers and factorised as
numbers; every other value takes the general path: the values are factorised once (a
hash table in C), only the distinct ones are checked (pandas string methods, Arrow
compute or numpy on a bytes buffer), and the verdicts are spread back over the rows.

Example:
    >>> ids, status = normalize_ids(
    ...     pd.Series([" {8B54D1F4-5B0E-11EE-8C99-0242AC120002} ", "oops", None])
    ... )
    >>> ids.tolist()[0]
    '8b54d1f4-5b0e-11ee-8c99-0242ac120002'
    >>> status.tolist()
    ['planned', 'invalid_id', 'missing']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ccpandas.vocab import RowStatus

__all__ = [
    "ID_STATUSES",
    "ID_STATUS_DTYPE",
    "TEXT_DTYPE",
    "UUID_PATTERN",
    "CheckedIds",
    "check_ids",
    "first_rows",
    "first_rows_any",
    "holds_text",
    "normalize_ids",
    "uuid_of",
]

#: Every status a row of a plan can have, in this order (the categories of ``plan_status``).
ID_STATUSES = (
    RowStatus.PLANNED.value,
    RowStatus.INVALID_ID.value,
    RowStatus.MISSING.value,
    RowStatus.DUPLICATE.value,
)
ID_STATUS_DTYPE = pd.CategoricalDtype(list(ID_STATUSES))
# Integer codes into ID_STATUSES, used for the positional numpy arrays.
PLANNED, INVALID, MISSING, DUPLICATE = range(4)

#: The canonical form (matched in full, after normalisation).
UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: Invisible format characters that copying from a page or a sheet brings along (a
#: zero-width space or joiner, a byte-order mark, a direction mark, a soft hyphen): no
#: id or address holds one, so they are taken out (Python's re and Arrow's RE2 alike).
INVISIBLE = "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
#: :data:`INVISIBLE` but the zero-width (non-)joiner, which internationalised domains hold.
ADDRESS_INVISIBLE = (
    "[\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)

#: The text dtype of this pandas: ``str`` on pandas 3 (Arrow-backed when pyarrow is
#: installed), ``object`` on pandas 2. ``astype(TEXT_DTYPE)`` keeps missing values missing.
TEXT_DTYPE = pd.Series([], dtype="str").dtype


# For the fast check of canonical ids: every hex digit becomes "0", so a canonical id
# reads exactly like _TEMPLATE afterwards and anything else does not.
_HEX_TO_ZERO = bytes.maketrans(b"0123456789abcdef", b"0" * 16)
_TEMPLATE = b"00000000-0000-0000-0000-000000000000"
_CHUNK = 1 << 16

REASON_MISSING = "missing value"
REASON_EMPTY = "empty string"
REASON_MALFORMED = "not a UUID (expected 8-4-4-4-12 hexadecimal digits)"
REASON_DUPLICATE = "duplicate of an earlier row (see duplicate_of)"


@dataclass(frozen=True, eq=False)
class CheckedIds:
    """What :func:`check_ids` found, by position (the input's index plays no part).

    ``ids`` holds each distinct valid id once, canonical, in order of first
    appearance; ``codes`` gives, per row, the position of its id in ``ids`` (-1 for
    rows without a valid id); ``status`` holds int8 codes into :data:`ID_STATUSES`
    (``planned``, ``invalid_id`` or ``missing``; repeats are still ``planned``) and
    ``reason`` the text for rows that are not valid (None elsewhere).
    """

    #: The ids, or None to read them from ``normalized`` when first asked for.
    given_ids: pd.Index | None
    codes: np.ndarray
    status: np.ndarray
    reason: np.ndarray
    #: The per-row ids when they came without a copy (see ``normalized``).
    given_normalized: Any = None

    @cached_property
    def ids(self) -> pd.Index:
        """Each distinct valid id once, in order of first appearance."""
        if self.given_ids is not None:
            return self.given_ids
        taken = self.normalized.array.take(np.flatnonzero(first_rows(self.codes)))
        return pd.Index(taken, dtype=taken.dtype)

    @cached_property
    def normalized(self) -> pd.Series:
        """Per row: the canonical id, or a missing value (RangeIndex; the input's storage)."""
        if self.given_normalized is not None:
            return _series(self.given_normalized)
        return _series(self.ids.array.take(self.codes, allow_fill=True))

    @property
    def status_categorical(self) -> pd.Categorical:
        """``status`` as a categorical of :data:`ID_STATUSES`."""
        return pd.Categorical.from_codes(self.status, dtype=ID_STATUS_DTYPE)


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Per row: True where the row holds the first occurrence of its id.

    ``codes`` number the ids in order of first appearance (-1: no id), as
    :attr:`CheckedIds.codes` do.

    Example:
        >>> first_rows(np.array([0, -1, 1, 0, 2, 1])).tolist()
        [True, False, True, False, True, False]
    """
    # A row holds the first occurrence of its id exactly when its code is above every
    # code before it: no hash table.
    first = np.empty(len(codes), dtype=bool)
    highest = np.maximum.accumulate(codes)
    first[:1] = codes[:1] >= 0
    first[1:] = codes[1:] > highest[:-1]
    return first


def first_rows_any(codes: np.ndarray) -> np.ndarray:
    """Per row: True where the row holds the first occurrence of its code, whatever
    order the codes number their values in (-1: none), as
    :func:`~ccpandas.plan.keys.factorize_in` gives them.

    Example:
        >>> first_rows_any(np.array([2, -1, 0, 2, 1, 0])).tolist()
        [True, False, True, False, True, False]
    """
    first = np.zeros(len(codes), dtype=bool)
    rows = np.flatnonzero(codes >= 0)[::-1]
    if len(rows):
        at = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
        at[codes[rows]] = rows  # reversed: each code's first row is written last
        first[at[at >= 0]] = True
    return first


def check_ids(values: pd.Series) -> CheckedIds:
    """Check and normalise every value of ``values``; repeats are not marked here.

    Works for object, ``string`` (python or pyarrow), ``str`` and categorical columns;
    columns of any other dtype hold no strings, so their values are ``invalid_id``
    (``not a string``) or ``missing``.

    Example:
        >>> c = check_ids(pd.Series(["8B54D1F4-5B0E-11EE-8C99-0242AC120002", 7, ""]))
        >>> c.status_categorical.tolist(), c.reason.tolist()
        (['planned', 'invalid_id', 'missing'], [None, 'not a string (int)', 'empty string'])
        >>> list(c.ids), c.codes.tolist()
        (['8b54d1f4-5b0e-11ee-8c99-0242ac120002'], [0, -1, -1])
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return _check_categorical(values)
    if not holds_text(values.dtype):
        return _check_no_text(values)
    values = _as_arrow_string(values)
    fast = _canonical_rows(values)
    if fast is None:
        return _check_general(values)
    return _check_by_keys(fast)


def holds_text(dtype: Any) -> bool:
    """True when a column of ``dtype`` can hold ids (strings): object, ``str``,
    ``string`` (python or pyarrow), Arrow ``string``/``large_string``, Arrow
    dictionaries of those, and categoricals whose categories can (or that have
    none). Checked once per column: no value is looked at.

    Example:
        >>> holds_text(pd.Series(["a"]).dtype), holds_text(pd.Series([1]).dtype)
        (True, False)
        >>> holds_text(pd.CategoricalDtype(["a"])), holds_text(pd.CategoricalDtype([1]))
        (True, False)
    """
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        return categories is None or len(categories) == 0 or holds_text(categories.dtype)
    if isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype):
        return True
    if isinstance(dtype, pd.ArrowDtype):
        arrow = dtype.pyarrow_dtype
        if pa.types.is_dictionary(arrow):
            arrow = arrow.value_type
        return _is_arrow_text(arrow)
    return False


def _is_arrow_text(arrow: Any) -> bool:
    return bool(pa.types.is_string(arrow) or pa.types.is_large_string(arrow))


def _as_arrow_string(values: pd.Series) -> pd.Series:
    """An Arrow dictionary of strings as plain Arrow strings (what the string methods
    and the fast path read); any other column as is."""
    dtype = values.dtype
    if not isinstance(dtype, pd.ArrowDtype) or _is_arrow_text(dtype.pyarrow_dtype):
        return values
    # holds_text let only strings and dictionaries of them through: a dictionary here.
    value_type = dtype.pyarrow_dtype.value_type
    target = pa.large_string() if pa.types.is_large_string(value_type) else pa.string()
    # One cast per column, in C++ (the dictionary decoded): no Python loop.
    cast = pa.array(values.array).cast(target)
    return pd.Series(
        pd.array(cast, dtype=pd.ArrowDtype(target)), index=values.index, name=values.name
    )


def _check_no_text(values: pd.Series) -> CheckedIds:
    """:func:`check_ids` for a column whose dtype holds no strings (numbers, dates,
    bytes, Arrow lists...): every value is ``missing`` or ``invalid_id``, decided by
    one vectorised ``isna`` (no value is converted)."""
    n = len(values)
    missing = values.isna().to_numpy(dtype=bool)
    status = np.where(missing, MISSING, INVALID).astype(np.int8)
    reason = np.where(missing, REASON_MISSING, f"not a string ({values.dtype})").astype(object)
    codes = np.full(n, -1, dtype=np.intp)
    return CheckedIds(pd.Index([], dtype=object), codes, status, reason)


def _check_general(values: pd.Series) -> CheckedIds:
    """:func:`check_ids` for any values but categoricals: factorise, then check each
    distinct value."""
    # Object columns of strings reach this path already as Arrow text (see
    # _canonical_rows) whenever pyarrow is there: no conversion here.
    strings = _string_positions(values)
    if strings is None:  # every value is a string or missing: factorise them all
        raw_codes, raw = pd.factorize(values)
    else:
        raw_codes = np.full(len(values), -1, dtype=np.intp)
        sub_codes, raw = pd.factorize(values.iloc[strings])
        raw_codes[strings] = sub_codes

    # Check each distinct string once. The strings keep their storage (object, python
    # or Arrow): no conversion, no copy.
    raw = _series(raw)
    u_status, u_reason, u_norm = _check_strings(raw)
    if u_norm is None:
        # Nothing needed fixing: the valid distinct values are the ids, in order.
        valid = u_status == PLANNED
        ids = raw if valid.all() else raw[valid]
        id_codes = np.where(valid, np.cumsum(valid) - 1, -1)
    else:
        # Two raw spellings can share one id ("ABC.." and "{abc..}"): factorise again
        # over the distinct normalised values, which keeps the order of first appearance.
        id_codes, ids = pd.factorize(u_norm)

    # Spread the verdicts over the rows; code -1 (no string) takes the appended entry.
    status = np.append(u_status, np.int8(MISSING))[raw_codes]
    reason = np.append(u_reason, REASON_MISSING)[raw_codes]
    codes = np.append(id_codes, -1)[raw_codes]
    if strings is not None:  # values that are neither strings nor missing
        other = values.notna().to_numpy(dtype=bool, copy=True)
        other[strings] = False
        if other.any():
            status[other] = INVALID
            reason[other] = _not_a_string(values[other])
    return CheckedIds(pd.Index(ids, dtype=ids.dtype), codes, status, reason)


def _series(values: Any) -> pd.Series:
    """A Series of ``values`` with their dtype kept (pandas 3 would infer ``str``)."""
    return pd.Series(values, dtype=values.dtype)


def normalize_ids(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalised ids and a status per row, both with the index of ``values``.

    The ids are canonical (lower case, no braces, no whitespace) where the status is
    ``planned`` and missing elsewhere; the status is a categorical of
    ``planned``/``invalid_id``/``missing`` (repeats are the plan's business).

    Args:
        values: A Series of contact ids as given: any dtype, with missing values, braces,
            upper case or whitespace.

    Returns:
        ``(ids, status)``: two Series with the index of ``values``.

    Example:
        >>> ids, status = normalize_ids(pd.Series(["{8b54d1f4-5b0e-11ee-8c99-0242ac120002}"]))
        >>> ids[0], status[0]
        ('8b54d1f4-5b0e-11ee-8c99-0242ac120002', 'planned')
    """
    checked = check_ids(values)
    norm = checked.normalized
    ids = pd.Series(norm.array, index=values.index, name=values.name, dtype=norm.dtype)
    status = pd.Series(checked.status_categorical, index=values.index, name="plan_status")
    return ids, status


def uuid_of(value: Any) -> str | None:
    """One value as :func:`check_ids` normalises it, or None when it is not a UUID.

    For the few values of a call's arguments (list ids, a column's label): the common
    cases are settled in Python, the rest by :func:`check_ids`, whose fixed cost (several
    milliseconds of pandas string methods) is made for columns, not single values.

    Example:
        >>> uuid_of(" {8B54D1F4-5B0E-11EE-8C99-0242AC120002} "), uuid_of("Newsletter")
        ('8b54d1f4-5b0e-11ee-8c99-0242ac120002', None)
    """
    if not isinstance(value, str) or len(value) < len(_TEMPLATE):
        return None  # normalising only removes characters: too short for a UUID
    if _CANONICAL.fullmatch(value):
        return str(value)  # a str subclass (numpy's str_) as a plain str
    checked = check_ids(pd.Series([value], dtype=object))
    return str(checked.normalized.iloc[0]) if checked.status[0] == PLANNED else None


_CANONICAL = re.compile(UUID_PATTERN)


def _arrow_text_dtype() -> pd.StringDtype:
    """pandas 3's ``str`` when it is Arrow-backed; else ``string[pyarrow]`` (pandas 2)."""
    if isinstance(TEXT_DTYPE, pd.StringDtype) and TEXT_DTYPE.storage == "pyarrow":
        return TEXT_DTYPE
    return pd.StringDtype("pyarrow")


def _to_arrow_text(values: pd.Series) -> pd.Series:
    """An all-string object column as Arrow-backed text (None/NaN become missing)."""
    arr = pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)
    return pd.Series(pd.array(arr, dtype=_arrow_text_dtype()), index=values.index, copy=False)


# None sends object columns down the Python-object path (the tests check it still works).
_arrow_text: Any = _to_arrow_text


def _string_positions(s: pd.Series) -> np.ndarray | None:
    """Positions of the string values, or None when every non-missing value is one."""
    dtype = s.dtype
    if isinstance(dtype, pd.StringDtype) or _is_arrow_string(dtype):
        return None
    if not pd.api.types.is_object_dtype(dtype):
        return np.zeros(0, dtype=np.intp)
    arr = s.to_numpy()
    # Cheap common case first: infer_dtype stops at the first non-string.
    if pd.api.types.infer_dtype(arr, skipna=True) in ("string", "empty"):
        return None
    # A ufunc loop in C calling the builtin isinstance: no Python-level loop.
    is_text = np.frompyfunc(isinstance, 2, 1)
    # numpy's stubs take no type as an operand; isinstance(value, str) is what runs.
    hits = np.asarray(is_text(arr, str))  # type: ignore[call-overload]
    return np.flatnonzero(hits.astype(bool))


def _is_arrow_string(dtype: object) -> bool:
    return isinstance(dtype, pd.ArrowDtype) and _is_arrow_text(dtype.pyarrow_dtype)


def _not_a_string(other: pd.Series) -> np.ndarray:
    """``not a string (<type>)`` for values that are neither strings nor missing."""
    if not pd.api.types.is_object_dtype(other.dtype):
        return np.full(len(other), f"not a string ({other.dtype})", dtype=object)
    kinds = other.map(type)  # the builtin, called from C: no Python-level loop
    text = {k: f"not a string ({k.__name__})" for k in kinds.unique()}
    reasons: np.ndarray = kinds.map(text).to_numpy(dtype=object)
    return reasons


def _check_strings(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series | None]:
    """Status, reason and normalised value (NA unless valid) of distinct strings.

    The normalised values are None when every valid value was canonical already.
    """
    n = len(raw)
    # Fast path: exported ids are nearly always canonical already, so one vectorised
    # check settles most values; only the rest is stripped, unbraced and lower-cased.
    canonical = _canonical(raw)
    status = np.where(canonical, PLANNED, INVALID).astype(np.int8)
    reason = np.full(n, None, dtype=object)
    if canonical.all():
        return status, reason, None

    rest_pos = np.flatnonzero(~canonical)
    rest = raw.iloc[rest_pos]
    stripped = rest.str.replace(INVISIBLE, "", regex=True).str.strip()
    empty = (stripped.str.len() == 0).to_numpy(dtype=bool, na_value=False)
    braced = (stripped.str.startswith("{") & stripped.str.endswith("}")).to_numpy(
        dtype=bool, na_value=False
    )
    if braced.any():
        stripped = stripped.mask(braced, stripped.str.slice(1, -1).str.strip())
    fixed = stripped.str.lower()
    valid = fixed.str.fullmatch(UUID_PATTERN).to_numpy(dtype=bool, na_value=False)

    status[rest_pos[valid]] = PLANNED
    status[rest_pos[empty]] = MISSING
    reason[rest_pos[empty]] = REASON_EMPTY
    reason[rest_pos[~valid & ~empty]] = REASON_MALFORMED
    if not valid.any():
        return status, reason, None  # nothing was fixed: the valid values are canonical
    # Canonical values stay as they are; the others take their fixed form, or NA.
    norm = raw.where(canonical, fixed.where(valid))
    return status, reason, norm


def _arrow_backed(dtype: Any) -> bool:
    return isinstance(dtype, pd.ArrowDtype) or getattr(dtype, "storage", "") == "pyarrow"


def _canonical(raw: pd.Series) -> np.ndarray:
    """True where a string is already a canonical lower-case UUID."""
    if _arrow_backed(raw.dtype):
        # Arrow runs the regex in C++ over the whole column.
        matched: np.ndarray = raw.str.fullmatch(UUID_PATTERN).to_numpy(dtype=bool, na_value=False)
        return matched
    # Python strings: a regex call per value costs about 0.6 us. Instead, join the
    # 36-character values into one bytes buffer (non-ASCII characters become "?"),
    # map every hex digit to "0" and compare each 36-byte record with the template.
    arr = raw.to_numpy(dtype=object)
    lengths = np.frompyfunc(len, 1, 1)(arr).astype(np.intp)  # builtin len, looped in C
    out = np.zeros(len(arr), dtype=bool)
    candidates = np.flatnonzero(lengths == len(_TEMPLATE))
    for start in range(0, len(candidates), _CHUNK):  # chunks bound the extra memory
        pos = candidates[start : start + _CHUNK]
        text = "".join(arr[pos].tolist()).encode("ascii", "replace").translate(_HEX_TO_ZERO)
        out[pos] = np.frombuffer(text, dtype=f"S{len(_TEMPLATE)}") == _TEMPLATE
    return out


# -- the fast path: canonical ids as 128-bit numbers ----------------------------------------
# Exported ids are nearly all canonical already, and such a string *is* a 128-bit number.
# So the canonical values are read straight from the column's Arrow buffers (an object
# column is copied into Arrow once), 36 bytes per row, in chunks: a lookup table over
# pairs of hex digits checks and decodes them at once, and the two 64-bit halves,
# mixed into one uint64 key, are factorised: numbers hash far faster than strings.
# Every other row (missing, non-strings, other spellings) takes the general path, and
# both are joined on their keys. A key collision between different ids is checked
# for, and falls back to the general path.

_WIDTH = len(_TEMPLATE)
# Rows decoded at a time: about 130 bytes of temporaries each, so 16,384 rows stay near
# 2 MB, small beside even a 100,000-row column, and as fast as larger chunks.
_DECODE_CHUNK = 1 << 14
_DASH_COLUMNS = np.array([i for i in range(_WIDTH) if _TEMPLATE[i] == ord("-")])
_DIGIT_SLICES = [slice(0, 8), slice(9, 13), slice(14, 18), slice(19, 23), slice(24, 36)]


def _pair_table() -> np.ndarray:
    """Value of every two-character hex pair read as one native uint16; 256 if not hex."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    pairs = np.stack(np.meshgrid(digits, digits, indexing="ij"), axis=-1).reshape(-1, 2)
    table = np.full(1 << 16, 256, dtype=np.uint16)
    table[np.ascontiguousarray(pairs).view(np.uint16).ravel()] = np.arange(256)
    return table


_PAIRS = _pair_table()
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it is a bijection mod 2**64


def _decode(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``(m, 36)`` bytes: canonical or not, the id's first 64 bits, and its key."""
    digits = np.concatenate([rows[:, part] for part in _DIGIT_SLICES], axis=1)
    values = _PAIRS[digits.view(np.uint16)]  # (m, 16); 256 where a pair is not hex
    ok = (values < 256).all(axis=1) & (rows[:, _DASH_COLUMNS] == ord("-")).all(axis=1)
    halves = values.astype(np.uint8).view(np.uint64)
    hi = halves[:, 0].copy()
    key = hi * _MIX
    key ^= halves[:, 1]
    # Equal keys and equal first halves mean equal ids: the second half is
    # key ^ (hi * _MIX). So only ``hi`` is kept, to check for key collisions.
    return ok, hi, key


@dataclass(frozen=True, eq=False)
class _Canonical:
    """The rows of a column holding canonical ids, read from its Arrow buffers."""

    values: pd.Series  # the column as read (an object column: as Arrow text)
    array: Any  # its pyarrow array, one chunk
    positions: np.ndarray  # rows holding a canonical id, ascending
    hi: np.ndarray  # per such row: the id's first 64 bits
    keys: np.ndarray  # per such row: a 64-bit key of the whole id

    def normalized(self, has_id: np.ndarray) -> Any:
        """Per row the id, where every row with an id is canonical as given: the
        column's own Arrow buffers under a validity bitmap, not a copy."""
        array = self.array
        valid = np.zeros(array.offset + len(array), dtype=bool)
        valid[array.offset :] = has_id
        bitmap = pa.array(valid).buffers()[1]
        _, offsets, data = array.buffers()
        masked = pa.Array.from_buffers(
            array.type, len(array), [bitmap, offsets, data], offset=array.offset
        )
        return type(self.values.array)._from_sequence(masked, dtype=self.values.dtype)


def _canonical_rows(values: pd.Series) -> _Canonical | None:
    """The canonical ids of ``values``; None when the fast path does not apply (no
    pyarrow, no Arrow strings, values of other types)."""
    if len(values) == 0 or _arrow_text is None:
        return None
    dtype = values.dtype
    if pd.api.types.is_object_dtype(dtype):
        if _string_positions(values) is not None:
            return None  # not all strings: the general path explains the others
        values = _arrow_text(values)
    elif not _arrow_backed(dtype):  # Arrow types other than strings are refused below
        return None

    array = pa.array(values.array)  # zero-copy: the column's own Arrow data
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    _, offsets_buffer, data_buffer = array.buffers()
    if data_buffer is None or data_buffer.size < _WIDTH:  # no value is long enough
        empty = np.zeros(0, dtype=np.uint64)
        return _Canonical(values, array, np.zeros(0, dtype=np.intp), empty, empty)
    offset_type = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)
    offsets = offsets[array.offset : array.offset + len(array) + 1]
    valid = array.is_valid().to_numpy(zero_copy_only=False)
    positions = np.flatnonzero((np.diff(offsets) == _WIDTH) & valid)
    del valid
    # Row i of this view is the 36 bytes from byte i on: picking rows copies 36 bytes
    # per id, with no per-byte index array.
    windows = np.lib.stride_tricks.sliding_window_view(
        np.frombuffer(data_buffer, dtype=np.uint8), _WIDTH
    )
    hi = np.empty(len(positions), dtype=np.uint64)
    keys = np.empty(len(positions), dtype=np.uint64)
    kept = 0
    for start in range(0, len(positions), _DECODE_CHUNK):  # bounds the extra memory
        part = positions[start : start + _DECODE_CHUNK]
        ok, part_hi, part_keys = _decode(windows[offsets[part]])
        # Keep the canonical rows only, compacting in place (kept <= start).
        end = kept + int(ok.sum())
        positions[kept:end], hi[kept:end], keys[kept:end] = part[ok], part_hi[ok], part_keys[ok]
        kept = end
    return _Canonical(values, array, positions[:kept], hi[:kept], keys[:kept])


def _keys_of(ids: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """First halves and keys of canonical id strings (few: the general path's ids)."""
    text = "".join(str(v) for v in ids).encode("ascii")
    ok, hi, keys = _decode(np.frombuffer(text, dtype=np.uint8).reshape(-1, _WIDTH))
    assert ok.all(), "the general path returns canonical ids only"
    return hi, keys


def _check_by_keys(fast: _Canonical) -> CheckedIds:
    """:func:`check_ids` given the rows holding canonical ids."""
    values, with_id, hi, keys = fast.values, fast.positions, fast.hi, fast.keys
    n = len(values)
    is_fast = np.zeros(n, dtype=bool)
    is_fast[with_id] = True
    rest = np.flatnonzero(~is_fast)
    general = _check_general(values.iloc[rest]) if len(rest) else None
    respelled = general is not None and bool((general.codes >= 0).any())
    if respelled:
        assert general is not None  # respelled implies a general pass
        # Other spellings of ids ("{ABC...}"): merge them in, in row order.
        found = general.codes >= 0
        g_hi, g_keys = _keys_of(general.ids)
        g_codes = general.codes[found]
        with_id = np.concatenate([with_id, rest[found]])
        order = np.argsort(with_id, kind="stable")
        with_id = with_id[order]
        hi = np.concatenate([hi, g_hi[g_codes]])[order]
        keys = np.concatenate([keys, g_keys[g_codes]])[order]

    key_codes, _ = pd.factorize(keys)
    del keys
    # Keys are numbered in order of first appearance: their first rows, in code order.
    first_at = np.flatnonzero(first_rows(key_codes))  # into with_id
    # Equal keys must be equal ids: a collision (about 1 in 2**64 per pair) falls back.
    for start in range(0, len(key_codes), _CHUNK):
        part = slice(start, start + _CHUNK)
        if not np.array_equal(hi[first_at[key_codes[part]]], hi[part]):
            return _check_general(values)
    del hi
    codes = np.full(n, -1, dtype=np.intp)
    codes[with_id] = key_codes
    del key_codes

    status = np.full(n, PLANNED, dtype=np.int8)
    reason = np.full(n, None, dtype=object)
    if general is not None:
        status[rest], reason[rest] = general.status, general.reason

    if not respelled:
        # Every row's id is its own text: the per-row ids share the column's buffers,
        # and the distinct ids are read from them only if asked for.
        return CheckedIds(None, codes, status, reason, fast.normalized(codes >= 0))
    # Each id as text, taken from the row of its first appearance: the column's own
    # string there, or the general path's normalised spelling.
    first = with_id[first_at]
    ids = values.array.take(first)
    from_general = ~is_fast[first]
    if from_general.any():
        assert general is not None  # a first row outside the fast rows came from it
        at = np.searchsorted(rest, first[from_general])
        taken: np.ndarray = general.ids.take(general.codes[at]).to_numpy(dtype=object)
        ids[np.flatnonzero(from_general)] = taken
    return CheckedIds(pd.Index(ids, dtype=ids.dtype), codes, status, reason)


def _check_categorical(s: pd.Series) -> CheckedIds:
    """Check the categories once, then spread the result over the codes."""
    cat_codes = s.cat.codes.to_numpy()
    cats = check_ids(_series(s.cat.categories))
    # A missing value's code, -1, picks the appended last entry, as in _check_general.
    status = np.append(cats.status, np.int8(MISSING))[cat_codes]
    reason = np.append(cats.reason, REASON_MISSING)[cat_codes]
    codes = np.append(cats.codes, -1)[cat_codes]
    # Categories in category order, not in order of first appearance in the rows:
    # renumber the ids by first appearance so every column type plans alike.
    has = codes >= 0
    codes[has], order = pd.factorize(codes[has])
    return CheckedIds(cats.ids.take(order), codes, status, reason)
