"""Text keys in Arrow: a column as Arrow strings, email addresses normalised, strings
numbered and looked up, with no Python object per row.

An Arrow-backed column (pandas 3's ``str``, ``string[pyarrow]``, ``dtype_backend=
"pyarrow"``) is read from its own buffers; an object column is copied into Arrow once.
Trimming, lower-casing, the address check, numbering (a dictionary encoding) and lookups
(``index_in``) are Arrow kernels: hash tables over the strings' bytes, in C++.

Example:
    >>> keys, valid, missing = email_keys(pd.Series([" Ann@Example.com", "x", None]))
    >>> codes, uniques = factorize_text(keys)
    >>> codes.tolist(), uniques.to_pylist()
    ([0, -1, -1], ['ann@example.com'])
    >>> positions(pa.array(["bob@x.org", "ann@example.com"]), uniques).tolist()
    [1]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ccpandas.plan.ids import ADDRESS_INVISIBLE, PLANNED, _string_positions, check_ids

__all__ = [
    "EMAIL_PATTERN",
    "arrow_text",
    "email_keys",
    "factorize_in",
    "factorize_text",
    "folded",
    "is_key",
    "positions",
]

# A deliberately plain address check: one "@", something before it, a dot in the domain,
# no whitespace, and none of the characters that surround an address copied with them
# (<...>, quotes, a list's ; or ,) and are in no address there (an apostrophe is in
# o'brien@...). The API is the judge of deliverability; this only separates addresses
# from ids, names and typos.
EMAIL_PATTERN = r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"']+\.[^@\s<>()\[\],;:\"'.]+"
# The check in Arrow (RE2), whose \s is ASCII only: a no-break space is whitespace too.
_ARROW_EMAIL = "^" + EMAIL_PATTERN.replace(r"\s", r"\s\p{Z}") + "$"


def arrow_text(values: Any) -> tuple[pa.Array, np.ndarray]:
    """``values`` (a Series, Index or array of any dtype) as one Arrow string array,
    null where a value is not a string, and the mask of the missing values (NA).

    Arrow-backed text is taken as it is (no copy); an object column is copied into
    Arrow once, in C; a categorical converts its categories only.

    Example:
        >>> text, na = arrow_text(pd.Series(["a", None, 7], dtype=object))
        >>> text.to_pylist(), na.tolist()
        (['a', None, None], [False, True, False])
    """
    if isinstance(values, pd.Series):
        s = values
    else:  # an object array stays object (pandas 3 would infer ``str``)
        s = pd.Series(values, dtype=getattr(values, "dtype", object), copy=False)
    na = s.isna().to_numpy(dtype=bool)
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = arrow_text(s.cat.categories)[0]
        codes = s.cat.codes.to_numpy()
        return categories.take(pa.array(codes, mask=codes < 0)), na
    if isinstance(dtype, pd.ArrowDtype | pd.StringDtype):
        arr = pa.array(s.array)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
        if pa.types.is_dictionary(arr.type):
            arr = arr.cast(arr.type.value_type)  # decoded once, in C++
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            return arr, na
    elif pd.api.types.is_object_dtype(dtype):
        strings = _string_positions(s)
        objects = s.to_numpy()
        if strings is not None:  # values that are neither strings nor missing: null
            objects = np.full(len(s), None, dtype=object)
            objects[strings] = s.to_numpy()[strings]
        return pa.array(objects, type=pa.string(), from_pandas=True), na
    return pa.nulls(len(s), pa.string()), na  # numbers, dates...: no text at all


def email_keys(values: Any) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Email addresses trimmed and lower-cased, invisible format characters (a
    zero-width space...) taken out, as one Arrow string array (null where a value is
    not an address), with the ``valid`` and ``missing`` masks.

    Example:
        >>> keys, valid, missing = email_keys(pd.Series([" A@B.co ", 5, " "], dtype=object))
        >>> keys.to_pylist(), valid.tolist(), missing.tolist()
        (['a@b.co', None, None], [True, False, False], [False, False, True])
        >>> email_keys(pd.Series(["\ufeffa\u200b@b.co", "a\xa0@b.co"]))[0].to_pylist()
        ['a@b.co', None]
        >>> email_keys(pd.Series(["<a@b.co>", "a@b.co;", "o'brien@b.co"]))[0].to_pylist()
        [None, None, "o'brien@b.co"]
    """
    text, na = arrow_text(values)
    if not pc.all(pc.string_is_ascii(text)).as_py():  # no invisible character is ASCII
        text = pc.replace_substring_regex(text, ADDRESS_INVISIBLE, "")
    stripped = pc.utf8_trim_whitespace(text)
    missing = na | _bools(pc.equal(stripped, ""))
    # A link copied from a page ("mailto:ann@example.com") is no address: the pattern
    # has no ":" in a local part.
    valid = pc.match_substring_regex(stripped, _ARROW_EMAIL).fill_null(False)
    keys = pc.if_else(valid, pc.utf8_lower(stripped), pa.scalar(None, text.type))
    return keys, _bools(valid), missing


