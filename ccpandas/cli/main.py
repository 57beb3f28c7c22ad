"""The ``ccpandas`` command line: the library's removals for scripts, cron and CI.

Every command is a thin layer over the public functions (:mod:`ccpandas.api`,
:mod:`ccpandas.api`, :mod:`ccpandas.readers`, :mod:`ccpandas.auth`), so a run
started here is the same journaled run a notebook sees in ``ccpandas.runs()``.

It is built on :mod:`argparse`: the standard library, no new dependency, and the
emulator's own argparse parser (``python -m ccpandas.emulator``) becomes
``ccpandas emulator`` as a parent parser instead of being rewritten.

Exit codes (:class:`~ccpandas.vocab.ExitCode`, from the result's one summary,
:mod:`ccpandas.run.summary`): 0 every sendable row done (rows never sendable are
skipped and counted, not failures), 1 some pair did not end as asked (or the run
stopped on an error or a timeout), 2 bad usage or input (nothing sent), 3 the daily
quota is spent (``ccpandas resume RUN_ID`` after the reset), 130 interrupted (SIGINT or
SIGTERM). For ``doctor``, 1 means an assumption differs; ``login --refresh`` (the
keep-alive for cron) also gives 4 no saved login, 5 refresh refused (log in again), 6
the token store could not be read or written.

Example:
    >>> main(["plan", "-", "--lists", "Newsletter"])  # doctest: +SKIP
    >>> build_parser().parse_args(["runs", "--json"]).command
    'runs'
"""

from __future__ import annotations

import argparse
import bz2
import codecs
import contextlib
import csv
import dataclasses
import functools
import gzip
import io
import json
import logging
import lzma
import os
import re
import signal
import sys
import threading
import time
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd

import ccpandas
from ccpandas import api, readers
from ccpandas._config import BASE_URL_ENV, env
from ccpandas.auth import TextView
from ccpandas.plan.planner import frame_column, list_names, plural
from ccpandas.report.progress import LogReporter
from ccpandas.run.summary import spent_words
from ccpandas.store.journal import open_journal
from ccpandas.vocab import ExitCode

if TYPE_CHECKING:
    from ccpandas.client.http import Client
    from ccpandas.plan.planner import RemovalPlan
    from ccpandas.run.result import RemovalResult

__all__ = [
    "INPUT_FORMATS",
    "OUTPUT_FORMATS",
    "ExitCode",
    "InputFile",
    "LogReporter",
    "build_parser",
    "main",
    "read_input",
    "read_table",
]

PROG = "ccpandas"


#: File name endings read as input, and the pandas reader each one uses.
INPUT_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".ods": "excel",
}
#: Compressions pandas infers from the name (``contacts.csv.gz``), for CSV and TSV.
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")
#: File name endings ``--output`` writes.
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class _Usage(Exception):
    """Bad usage or input found by the command line itself (exit 2, nothing sent)."""


# --------------------------------------------------------------------------- input


@dataclasses.dataclass(frozen=True)
class InputFile:
    """How FILE was read: its format and, for CSV and TSV, the encoding and separator,
    each with where it came from (``"given"`` by a flag, ``"detected"``, the format's
    ``"default"``, or ``"stream"``: a text stream decoded already).

    Example:
        >>> InputFile("members.csv", "csv", "cp1252", "detected", ";", "detected").text()
        "Read members.csv as CSV: encoding cp1252 (detected), separator ';' (detected)"
    """

    name: str
    format: str
    encoding: str | None = None
    encoding_from: str | None = None
    sep: str | None = None
    sep_from: str | None = None

    def text(self) -> str:
        """One line for people."""
        line = f"Read {self.name} as {_FORMAT_NAMES.get(self.format, self.format)}"
        if self.encoding is None:
            return line
        sep = "tab" if self.sep == "\t" else repr(self.sep)
        return (
            f"{line}: encoding {self.encoding} ({self.encoding_from}), "
            f"separator {sep} ({self.sep_from})"
        )


_FORMAT_NAMES = {"csv": "CSV", "tsv": "TSV", "excel": "Excel", "parquet": "Parquet"}
#: The separators the sniffer chooses from (``--sep`` takes any single character).
_SEPARATORS = ",;\t|"
#: ``--sep`` spellings of a tab that a shell passes through easily.
_TAB_NAMES = ("\\t", "tab", "TAB")
#: How much of a file that is not UTF-8 charset-normalizer looks at.
_DETECT_BYTES = 256 * 1024
#: Byte-order marks, longest first (UTF-32's starts like UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: The first bytes of files that are no text, what they are and their ``--format``.
_NOT_TEXT = (
    (b"PK\x03\x04", "excel", "a workbook (Excel or OpenDocument)"),
    (b"\xd0\xcf\x11\xe0", "excel", "an Excel 97-2003 workbook"),
    # Excel 2.x to 4.0 (BIFF2-4), as pandas tells them (read with xlrd)
    (b"\x09\x00\x04\x00\x07\x00\x10\x00", "excel", "an Excel 2.x workbook"),
    (b"\x09\x02\x06\x00\x00\x00\x10\x00", "excel", "an Excel 3.0 workbook"),
    (b"\x09\x04\x06\x00\x00\x00\x10\x00", "excel", "an Excel 4.0 workbook"),
    (b"PAR1", "parquet", "a Parquet file"),
)
#: Compressed files read whole, decompressed (pandas infers the same from the name).
_OPENERS: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def read_table(
    path: str,
    fmt: str | None = None,
    *,
    stdin: TextIO | None = None,
    encoding: str | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """Read ``path`` with pandas' own reader for its ending (see :data:`INPUT_FORMATS`);
    ``-`` reads CSV from standard input. CSV, TSV and Excel cells are read as text, so
    ids keep their exact spelling; empty cells are missing values. :func:`read_input`
    says how (CSV's encoding and separator are detected unless given).

    Raises a usage error (exit 2) for a missing file, an unknown ending or a file the
    reader cannot parse.

    Example:
        >>> import io
        >>> read_table("-", stdin=io.StringIO("contact_id\\nabc\\n")).contact_id.tolist()
        ['abc']
    """
    return read_input(path, fmt, stdin=stdin, encoding=encoding, sep=sep)[0]


def read_input(
    path: str,
    fmt: str | None = None,
    *,
    stdin: TextIO | None = None,
    encoding: str | None = None,
    sep: str | None = None,
) -> tuple[pd.DataFrame, InputFile]:
    """:func:`read_table`, and how the file was read (an :class:`InputFile`).

    CSV and TSV: the encoding is ``encoding`` if given, else the byte-order mark's,
    else UTF-8 if the bytes are valid UTF-8 with no NUL, else charset-normalizer's guess (cp1252,
    what Excel on Windows writes in Western Europe and the Americas, when it is among
    the likeliest). The separator is ``sep`` if given, else what :class:`csv.Sniffer`
    finds among ``, ; tab |``, else the format's (``,`` for CSV, tab for TSV).

    Example:
        >>> import io
        >>> frame, how = read_input("-", stdin=io.StringIO("email;name\\na@example.com;Ana\\n"))
        >>> frame.columns.tolist(), how.sep, how.sep_from
        (['email', 'name'], ';', 'detected')
    """
    where = "standard input" if path == "-" else path
    if path == "-":
        kind = fmt or "csv"
        if kind not in ("csv", "tsv"):
            raise _Usage(f"standard input (-) is read as CSV or TSV, not {kind}")
        source: Any = stdin if stdin is not None else sys.stdin
    else:
        file = Path(path)
        if not file.exists():
            raise _Usage(f"no such file: {path}")
        if file.is_dir():
            raise _Usage(f"{path} is a directory, not a file")
        kind = fmt or _format_of(file)
        source = file
    if kind not in ("csv", "tsv"):
        for flag, value in (("--encoding", encoding), ("--sep", sep)):
            if value is not None:
                raise _Usage(f"{flag} applies to CSV and TSV input, not to {where} ({kind})")
        return _read_binary(source, kind, where), InputFile(where, kind)
    text, enc, enc_from = _decoded(source, where, encoding)
    if "\n" not in text:  # CR alone ends each line: Excel for Mac's (a CR in a cell stays)
        text = text.replace("\r", "\n")
    # Excel's own first line naming the separator ("sep=;"): no row, and the separator.
    hint = re.match(r"sep=([^\r\n])\r?\n", text)
    text = text[hint.end() :] if hint else text
    if hint is not None and sep is None:
        separator, sep_from = hint[1], "detected"
    else:
        separator, sep_from = _separator(text, kind, sep)
    how = InputFile(where, kind, enc, enc_from, separator, sep_from)
    # A blank line is a row whose cells are empty (Excel writes an empty cell of a
    # one-column sheet so): a missing row, never skipped. Those that start or end the
    # file are no rows of the sheet (one first would be taken for the header).
    text = text.strip("\r\n") + "\n"
    try:
        with warnings.catch_warnings():
            # index_col=False: a row longer than the header is not taken as an index
            # (which slides every field one column along); pandas warns when that
            # drops a value, and a value dropped is a row read wrong: refused.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text), dtype=str, sep=separator, skip_blank_lines=False, index_col=False
            )
        header = next(csv.reader(io.StringIO(text), delimiter=separator), [])
        if '"' in text:  # only a quote makes one value of several lines
            _check_run_on(frame, separator, where)
        return _file_labels(frame, header), how
    except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        # pandas' EmptyDataError is a ValueError. A row longer than the header: the
        # first one warns, a later one is an error naming its line (said in our words).
        longer = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if isinstance(exc, pd.errors.ParserWarning) or longer:
            n = longer.groups() if longer else ()
            line = f" (line {n[1]} has {n[2]} fields, its header {n[0]})" if n else ""
            raise _Usage(
                f"cannot read {where} as {kind} ({how.text()}): a row has more fields than "
                f"its header{line}; quote the values that hold the "
                "separator, or give it with --sep"
            ) from None
        raise _Usage(f"cannot read {where} as {kind} ({how.text()}): {exc}") from None


def _read_binary(source: Path, kind: str, where: str) -> pd.DataFrame:
    try:
        if kind == "excel":
            with source.open("rb") as raw:
                head = raw.read(4096)
            if not head.startswith(tuple(m for m, f, _ in _NOT_TEXT if f == "excel")):
                # A web tool's "Excel export": text (tab-separated, mostly) named .xls,
                # or an HTML table or Excel 2003 XML, which Excel opens and pandas not.
                text = "tsv" if b"\t" in head.split(b"\n")[0] else "csv"
                markup = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith(b"<")
                raise _Usage(
                    f"{where} is no Excel or OpenDocument workbook: "
                    + (
                        "a web page or XML under an Excel name; open it in Excel and save "
                        "it as .xlsx or CSV"
                        if markup
                        else f"if it is a text export, pass --format {text}"
                    )
                )
            with pd.ExcelFile(source) as book:
                name, frame = _one_sheet(pd.read_excel(book, dtype=str, sheet_name=None), where)
            if book.engine == "openpyxl":  # an .xlsx or .xlsm workbook
                _check_calculated(source, name, frame, where)
            if not any(_renamed(c, frame.columns) for c in frame.columns):
                return frame  # no second read of the header row
            first = pd.read_excel(source, sheet_name=name, header=None, nrows=1, dtype=str)
            return _file_labels(frame, first.iloc[0].tolist() if len(first) else [])
        return pd.read_parquet(source)
    except ImportError as exc:  # an optional reader (openpyxl, odfpy) is not installed
        if "openpyxl" in str(exc):
            raise _Usage(
                f"cannot read {where}: reading Excel files needs openpyxl, which is not "
                'installed: pip install "ccpandas[excel]" (or: pip install openpyxl)'
            ) from None
        raise _Usage(f"cannot read {where}: {exc}") from None
    except (ValueError, OSError) as exc:
        # pyarrow's errors are OSError/ValueError.
        raise _Usage(f"cannot read {where} as {kind}: {exc}") from None
    except (KeyError, zipfile.BadZipFile):  # a workbook cut short, a zip of no workbook
        raise _Usage(f"cannot read {where} as {kind}: it is damaged, or no workbook") from None


def _check_calculated(source: Path, sheet: str, frame: pd.DataFrame, where: str) -> None:
    """Refuse a sheet whose formulas have no saved value, none of them (a workbook a
    program wrote and no spreadsheet calculated): pandas reads them as empty cells,
    and a last row of them as no row. Read again only when a cell is empty or a row
    is gone; the values once more only when the sheet has formulas."""
    from openpyxl import load_workbook  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    # A file object: openpyxl refuses a path by its suffix (a workbook named .csv).
    with source.open("rb") as raw, contextlib.closing(load_workbook(raw, read_only=True)) as book:
        cells = book[sheet]
        if not frame.isna().to_numpy().any() and (cells.max_row or 0) <= len(frame) + 1:
            return  # every cell read and every row there (the header's included)
        found = {
            (r, c): f
            for r, row in enumerate(cells.iter_rows(values_only=True), 1)
            for c, f in enumerate(row, 1)
            if isinstance(f, str) and f.startswith("=")
        }
    if not found:
        return
    with (
        source.open("rb") as raw,
        contextlib.closing(load_workbook(raw, read_only=True, data_only=True)) as book,
    ):
        rows = enumerate(book[sheet].iter_rows(values_only=True), 1)
        if any(v is not None for r, row in rows for c, v in enumerate(row, 1) if (r, c) in found):
            return
    (r, c), formula = next(iter(found.items()))
    raise _Usage(
        f"cannot read {where}: its {len(found):,} formula cells have no saved value "
        f"(e.g. {get_column_letter(c)}{r}: {formula[:40]!r}), which reads as empty: a "
        "program wrote the workbook and no spreadsheet calculated it. Open and save it "
        "in Excel or LibreOffice, or save its values as CSV"
    )


def _check_run_on(frame: pd.DataFrame, sep: str, where: str) -> None:
    """Refuse a quoted value whose later lines hold an address or id as a row does: a
    stray quote (``"Bob``) that made the rows up to the next quote part of one value."""
    from ccpandas.plan.keys import is_key

    spans = {name: c[c.str.contains("\n", regex=False, na=False)] for name, c in frame.items()}
    lines = pd.concat(spans).str.split("\n").str[1:].explode().dropna()
    # A swallowed row has a row's separators; a note's line has not.
    lines = lines[lines.str.count(re.escape(sep)) >= frame.shape[1] - 1]
    fields = lines.reset_index(drop=True).str.split(sep, regex=False).explode()
    caught = is_key(fields, wrapped=True)  # even one the planner refuses is a row's key
    if caught.any():
        at = fields.index[caught.argmax()]
        (name, row), line = lines.index[at], lines.iloc[at]
        raise _Usage(
            f"{where}: the {name!r} value {frame.at[row, name].splitlines()[0]!r}... runs on "
            f'over lines that read as rows ({line.strip()!r}): a quote (") opens it that '
            "nothing closes there; remove the stray quote, or quote the value whole"
        )