def is_key(values: pd.Series, *, wrapped: bool = False) -> np.ndarray:
    """Per value: True where it is an email address or an id (a UUID), as planning reads
    keys (:func:`email_keys`, :func:`~ccpandas.plan.ids.check_ids`); with ``wrapped``,
    also where one is inside what planning refuses around a key: quotes, braces, a
    ``mailto:`` link (the value still says a row was meant).

    Example:
        >>> is_key(pd.Series(["a@b.co", "8b54d1f4-5b0e-11ee-8c99-0242ac120002", "x"]))
        array([ True,  True, False])
        >>> is_key(pd.Series(["mailto:a@b.co", '"{a@b.co}"']), wrapped=True)
        array([ True,  True])
    """
    if wrapped:
        values = values.str.strip().str.strip('"{}').str.removeprefix("mailto:")
    found: np.ndarray = email_keys(values)[1] | (check_ids(values).status == PLANNED)
    return found


def folded(values: Any) -> pa.Array:
    """The strings of ``values`` trimmed and lower-cased (null: not a string), as
    :func:`email_keys` makes its keys but without the address check: a table to look
    keys up in (a value that is no address can only equal keys that are none either,
    and those are never looked up).

    Example:
        >>> folded(pd.Series([" Ann@Example.com", None], dtype=object)).to_pylist()
        ['ann@example.com', None]
    """
    return pc.utf8_lower(pc.utf8_trim_whitespace(arrow_text(values)[0]))


def _bools(values: Any) -> np.ndarray:
    """An Arrow boolean array as numpy (null: False)."""
    out: np.ndarray = values.fill_null(False).to_numpy(zero_copy_only=False)
    return out.astype(bool, copy=False)