def _file_labels(frame: pd.DataFrame, header: list[Any]) -> pd.DataFrame:
    """``frame`` with its file's repeated column names back: pandas reads a second
    ``email`` as ``email.1``, and planning ``email`` would leave that column out
    silently; repeated, the planner refuses it (which one is meant?)."""
    counts = Counter(h for h in header if isinstance(h, str) and h)  # blank cells: no names
    if len(header) != frame.shape[1] or all(n == 1 for n in counts.values()):
        return frame
    labels = [
        h if isinstance(h, str) and counts[h] > 1 and str(c).startswith(h) else c
        for h, c in zip(header, frame.columns, strict=True)
    ]
    return frame.set_axis(labels, axis=1)


def _renamed(label: Any, labels: pd.Index) -> bool:
    """Whether ``label`` may be pandas' name for a repeat (``email.1`` beside ``email``)."""
    found = re.fullmatch(r"(.+)\.\d+", label) if isinstance(label, str) else None
    return found is not None and found[1] in labels


def _one_sheet(sheets: dict[str, pd.DataFrame], where: str) -> tuple[Any, pd.DataFrame]:
    """The one sheet of a workbook that has rows: reading the first of several would
    leave the others' rows out silently (as a .zip must hold one file)."""
    full = {name: frame for name, frame in sheets.items() if not frame.empty}
    if len(full) > 1:
        raise _Usage(
            f"{where} has rows on {len(full)} sheets ({', '.join(map(repr, full))}); "
            "ccpandas reads one: save the rows to use on one sheet, or as their own file"
        )
    return next(iter(full.items()), next(iter(sheets.items())))


def _raw(source: Any) -> bytes | str:
    """The bytes of a file (decompressed) or of standard input; text when standard
    input is a text stream without bytes beneath (already decoded)."""
    if isinstance(source, Path):
        suffix = source.suffix.lower()
        if suffix == ".zip":
            with zipfile.ZipFile(source) as archive:
                # Not its folders, nor the AppleDouble twins macOS Finder adds.
                names = [
                    n
                    for n in archive.namelist()
                    if not n.endswith("/") and not n.startswith("__MACOSX/")
                ]
                if len(names) != 1:
                    raise _Usage(f"{source}: a .zip must hold exactly one file, not {len(names)}")
                return archive.read(names[0])
        if suffix == ".zst":
            raise _Usage(f"{source}: .zst is not read; decompress it first (zstd -d)")
        with _OPENERS.get(suffix, open)(source, "rb") as fh:
            data: bytes = fh.read()
        return data
    buffer = getattr(source, "buffer", None)
    return buffer.read() if buffer is not None else source.read()


def _decoded(source: Any, where: str, encoding: str | None) -> tuple[str, str, str]:
    """The text of ``source``, its encoding and where that came from."""
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise _Usage(f"--encoding {encoding}: no such encoding (try cp1252 or utf-8)") from None
    try:
        raw = _raw(source)
        if isinstance(raw, bytes) and raw.startswith(b"\x1f\x8b"):  # gzip, piped or unnamed
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, zlib.error) as exc:
        raise _Usage(f"cannot read {where}: {exc}") from None
    if isinstance(raw, str):  # a text stream: decoded already
        return raw, getattr(source, "encoding", None) or "text", "stream"
    for magic, fmt, what in _NOT_TEXT:
        if raw.startswith(magic):  # any encoding would read it as junk
            raise _Usage(f"{where} is {what}, not text: pass --format {fmt} (or rename it)")
    enc, enc_from = (
        (encoding, "given") if encoding is not None else (_detect(raw, where), "detected")
    )
    try:
        return raw.decode(enc), enc, enc_from
    except UnicodeDecodeError as exc:
        raise _Usage(
            f"cannot read {where} as {enc} ({enc_from}): {exc.reason} at byte {exc.start}; "
            "give its encoding with --encoding (Excel on Windows: cp1252)"
        ) from None


def _detect(raw: bytes, where: str) -> str:
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    # NUL bytes are valid UTF-8 but no text's: UTF-16 or UTF-32 without a BOM.
    if b"\x00" not in raw[:_DETECT_BYTES]:
        with contextlib.suppress(UnicodeDecodeError):
            raw.decode("utf-8")
            return "utf-8"
    import charset_normalizer  # requests' own dependency; only for text that is not UTF-8

    # A sample is enough to choose, and the whole file took seconds for 100,000 rows; a
    # sample that chose wrong fails to decode the rest, which says so (exit 2).
    matches = list(charset_normalizer.from_bytes(raw[:_DETECT_BYTES]))
    if not matches:
        raise _Usage(
            f"cannot tell the encoding of {where}: give it with --encoding (Excel on "
            "Windows: cp1252)"
        )
    best = min(m.chaos for m in matches)
    # Short files fit several code pages about as well; Excel on Windows writes cp1252
    # in Western Europe and the Americas, so it wins whenever it is among the likeliest.
    for match in matches:
        if match.chaos <= best + 0.1 and "cp1252" in match.could_be_from_charset:
            return "cp1252"
    return codecs.lookup(matches[0].encoding).name


def _separator(text: str, kind: str, sep: str | None) -> tuple[str, str]:
    if sep is not None:
        sep = "\t" if sep in _TAB_NAMES else sep
        if len(sep) != 1 or sep in '\r\n"':
            raise _Usage(f"--sep {sep!r}: give one character, such as ';' or ',' (tab: --sep tab)")
        return sep, "given"
    sample = text[:65536]
    if "\n" in sample.rstrip("\r\n"):
        sample = sample[: sample.rfind("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=_SEPARATORS).delimiter, "detected"
    except csv.Error:  # one column, or nothing to tell by
        return ("\t" if kind == "tsv" else ","), "default"


def _format_of(file: Path) -> str:
    suffixes = [s.lower() for s in file.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in _COMPRESSED and suffixes[-2] in (".csv", ".tsv"):
        return INPUT_FORMATS[suffixes[-2]]
    if suffixes and suffixes[-1] in INPUT_FORMATS:
        return INPUT_FORMATS[suffixes[-1]]
    known = ", ".join(INPUT_FORMATS)
    ending = suffixes[-1] if suffixes else "no ending"
    raise _Usage(
        f"cannot tell the format of {file} ({ending}): name it with one of {known} "
        "(CSV and TSV may be compressed: .csv.gz ...), or pass --format"
    )


def _check_output(path: str | None, source: str | None = None, stdin: Any = None) -> None:
    """Check ``--output`` (any command's) before anything is sent; ``source`` is FILE
    (``-``: ``stdin``, a file redirected to it is FILE too)."""
    if path is None:
        return
    file = Path(path)
    if file.suffix.lower() not in OUTPUT_FORMATS:
        raise _Usage(
            f"--output {path}: write .csv or .parquet (the ending picks the format), "
            f"not {file.suffix or 'a name without ending'}"
        )
    with contextlib.suppress(OSError, ValueError, AttributeError):  # missing, no file
        if source == "-":
            same = os.path.samestat(os.fstat(stdin.fileno()), os.stat(path))
        else:
            same = source is not None and os.path.samefile(path, source)
        if same:
            raise _Usage(
                f"--output {path} is FILE itself: writing it would replace the rows read "
                "from it (and their other columns); name another file"
            )
    _writable("--output", path)


def _writable(flag: str, path: str) -> None:
    """A usage error, before anything is sent, unless ``flag`` can write ``path``: its
    folder exists and the file can be opened (a file made here to try is removed)."""
    file = Path(path)
    try:
        file = file.resolve() if file.is_symlink() else file  # written through the link
        if file.is_dir():
            raise _Usage(f"{flag} {path} is a directory: name a file")
        if not file.parent.is_dir():
            raise _Usage(f"{flag} {path}: the folder {file.parent} does not exist")
        existed = file.exists()
        file.open("a").close()
    except OSError as exc:  # a name too long, no permission...
        raise _Usage(f"{flag} {path}: cannot write it ({exc.strerror or exc})") from None
    if not existed:
        file.unlink()


#: What a spreadsheet reads as a formula at the start of a cell (OWASP's CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defused(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with every text cell that a spreadsheet would run as a formula prefixed
    with ``'`` (an input file's ``=HYPERLINK(...)`` comes back in ``contact_id``).

    Example:
        >>> frame = pd.DataFrame({"a": pd.Series(["=1+1", "ok", None], dtype=object)})
        >>> _defused(frame)["a"].tolist()
        ["'=1+1", 'ok', None]
    """
    out = rows.copy()
    for name in out.columns:
        column = out[name]
        if column.dtype != object and not isinstance(column.dtype, pd.StringDtype):
            continue  # numbers, categories of statuses and booleans hold no formula
        text = column.astype(object)
        risky = text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_STARTS))
        if risky.any():
            out[name] = text.where(~risky, "'" + text.astype(str))
    return out


def _list_values(args: argparse.Namespace) -> list[str]:
    values: list[str] = []
    for text in args.lists or ():
        parts = [p.strip() for p in text.split(",")]
        if any(not p for p in parts):
            raise _Usage(
                f"--lists {text!r}: an empty list name; separate names with commas "
                '("Newsletter,Customers"), or give one name per --list'
            )
        values.extend(parts)
    values.extend(v.strip() for v in args.list or ())
    if not values or any(not v for v in values):
        raise _Usage('name the target lists: --lists "Newsletter,Customers" (names or ids)')
    return values


#: ``--snapshot`` values: the library's ``snapshot=`` argument.
_SNAPSHOT: dict[str, bool | str] = {"auto": "auto", "yes": True, "no": False}

# --------------------------------------------------------------------------- progress


def progress_reporter(mode: str, stderr: TextIO) -> Any:
    """``--progress``: bars on a terminal, timestamped lines in a log (``make demo >
    demo.log``, CI) instead of tqdm's ``\\r`` redraws, or nothing.

    Example:
        >>> progress_reporter("none", sys.stderr)
        False
    """
    if mode == "none":
        return False
    if mode == "bar" or (mode == "auto" and stderr.isatty()):
        from ccpandas.report.progress import TqdmReporter  # tqdm only for a terminal

        return TqdmReporter(file=stderr)
    return LogReporter(stderr)


def _run_options(s: _Session) -> dict[str, Any]:
    """``--progress``, ``--timeout`` and (but for ``undo``) ``--wait-for-quota``: the
    run options of ``remove``, ``add``, ``sync``, ``resume`` and ``undo``."""
    progress = progress_reporter(s.args.progress, s.stderr)
    options = {"progress": progress, "timeout": s.args.timeout}
    if hasattr(s.args, "wait_for_quota"):
        options["wait_for_quota"] = s.args.wait_for_quota
    return options


# --------------------------------------------------------------------------- the session


class _Session:
    """One command's streams, client and options."""

    def __init__(self, args: argparse.Namespace, stdin: TextIO, stdout: TextIO, stderr: TextIO):
        self.args = args
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self._client: Client | None = None
        self.json: bool = args.json
        #: How FILE was read (plan and remove), for the report.
        self.input: InputFile | None = None

    def out(self, text: str = "") -> None:
        try:
            print(text, file=self.stdout, flush=True)
        except BrokenPipeError:
            # The reader left (`ccpandas runs | head -1`): the rest goes nowhere, and
            # the command ends with its own exit code, not a traceback at exit.
            gone, self.stdout = self.stdout, io.StringIO()
            with contextlib.suppress(OSError, ValueError):  # its unwritten buffer too
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, gone.fileno())
                os.close(null)

    def err(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    def client(self) -> Client:
        """A client from the first token source that has one, as ``ccpandas.connect()``;
        never an interactive login (a cron job must not wait for a browser)."""
        if self._client is None:
            try:
                self._client = ccpandas.connect(
                    self.args.client_id,
                    base_url=self.args.base_url,
                    auth_url=self.args.auth_url,
                    interactive=False,
                    set_default=False,
                )
            except ccpandas.AuthError as exc:
                if "ccpandas.login(" not in str(exc):  # else in_flags gives this advice
                    exc.add_note(
                        "From the command line: set CC_ACCESS_TOKEN, or log in once with "
                        "`ccpandas login --client-id YOUR_API_KEY`."
                    )
                raise
        return self._client

    def client_or_none(self) -> Client | None:
        """A client if one can be had; None when no token source has one (planning
        with list ids needs none)."""
        try:
            return self.client()
        except ccpandas.AuthError:
            return None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def confirm(self, question: str) -> None:
        """Ask on a terminal; refuse without ``--yes`` when there is none."""
        if self.args.yes:
            return
        if not self.stdin.isatty():
            raise _Usage(  # every command that asks has --dry-run (undo too)
                "standard input is not a terminal, so nobody can confirm: pass --yes to "
                "go ahead without asking (or --dry-run to see the plan). Nothing was sent."
            )
        print(f"{question} [y/N] ", end="", file=self.stderr, flush=True)
        answer = self.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise _Usage("not confirmed: nothing was sent")


# --------------------------------------------------------------------------- reports


def _finish(
    s: _Session,
    command: str,
    result: RemovalResult,
    names: dict[str, str],
    error: BaseException | None,
) -> int:
    """Print the result's one summary (text, or ``--json``); its outcome is the exit
    status (:class:`~ccpandas.vocab.RunOutcome`, docs/cli.md)."""
    from ccpandas.run.summary import Summary

    output = _write_output(s, result.rows)
    summary = Summary.of(result, error=error, names=names)
    if summary.error:  # the library's words for the next step, as flags and commands
        summary = dataclasses.replace(summary, error=in_flags(summary.error))
    if s.json:
        _print_json(s, summary.to_json(command, output))
    else:
        s.out(summary.report_text(output))
    return int(summary.exit_code)


def _write_output(s: _Session, rows: pd.DataFrame) -> str | None:
    """``--output``: write ``rows`` there; the path (None without the flag)."""
    output = s.args.output
    if output is None:
        return None
    # An unnamed index is the input's row numbers: a column without a header, not data.
    keep_index = any(name is not None for name in rows.index.names)
    if OUTPUT_FORMATS[Path(output).suffix.lower()] == "csv":
        _defused(rows).to_csv(output, index=keep_index)
    else:
        # Object columns of text and None (activity_id, error) as nullable strings.
        rows.to_parquet(output, index=True)
    return output


def _print_json(s: _Session, body: dict[str, Any]) -> None:
    # How FILE was read (plan, remove, add, sync); resume and undo read no file.
    body["input"] = dataclasses.asdict(s.input) if s.input else None
    s.out(json.dumps(body, default=str))


def _show_plan(s: _Session, plan: RemovalPlan) -> None:
    pattern, spelling = _UNDO_CALL  # the plan's undo line, as the command that does it
    s.out(pattern.sub(spelling, str(plan)))
    if s.input is not None:
        s.out(s.input.text())


def _settled(run: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """Run ``run()`` and return ``(result, None)``, or ``(error.result, error)`` when it
    stopped on an error that carries the result so far (a Ctrl-C too: the run settles
    its journal, then the interrupt carries the result). Any other error propagates."""
    try:
        return run(), None
    except (ccpandas.CCError, KeyboardInterrupt) as exc:
        result = getattr(exc, "result", None)
        if result is None:
            raise
        return result, exc


# --------------------------------------------------------------------------- commands


#: How a command readies its table for people (``runs``: dates, short names...).
_Shown = Callable[[pd.DataFrame], pd.DataFrame]


def _cmd_lists(s: _Session) -> int:
    lists = readers.read_contact_lists(s.client(), status=s.args.status, progress=False)
    frame = lists[["name", "list_id", "membership_count"]].rename(
        columns={"membership_count": "members"}
    )
    return _table(s, frame, "No lists.")


def _table(s: _Session, frame: pd.DataFrame, empty: str, shown: _Shown | None = None) -> int:
    """``--json``: the rows as JSON records; else the table as text (as ``shown``
    readies it), or ``empty`` when it has no rows."""
    if s.json:
        s.out(json.dumps(json.loads(frame.to_json(orient="records", date_format="iso"))))
    elif frame.empty:
        s.out(empty)
    else:
        s.out((shown(frame) if shown else frame).to_string(index=False))
    return ExitCode.OK


def _plan(s: _Session) -> tuple[RemovalPlan, dict[str, str], Client | None]:
    """Read FILE and plan; sends at most the one listing that resolves list names."""
    args = s.args
    values = _list_values(args)
    data, s.input = read_input(
        args.file, args.format, stdin=s.stdin, encoding=args.encoding, sep=args.sep
    )
    if args.column not in data.columns and args.column in data.index.names:
        # A Parquet file's column that pandas' metadata makes the index is a column too.
        data = data.reset_index(args.column)
    frame_column(data, args.column)  # a column it lacks: no request, not even the listing
    api.check_change(args.command, _SNAPSHOT[args.snapshot], values)  # before the listing
    sends = args.command in _CHANGES and not args.dry_run
    client = s.client() if sends else s.client_or_none()
    try:
        # Names are resolved now (the one listing); UUIDs are checked by the plan, after
        # the data, so bad data never costs that listing.
        targets = api.resolve_targets(tuple(values), client if list_names(values) else None)
    except ccpandas.AuthError as exc:
        exc.add_note("List names are resolved through the API: give list ids, or connect.")
        raise
    # The names the user gave, for the report (a value that was an id names nothing).
    names = api.given_names(values, targets.ids)
    snapshot = _SNAPSHOT[args.snapshot]
    if client is None and snapshot == "auto":
        snapshot = False  # `ccpandas plan` with no login: ids plan offline (emails cannot)
    try:
        plan = api.plan_list_removal(
            data,
            targets,
            column=args.column,
            client=client,
            snapshot=snapshot,
            by=args.by,
            progress=progress_reporter(args.progress, s.stderr) if snapshot is not False else False,
            kind=args.command if args.command in _CHANGES else "remove",
            max_removed=args.max_removed,
            # A run (not --dry-run, not `plan`) fits in today's quota before its first read.
            wait_for_quota=args.wait_for_quota if sends else None,
        )
    except ccpandas.PlanError as exc:
        _refused_rows(s, data, exc)
        raise
    # The names as given go into the journal: `ccpandas resume` elsewhere shows them.
    plan = dataclasses.replace(plan, list_names={**names, **plan.list_names})
    if hasattr(args, "verify"):  # shown, asked and checked with what --verify spends
        plan = api.costed_for(plan, _VERIFY[args.verify])
    return plan, names, client


def _refused_rows(s: _Session, data: pd.DataFrame, exc: ccpandas.PlanError) -> None:
    """A PlanError whose values are rows of FILE (their values in its column; the
    message names a few): ``--output`` gets every such row, to see which to drop."""
    column = s.args.column
    if not exc.every_row or exc.column != column or column not in data.columns:
        return  # a few examples (an error of the column's values), not every row
    rows = data[data[column].isin(exc.values)]
    if not len(rows):
        return
    if s.args.output is None:
        exc.add_note(f"Give --output PATH to write their {len(rows):,} rows to a file.")
    else:
        exc.add_note(f"Wrote their {len(rows):,} rows to {_write_output(s, rows)}.")


def _cmd_plan(s: _Session) -> int:
    plan, names, _ = _plan(s)
    output = _write_output(s, plan.rows)
    if s.json:
        body = {"command": "plan", **plan.summary(), "list_ids": list(plan.list_ids)}
        body["list_names"] = [names.get(i) for i in plan.list_ids]
        body["output"] = output
        _print_json(s, body)
    else:
        _show_plan(s, plan)
        if output is not None:
            s.out(f"Wrote {plan.n_rows:,} rows to {output}")
    return ExitCode.OK


#: ``--verify`` values: the library's ``verify=`` argument.
_VERIFY: dict[str, bool | str] = {"auto": "auto", "full": True, "changed": "changed"}
_VERIFY.update({"sample": "sample", "none": False})

#: The commands that change lists: each is the kind of run it starts.
_CHANGES = ("remove", "add", "sync")


def _question(plan: RemovalPlan, names: dict[str, str]) -> str:
    """The confirmation: who is removed (added) on which lists, in how many requests."""
    targets = ", ".join(names.get(i, i) for i in plan.list_ids)
    lists = f"{plan.n_lists:,} list{'s' * (plan.n_lists != 1)} ({targets})"
    # Every request saying yes spends: the changes, the polls and the check after ("more":
    # the plan's "in all" counts its reads, spent already).
    more = [f"{plural(plan.expected_polls, 'poll')}"] * bool(plan.expected_polls)
    more += [f"{plural(plan.verify_requests, 'read')} to verify"] * bool(plan.verify_requests)
    requests = f"with {plural(plan.n_requests, 'request')}" + (
        f" (about {api.run_requests(plan):,} more, with {' and '.join(more)})" if more else ""
    )
    m = plan.membership
    if plan.kind == "remove" or m is None:
        verb, where = ("Add", "to") if plan.kind == "add" else ("Remove", "from")
        return f"{verb} {plan.n_contacts:,} contacts {where} {lists} {requests}?"
    changes = m.per_list()
    adds, removes = sum(c.added for c in changes), sum(c.removed for c in changes)
    return f"On {lists}: add {adds:,} and remove {removes:,} memberships {requests}?"


def _cmd_remove(s: _Session) -> int:
    plan, names, client = _plan(s)
    command = s.args.command
    if not s.json:
        _show_plan(s, plan)
    if s.args.dry_run:
        return _finish(s, command, api.run_plan(plan, client, dry_run=True), names, None)
    s.confirm(_question(plan, names))
    run = functools.partial(api.run_plan, plan, verify=_VERIFY[s.args.verify])
    result, error = _settled(lambda: run(s.client(), **_run_options(s)))
    return _finish(s, command, result, names, error)


def _cmd_resume(s: _Session) -> int:
    if s.args.base_url is None and env(BASE_URL_ENV) is None:
        # The API the run started on (the journal keeps it): "ccpandas resume RUN_ID",
        # as a stopped run prints it, works after a run started with --base-url too.
        s.args.base_url = open_journal().run_record(s.args.run_id)["base_url"]
    result, error = _settled(lambda: api.resume(s.args.run_id, s.client(), **_run_options(s)))
    return _finish(s, "resume", result, {}, error)


def _cmd_runs(s: _Session) -> int:
    frame = api.runs()
    if s.args.limit:
        frame = frame.head(s.args.limit)
    return _table(s, frame, "No runs in the journal.", _runs_shown)


def _runs_shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``runs`` table as people read it: dates, short list names, counts, shares."""
    columns = ["run_id", "started_at", "kind", "state", "list_names", "contacts", "progress"]
    shown = frame[[*columns, "requests_spent", "parent", "stop_reason"]]

    def count(n: Any) -> str:
        return "" if pd.isna(n) else f"{int(n):,}"

    # "at least 3": a lower bound (a killed process's count), as the run's summary says.
    spent = [
        "" if pd.isna(n) else spent_words(int(n), bool(low))
        for n, low in zip(frame["requests_spent"], frame["requests_spent_at_least"], strict=True)
    ]
    return shown.assign(
        started_at=shown["started_at"].dt.strftime("%Y-%m-%d %H:%M UTC"),
        list_names=shown["list_names"].map(_short_names),
        contacts=shown["contacts"].map(count),
        progress=shown["progress"].map("{:.0%}".format),
        parent=shown["parent"].fillna(""),
        stop_reason=shown["stop_reason"].fillna(""),
        requests_spent=spent,  # "": not journaled
    ).rename(columns={"list_names": "lists", "requests_spent": "spent"})


def _short_names(names: str, width: int = 40) -> str:
    """ "Newsletter, Customers" (``runs()`` always has the text), cut to ``width``
    characters for the ``runs`` table."""
    return names if len(names) <= width else names[: width - 3].rstrip(", ") + "..."


def _cmd_undo(s: _Session) -> int:
    args = s.args
    if not args.dry_run and not args.yes:  # nothing to confirm: no question
        from ccpandas.run.undo import undo_promise

        try:  # the panel's words: what the undo may change, from the journal
            promise = undo_promise(ccpandas.run_result(args.run_id))
        except ccpandas.CCError:  # an unknown run: the undo below says so
            promise = None
        s.confirm(f"Undo run {args.run_id}{f': {promise}' if promise else ''}?")
    undo = functools.partial(ccpandas.undo, args.run_id, force=args.force, dry_run=args.dry_run)
    result, error = _settled(lambda: undo(client=s.client(), **_run_options(s)))
    if hasattr(result, "runs") and hasattr(result, "plan"):
        if args.dry_run and not s.json:  # the preview, as `remove --dry-run` shows its plan
            _show_plan(s, result.plan)
        return _finish(s, "undo", result, dict(getattr(result.plan, "list_names", {})), error)
    s.out(str(result))
    return ExitCode.OK


#: ``login --refresh``: the exit status for each AuthError.error_key.
_REFRESH_EXITS = {
    "no_saved_login": ExitCode.NO_LOGIN,
    "invalid_grant": ExitCode.REFRESH_REFUSED,
    "no_refresh_token": ExitCode.REFRESH_REFUSED,
    "token_store": ExitCode.STORE_FAILED,
    None: ExitCode.USAGE,  # e.g. several saved logins and no --client-id
}


def _cmd_refresh(s: _Session) -> int:
    """``login --refresh``: renew and re-save the saved login, no browser (cron)."""
    from ccpandas.auth.connect import refresh_saved_login

    try:
        creds = refresh_saved_login(s.args.client_id, auth_url=s.args.auth_url)
    except ccpandas.AuthError as exc:
        code = _REFRESH_EXITS.get(exc.error_key, ExitCode.FAILED)
        later = (
            "\nThe saved login is unchanged; try again later." if code == ExitCode.FAILED else ""
        )
        s.err(f"{PROG} login --refresh: {_message(exc)}{later}")
        return code
    valid = ""
    if creds.expires_at is not None:
        valid = time.strftime(", valid until %Y-%m-%d %H:%M UTC", time.gmtime(creds.expires_at))
    s.out(f"Refreshed and saved the login of {creds.client_id}{valid}.")
    return ExitCode.OK


class _LoginLines(TextView):
    """The login's link, code and progress on stderr, but not how it failed: main prints
    that error once, in the command line's words."""

    def status(self, state: str, message: str) -> None:
        if state in ("waiting", "connected"):
            super().status(state, message)


def _cmd_login(s: _Session) -> int:
    args = s.args
    if args.refresh:
        return _cmd_refresh(s)
    client = ccpandas.login(
        args.client_id,
        flow=args.flow,
        auth_url=args.auth_url,
        base_url=args.base_url,
        open_browser=False if args.no_browser else None,
        # The link and code go to stderr: stdout stays the command's result.
        view=_LoginLines(s.stderr),
        timeout=args.timeout,
        set_default=False,
    )
    client.close()
    s.out("Logged in; the next commands use this login until `ccpandas logout`.")
    return ExitCode.OK


def _cmd_logout(s: _Session) -> int:
    args = s.args
    removed = ccpandas.logout(args.client_id, revoke=not args.no_revoke, auth_url=args.auth_url)
    s.out("Logged out: the saved login is deleted." if removed else "No saved login to remove.")
    return ExitCode.OK


def _cmd_doctor(s: _Session) -> int:
    path = s.args.report
    if path is not None:
        _writable("--report", path)
    report = api.doctor(s.client())
    if path is not None:
        report.write_report(path)
    if s.json:
        checks = report.to_frame().to_dict(orient="records")
        body = {"command": "doctor", "ok": report.ok, "requests": report.requests}
        s.out(json.dumps({**body, "checks": checks, "report": path}))
    else:
        s.out(str(report))
        if path is not None:
            s.out(f"Wrote the anonymised report (shapes and key names only) to {path}")
    return ExitCode.OK if report.ok else ExitCode.FAILED


def _cmd_emulator(s: _Session) -> int:
    from ccpandas.emulator.__main__ import serve

    return serve(s.args, s.args.emulator_parser)


_COMMANDS: dict[str, Callable[[_Session], int]] = {
    "lists": _cmd_lists,
    "plan": _cmd_plan,
    "remove": _cmd_remove,
    "add": _cmd_remove,
    "sync": _cmd_remove,
    "runs": _cmd_runs,
    "resume": _cmd_resume,
    "undo": _cmd_undo,
    "login": _cmd_login,
    "logout": _cmd_logout,
    "doctor": _cmd_doctor,
    "emulator": _cmd_emulator,
}


# --------------------------------------------------------------------------- the parser


def _common() -> argparse.ArgumentParser:
    """Options every command (but ``emulator``) takes, before or after its name.

    Their default is SUPPRESS so a subcommand never overwrites a value given before it.
    """
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = common.add_argument_group("connection and output")
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="the API (default: CC_BASE_URL, else Constant Contact's). The token comes "
        "from CC_ACCESS_TOKEN (refreshed with CC_REFRESH_TOKEN and CC_CLIENT_ID), else "
        "the saved login",
    )
    group.add_argument(
        "--client-id",
        metavar="ID",
        help="your application's API key: picks the saved login (default: CC_CLIENT_ID)",
    )
    group.add_argument("--auth-url", metavar="URL", help="the OAuth2 server (default: CC_AUTH_URL)")
    group.add_argument("--json", action="store_true", help="print one JSON object (machines)")
    group.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    return common


def _file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="CSV, TSV, Parquet or Excel; - reads CSV")
    parser.add_argument(
        "--lists",
        action="append",
        metavar="NAMES",
        help='target lists, names or ids, comma-separated ("Newsletter,Customers")',
    )
    parser.add_argument(
        "--list",
        action="append",
        metavar="NAME",
        help="one target list, name or id, taken whole (for a name with a comma)",
    )
    parser.add_argument(
        "--column",
        default="contact_id",
        help="the column of contact ids or email addresses (default: contact_id)",
    )
    parser.add_argument(
        "--by",
        choices=("auto", "contact_id", "email"),
        default="auto",
        help="what the column holds (auto: told from its values)",
    )
    parser.add_argument(
        "--snapshot",
        choices=tuple(_SNAPSHOT),
        default="auto",
        help="read the lists' members first, send only what changes and verify after: "
        "auto (always for emails; for ids when cheap), yes, no (default: auto)",
    )
    parser.add_argument(
        "--format",
        choices=sorted(set(INPUT_FORMATS.values())),
        help="read FILE as this format whatever its name",
    )
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="the encoding of a CSV or TSV FILE, e.g. cp1252 or utf-8 (default: detected)",
    )
    parser.add_argument(
        "--sep",
        metavar="CHAR",
        help="the separator of a CSV or TSV FILE, e.g. ';' or tab (default: detected)",
    )
    parser.add_argument(
        "--output", metavar="PATH", help="write the per-row result to PATH (.csv or .parquet)"
    )