# -- numbering and lookups -----------------------------------------------------------------
def factorize_text(arr: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Number the strings of ``arr`` in order of first appearance: ``(codes, uniques)``,
    ``codes`` per value (int64, -1 for null) and ``uniques`` each string once.

    Example:
        >>> codes, uniques = factorize_text(pa.array(["x", None, "y", "x"]))
        >>> codes.tolist(), uniques.to_pylist()
        ([0, -1, 1, 0], ['x', 'y'])
    """
    # Arrow numbers a dictionary in order of first appearance, as first_rows needs.
    encoded = pc.dictionary_encode(arr)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return codes.astype(np.int64, copy=False), encoded.dictionary


def factorize_in(arr: pa.Array, table: pa.Array) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Number the strings of ``arr`` and find each in ``table``, from one hash table over
    both: ``(codes, uniques, found)``. ``codes`` per value of ``arr`` (int64, -1 for
    null) number its distinct strings, *not* in order of first appearance (see
    :func:`~ccpandas.plan.ids.first_rows_any`); ``uniques[code]`` is the string and
    ``found[code]`` its first position in ``table`` (-1: not there).

    Example:
        >>> codes, uniques, found = factorize_in(pa.array(["x", "y", "x"]), pa.array(["y"]))
        >>> [uniques[c].as_py() for c in codes], [int(found[c]) for c in codes]
        (['x', 'y', 'x'], [-1, 0, -1])
    """
    # One encoding hashes each string once, where numbering and then looking up hashed
    # ``arr``'s strings twice (about a third of the time of both).
    n = len(arr)
    both = pa.concat_arrays([arr, table.cast(arr.type) if table.type != arr.type else table])
    codes, uniques = _encode(both, min(_MAX_PARTS, len(both) // _PART_ROWS))
    found = np.full(len(uniques), -1, dtype=np.int64)
    in_table = codes[n:]
    at = np.flatnonzero(in_table >= 0)[::-1]  # reversed: the first occurrence is set last
    found[in_table[at]] = at
    return codes[:n], uniques, found


#: Strings per partition when :func:`factorize_in` splits its strings (at most 64 parts):
#: a hash table of 100,000 strings stays in the CPU's caches, one of millions does not
#: (1.5 million addresses encode about 1.3x faster in 15 parts than at once).
_PART_ROWS, _MAX_PARTS = 100_000, 64


def _encode(strings: pa.Array, parts: int) -> tuple[np.ndarray, pa.Array]:
    """Codes (int64, -1: null) and the distinct strings, in ``parts`` hash tables of the
    strings a hash of a few of their bytes puts together (equal strings in one)."""
    if parts < 2:
        return factorize_text(strings)
    part = _partition(strings, parts)
    order = np.argsort(part, kind="stable")  # 8-bit keys: a radix sort
    bounds = np.searchsorted(part[order], np.arange(parts + 1))
    grouped = strings.take(pa.array(order))
    codes = np.empty(len(strings), dtype=np.int64)
    dictionaries, base = [], 0
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        local, dictionary = factorize_text(grouped.slice(a, b - a))
        codes[order[a:b]] = np.where(local >= 0, local + base, -1)
        dictionaries.append(dictionary)
        base += len(dictionary)
    return codes, pa.concat_arrays(dictionaries)


def _partition(strings: pa.Array, parts: int) -> np.ndarray:
    """Per string, a part in ``[0, parts)`` from its length and its first, second and
    last bytes, read from the Arrow buffers (a null's part does not matter)."""
    _, raw_offsets, raw_data = strings.buffers()
    wide = strings.type == pa.large_string()
    offsets = np.frombuffer(raw_offsets, dtype=np.int64 if wide else np.int32)
    offsets = offsets[strings.offset : strings.offset + len(strings) + 1].astype(np.int64)
    empty = raw_data is None or raw_data.size == 0  # only empty strings and nulls
    data = np.zeros(1, dtype=np.uint8) if empty else np.frombuffer(raw_data, dtype=np.uint8)
    start, length = offsets[:-1], np.diff(offsets)

    def byte(at: np.ndarray, longer_than: int) -> np.ndarray:
        picked = data[np.clip(at, 0, len(data) - 1)].astype(np.uint32)
        return np.where(length > longer_than, picked, np.uint32(0))

    # Multiplicative hashing (uint32, wrapping): similar addresses spread over the parts.
    h = byte(start, 0) * np.uint32(0x9E3779B1) ^ byte(start + 1, 1) * np.uint32(0x85EBCA77)
    h ^= byte(start + length - 1, 0) * np.uint32(0xC2B2AE3D) ^ length.astype(np.uint32)
    h ^= h >> np.uint32(15)
    return (h % np.uint32(parts)).astype(np.uint8)


def positions(table: pa.Array, keys: pa.Array) -> np.ndarray:
    """Per key, the position of its first occurrence in ``table`` (-1: not there):
    one Arrow hash table over ``table``.

    Example:
        >>> positions(pa.array(["a", "b", None]), pa.array(["b", "z"])).tolist()
        [1, -1]
    """
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    if table.type != keys.type:
        table = table.cast(keys.type)
    found: np.ndarray = pc.index_in(keys, value_set=table).fill_null(-1).to_numpy()
    return found.astype(np.int64, copy=False)