def _run_flags(parser: argparse.ArgumentParser, *, quota: bool = True) -> None:
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="stop waiting for activities after this long (exit 1; resume follows them)",
    )
    if quota:
        parser.add_argument(
            "--wait-for-quota",
            action="store_true",
            help="sleep through a spent daily quota (until 00:00 UTC) instead of stopping",
        )
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "log", "none"),
        default="auto",
        help="progress on stderr: bars on a terminal, timestamped lines otherwise (auto)",
    )


def _max_removed(text: str) -> float | int | None:
    """``--max-removed``: ``0.5`` (a share), ``200`` (a count) or ``none``."""
    from ccpandas.plan.membership import max_removed_of

    try:
        return max_removed_of(text)
    except ccpandas.PlanError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(text: str) -> float:
    """``--timeout``: seconds >= 0, refused by argparse before any request (a negative
    one would fail after the plan's reads; NaN would make ``login`` wait forever)."""
    from ccpandas.errors import check_timeout

    try:
        seconds = float(text)
        check_timeout(seconds, "--timeout")
    except ValueError:
        raise argparse.ArgumentTypeError(f"give seconds >= 0, not {text!r}") from None
    return seconds


def _non_negative(text: str) -> int:
    """``runs --limit``: 0 (all) or more; pandas' ``head(-1)`` would drop the oldest."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"give a count >= 0 (0: all), not {text!r}")
    return int(text)


def _change_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """``remove``, ``add`` and ``sync``: one set of flags (``sync`` adds its guard)."""
    for name, text in (
        ("remove", "remove FILE's contacts from lists"),
        ("add", "put FILE's contacts on lists (only non-members are sent)"),
        ("sync", "make each list hold exactly FILE's contacts (adds and removes)"),
    ):
        p = add(name, help=text)
        _file_options(p)
        p.add_argument("--dry-run", action="store_true", help="plan and report; send nothing")
        p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
        p.add_argument(
            "--verify",
            choices=tuple(_VERIFY),
            default="auto",
            help="how to check what changed at the end, with a snapshot: auto (the plan's "
            "choice, at most the sends' cost), full (re-read the lists), changed, sample, "
            "none (default: auto)",
        )
        _run_flags(p)
    p.add_argument(
        "--max-removed",
        type=_max_removed,
        default=0.5,
        metavar="SHARE|N|none",
        help="refuse a sync that removes more of any list than this share of its members "
        "(0.5), count (200) or none (default: 0.5)",
    )


def _undo_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    """``undo RUN_ID``: its flags."""
    p = add("undo", help="reverse a run: put back what it removed, take off what it added")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--dry-run", action="store_true", help="read the lists and preview the undo; send nothing"
    )
    p.add_argument("--output", metavar="PATH", help="write the per-row result (.csv or .parquet)")
    p.add_argument(
        "--force",
        action="store_true",
        help="undo even a run already undone, one whose pairs later runs changed again "
        "(reverting those runs for them), or a stopped run with a request sent without an "
        "answer (its activity may still take members off after the undo)",
    )
    _run_flags(p, quota=False)


def build_parser() -> argparse.ArgumentParser:
    """The ``ccpandas`` parser with every subcommand.

    Example:
        >>> build_parser().parse_args(["remove", "x.csv", "--lists", "A", "--yes"]).yes
        True
    """
    from ccpandas.emulator.__main__ import build_parser as emulator_parser

    common = _common()
    parser = argparse.ArgumentParser(
        prog=PROG,
        parents=[common],
        description="Remove contacts from Constant Contact lists, add them, or sync a list, "
        "from a file of contact ids or email addresses; every run is journaled and resumable. "
        "Exit codes: 0 done (rows never sendable are skipped, counted "
        "apart), 1 some contacts not changed as asked, activities still running at "
        "--timeout, or stopped (doctor: an assumption differs), 2 bad usage or input "
        "(nothing sent), "
        "3 quota spent (resume later), 130 interrupted (Ctrl-C, SIGTERM); login --refresh: "
        "4 no saved login, 5 refresh refused, 6 token store failed.",
    )
    parser.add_argument("--version", action="version", version=f"ccpandas {ccpandas.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # Every command but emulator takes the common options.
    add = functools.partial(sub.add_parser, parents=[common])
    p = add("lists", help="the account's lists: name, id, members")
    p.add_argument("--status", choices=("active", "deleted", "all"), default="active")

    p = add("plan", help="what a removal would send (dry run; nothing sent)")
    _file_options(p)

    _change_commands(add)

    p = add("runs", help="the runs in the journal, newest first")
    p.add_argument(
        "--limit", type=_non_negative, default=20, help="show this many (0: all; default 20)"
    )

    p = add("resume", help="continue a stopped or interrupted run")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--output", metavar="PATH", help="write the per-row result (.csv or .parquet)")
    _run_flags(p)

    _undo_command(add)

    p = add("login", help="log in with OAuth2 and save the login")
    p.add_argument("--flow", choices=("device", "pkce"), default="device")
    p.add_argument("--no-browser", action="store_true", help="never open a browser (pkce)")
    p.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="give up after this long")
    p.add_argument(
        "--refresh",
        action="store_true",
        help="refresh and re-save the saved login, no browser (keep-alive for cron); exit "
        "4 no saved login, 5 refresh refused, 6 token store failed",
    )

    p = add("logout", help="revoke and delete the saved login")
    p.add_argument("--no-revoke", action="store_true", help="delete here only; do not revoke")

    p = add(
        "doctor",
        help="check what ccpandas assumes against the account (read-only; exit 1: differs)",
    )
    p.add_argument(
        "--report",
        metavar="FILE",
        help="write the answers' shapes and key names (no value of the account) as JSON",
    )

    emu = emulator_parser(f"{PROG} emulator", add_help=False)
    p = sub.add_parser(
        "emulator",
        parents=[emu],
        help="serve the local emulator (same options as python -m ccpandas.emulator)",
        description=emu.description,
    )
    p.set_defaults(emulator_parser=p)
    return parser


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def _plain_warnings(stderr: TextIO) -> Iterator[None]:
    """Library warnings (a run longer than today's quota...) as one stderr line each."""

    def show(message: Any, category: Any, *rest: Any, **kw: Any) -> None:
        print(f"{PROG}: warning: {in_flags(str(message))}", file=stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (cron, systemd, ``timeout``) stops a command as Ctrl-C does: a run
    settles its journal and reports, exit 130; not a death with no word."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit status (:class:`ExitCode`).

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        ccpandas 0.1.0
        0
    """
    streams = (stdout or sys.stdout, stderr or sys.stderr)
    with _escaped(*streams):
        return _main(argv, stdin or sys.stdin, *streams)


@contextlib.contextmanager
def _escaped(*streams: TextIO) -> Iterator[None]:
    """A list name the code page lacks (Windows writes a redirected stdout in it) is
    shown as \\u2615, not a UnicodeEncodeError at the first line that holds it; the
    streams' own handling comes back after (``main()`` may run inside a program)."""
    before = [getattr(stream, "errors", None) for stream in streams]
    _reconfigure(streams, ["backslashreplace"] * len(streams))
    try:
        yield
    finally:
        _reconfigure(streams, before)


def _reconfigure(streams: Sequence[TextIO], errors: Sequence[str | None]) -> None:
    for stream, handling in zip(streams, errors, strict=True):
        with contextlib.suppress(AttributeError, ValueError, TypeError):
            stream.reconfigure(errors=handling)  # type: ignore[attr-defined]


def _main(argv: Sequence[str] | None, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv, argparse.Namespace(**_ABSENT))
    except SystemExit as exc:  # --help, --version, or a usage error (status 2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else ExitCode.USAGE
    if args.verbose and args.command != "emulator":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=stderr)
    session = _Session(args, stdin, stdout, stderr)
    try:
        with _plain_warnings(stderr), _sigterm_interrupts():
            _check_output(args.output, getattr(args, "file", None), stdin)  # before any request
            return int(_COMMANDS[args.command](session))
    except KeyboardInterrupt:
        session.err(f"{PROG}: interrupted")
        return ExitCode.INTERRUPTED
    except _Usage as exc:
        session.err(f"{PROG} {args.command}: {exc}")
        return ExitCode.USAGE
    except ccpandas.QuotaExceededError as exc:
        session.err(f"{PROG} {args.command}: {_message(exc)}")
        return ExitCode.QUOTA
    except ccpandas.CCError as exc:
        # Raised before a run started (a run's own errors are reported by _finish).
        session.err(f"{PROG} {args.command}: {_message(exc)}\nNothing was changed.")
        return ExitCode.USAGE
    finally:
        session.close()


#: What a command without the option reads (the connection options given before the
#: command name are kept: a subcommand's absent option is SUPPRESSed, never None).
_ABSENT = {"json": False, "verbose": False, "yes": False, "output": None, "progress": "auto"}
_ABSENT |= {"client_id": None, "base_url": None, "auth_url": None, "max_removed": None}


def _message(exc: BaseException) -> str:
    return in_flags("\n".join([str(exc), *getattr(exc, "__notes__", ())]))


#: ``snapshot=`` values and their ``--snapshot`` spellings.
_YES_NO = {"True": "yes", "False": "no", "'auto'": "auto"}
#: The library's words for its arguments and calls, and the command line's for them.
_UNDO_CALL = (
    re.compile(r"ccpandas\.undo\((?:run_id|'([^']+)')\)"),
    lambda m: f"ccpandas undo {m[1] or 'RUN_ID'}",
)
_PYTHON_WORDS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str], ...] = (
    (re.compile(r"\bsnapshot=True or '?auto'?"), "--snapshot yes or auto"),
    (re.compile(r"\bsnapshot=(True|False|'auto')"), lambda m: "--snapshot " + _YES_NO[m[1]]),
    (re.compile(r"\bwait_for_quota=True"), "--wait-for-quota"),
    (re.compile(r"\bverify=False"), "--verify none"),
    (re.compile(r"\bforce=True(?: \(--force\))?"), "--force"),
    (re.compile(r"\bcolumn='\.\.\.'"), "--column NAME"),
    (
        re.compile(r"\b(column|by|max_removed|timeout)=('([^']*)'|[\w.]+)"),
        lambda m: f"--{m[1].replace('_', '-')} {m[3] if m[3] is not None else m[2]}",
    ),
    (re.compile(r"ccpandas\.resume\('([^']+)'(?:, client=client)?\)"), r"ccpandas resume \1"),
    (re.compile(r"ccpandas\.runs\(\)"), "ccpandas runs"),
    # No wait command: an undo asks the API itself whether the activities ended.
    (re.compile(r"ccpandas\.run_result\('[^']+'\)\.wait\(\) follows them; "), ""),
    _UNDO_CALL,
    (re.compile(r"raise max_removed \(None"), "raise --max-removed (none"),
    # A refusal's rows are written by --output (its note says so), not read off `values`.
    (re.compile(r" \(the error's values are their rows' values, every spelling\)"), ""),
    (re.compile(r"the error's values are their rows' values, every spelling: "), ""),
    # The command line reads a file's first row as its header: no header= to pass.
    (re.compile(r",? or read it with pandas' header=\w+"), ""),
    (re.compile(r"(?:ccpandas\.)?read_contact_lists\(\)"), "ccpandas lists"),
    # The command line has no token option, and names its login command once.
    (re.compile(r"Pass token=\.\.\., set\b"), "Set"),
    (re.compile(r"pass a fresh token as token=\.\.\. or in\b"), "set a fresh token in"),
    (re.compile(r" \(or ccpandas\.login\(\)\)"), ""),
    (re.compile(r"ccpandas\.login\([^)]*\)"), "ccpandas login --client-id YOUR_API_KEY"),
)


def in_flags(text: str) -> str:
    """``text`` with the library's argument and call spellings as the command line's
    flags and commands: a message written for Python, shown by the CLI.

    Example:
        >>> in_flags("pass snapshot=True or 'auto' (or by='contact_id')")
        'pass --snapshot yes or auto (or --by contact_id)'
        >>> in_flags("continue with ccpandas.resume('20250301-231501-7f3a2c')")
        'continue with ccpandas resume 20250301-231501-7f3a2c'
        >>> in_flags("ccpandas.runs() lists them")
        'ccpandas runs lists them'
    """
    for pattern, spelling in _PYTHON_WORDS:
        text = pattern.sub(spelling, text)
    return text
