"""Files as people have them: CSVs that Excel on Windows saves (cp1252, CRLF), European
semicolons, UTF-8 with a BOM, tabs; the flags that override detection; Excel input
without openpyxl. Each is planned through the command line against the emulator."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from cli_support import child_env

import ccpandas
from ccpandas.cli.main import ExitCode, _Usage, main, read_input

#: Names an export from Europe holds: é, è, ü, ß, ø, and cp1252's own € and quotes.
NAMES = ["Renée", "Lefèvre-Crémieux", "Müller", "Strauß", "Søren", "€ “VIP”"]


@pytest.fixture
def members(api: ccpandas.Client, lists: pd.DataFrame) -> pd.DataFrame:
    """The first list's members, with accented names beside their ids and emails."""
    frame = ccpandas.read_contacts(api, lists=[lists["list_id"].iloc[0]])
    out = frame[["contact_id", "email"]].astype(object)
    out["name"] = [NAMES[i % len(NAMES)] for i in range(len(out))]
    return out


def _write(frame: pd.DataFrame, path: Path, *, sep: str, encoding: str) -> Path:
    # lineterminator CRLF: as Excel on Windows saves "CSV" files.
    frame.to_csv(path, index=False, sep=sep, encoding=encoding, lineterminator="\r\n")
    return path


def _plan(cli, path: Path, lists: pd.DataFrame, *flags: str) -> dict:
    ran = cli("plan", str(path), "--lists", lists["name"].iloc[0], "--json", *flags)
    assert ran.code == ExitCode.OK, ran.err
    return json.loads(ran.out)


@pytest.mark.parametrize(
    ("suffix", "sep", "encoding", "seen_encoding", "seen_sep"),
    [
        (".csv", ",", "cp1252", "cp1252", ","),  # Excel on Windows: "CSV (Comma delimited)"
        (".csv", ";", "cp1252", "cp1252", ";"),  # ... where the decimal comma is the norm
        (".csv", ",", "utf-8-sig", "utf-8-sig", ","),  # Excel's "CSV UTF-8": a BOM first
        (".csv", ";", "utf-8", "utf-8", ";"),
        (".tsv", "\t", "utf-8", "utf-8", "\t"),
        (".csv", "\t", "utf-16", "utf-16", "\t"),  # Excel's "Unicode Text"
    ],
    ids=["cp1252-comma", "cp1252-semicolon", "utf8-bom", "utf8-semicolon", "tab", "utf16-tab"],
)
def test_files_are_read_as_saved_and_the_plan_says_how(
    cli, lists, members, tmp_path, suffix, sep, encoding, seen_encoding, seen_sep
) -> None:
    path = _write(members, tmp_path / f"export{suffix}", sep=sep, encoding=encoding)
    body = _plan(cli, path, lists)
    assert body["contacts"] == len(members) and body["rows"] == len(members)
    assert body["input"] == {
        "name": str(path),
        "format": suffix[1:],
        "encoding": seen_encoding,
        "encoding_from": "detected",
        "sep": seen_sep,
        "sep_from": "detected",
    }
    frame, _ = read_input(str(path))
    assert frame.columns.tolist() == ["contact_id", "email", "name"]
    assert frame["name"].tolist() == members["name"].tolist()  # every accent intact
    ran = cli("plan", str(path), "--lists", lists["name"].iloc[0])
    assert ran.code == ExitCode.OK, ran.err
    shown = "tab" if seen_sep == "\t" else repr(seen_sep)
    assert (
        f"Read {path} as {suffix[1:].upper()}: encoding {seen_encoding} (detected), "
        f"separator {shown} (detected)" in ran.out
    )


def test_a_cp1252_file_was_an_error_before(members, tmp_path) -> None:
    """The bug report: pandas alone reads Excel's cp1252 file as UTF-8 and fails."""
    path = _write(members, tmp_path / "excel.csv", sep=";", encoding="cp1252")
    with pytest.raises(UnicodeDecodeError, match="'utf-8' codec can't decode byte"):
        pd.read_csv(path, dtype=str)


def test_flags_override_detection(cli, lists, members, tmp_path) -> None:
    # Polish names in cp1250 (Excel on a Polish Windows): a guess could be wrong there.
    polish = ["Łukasz", "Żółw", "Świętosława"]
    pl = members.assign(name=[polish[i % 3] for i in range(len(members))])
    path = _write(pl, tmp_path / "pl.csv", sep=";", encoding="cp1250")
    body = _plan(cli, path, lists, "--encoding", "CP1250", "--sep", ";")
    assert body["input"]["encoding"] == "cp1250" and body["input"]["encoding_from"] == "given"
    assert body["input"]["sep"] == ";" and body["input"]["sep_from"] == "given"
    assert body["contacts"] == len(pl)
    frame, _ = read_input(str(path), encoding="cp1250", sep=";")
    assert frame["name"].tolist() == pl["name"].tolist()
    # a wrong separator, given on purpose, is used as given: one column, not contact_id
    wrong = cli("plan", str(path), "--lists", lists["name"].iloc[0], "--sep", ",")
    assert wrong.code == ExitCode.USAGE and "contact_id" in wrong.err
    # tab spelled for a shell
    tsv = _write(members, tmp_path / "t.txt.csv", sep="\t", encoding="utf-8")
    assert _plan(cli, tsv, lists, "--sep", "tab")["input"]["sep"] == "\t"
    # UTF-8 given for a cp1252 file: refused with the fix, before anything is sent
    cp = _write(members, tmp_path / "cp.csv", sep=",", encoding="cp1252")
    ran = cli("plan", str(cp), "--lists", lists["name"].iloc[0], "--encoding", "utf-8")
    assert ran.code == ExitCode.USAGE
    assert "as utf-8 (given)" in ran.err and "--encoding" in ran.err


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--encoding", "klingon"], "no such encoding"),
        (["--sep", ";;"], "give one character"),
        (["--sep", '"'], "give one character"),
    ],
)
def test_bad_flags_exit_2_and_send_nothing(cli, emu, lists, members, tmp_path, flags, says):
    path = _write(members, tmp_path / "m.csv", sep=",", encoding="utf-8")
    used = emu.account.count()
    ran = cli("remove", str(path), "--lists", lists["list_id"].iloc[0], "--yes", *flags)
    assert ran.code == ExitCode.USAGE and says in ran.err
    assert emu.account.count() == used


def test_encoding_and_sep_are_for_text_files_only(cli, lists, members, tmp_path) -> None:
    path = tmp_path / "m.parquet"
    members.to_parquet(path)
    ran = cli("plan", str(path), "--lists", lists["list_id"].iloc[0], "--sep", ";")
    assert ran.code == ExitCode.USAGE and "--sep applies to CSV and TSV input" in ran.err
    body = _plan(cli, path, lists)
    assert body["input"]["format"] == "parquet" and body["input"]["encoding"] is None


def test_compressed_and_stdin_csv_are_detected_too(cli, lists, members, tmp_path) -> None:
    path = tmp_path / "m.csv.gz"
    members.to_csv(path, index=False, sep=";", encoding="cp1252", compression="gzip")
    assert _plan(cli, path, lists)["input"]["encoding"] == "cp1252"
    stdin = io.TextIOWrapper(io.BytesIO(members.to_csv(index=False, sep=";").encode()))
    ran = cli("plan", "-", "--lists", lists["name"].iloc[0], "--json", stdin=stdin)
    assert ran.code == ExitCode.OK, ran.err
    assert json.loads(ran.out)["input"]["sep"] == ";"


def test_remove_reports_how_the_file_was_read(cli, lists, members, tmp_path) -> None:
    path = _write(members, tmp_path / "m.csv", sep=";", encoding="cp1252")
    ran = cli("remove", str(path), "--lists", lists["name"].iloc[0], "--yes", "--json")
    assert ran.code == ExitCode.OK, ran.err
    report = json.loads(ran.out)
    assert report["input"]["encoding"] == "cp1252" and report["rows_by_status"] == {
        "removed": len(members)
    }


def test_excel_without_openpyxl_says_what_to_install(emu, lists, members, tmp_path) -> None:
    pytest.importorskip("openpyxl", reason="writing the test's .xlsx needs openpyxl")
    path = tmp_path / "m.xlsx"
    members.to_excel(path, index=False)
    # The child cannot import openpyxl (None in sys.modules), as on a plain install.
    code = (
        "import sys; sys.modules['openpyxl'] = None\n"
        "from ccpandas.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code, "plan", str(path), "--lists", lists["list_id"].iloc[0]],
        capture_output=True,
        text=True,
        env=child_env(emu),
        timeout=120,
    )
    assert ran.returncode == ExitCode.USAGE, ran.stderr
    assert 'pip install "ccpandas[excel]"' in ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_workbook_with_rows_on_several_sheets_is_refused(cli, emu, lists, members, tmp_path):
    pytest.importorskip("openpyxl")
    path = tmp_path / "churn.xlsx"
    with pd.ExcelWriter(path) as book:
        members.iloc[:3].to_excel(book, sheet_name="January", index=False)
        members.iloc[3:6].to_excel(book, sheet_name="February", index=False)
        pd.DataFrame().to_excel(book, sheet_name="Notes", index=False)  # empty: no rows
    before = len(emu.account.request_log)
    ran = cli("remove", str(path), "--lists", lists["name"].iloc[0], "--yes")
    # Reading January alone would leave February's rows out, silently.
    assert ran.code == ExitCode.USAGE, ran.err
    assert "January" in ran.err and "February" in ran.err and "Notes" not in ran.err
    assert len(emu.account.request_log) == before
    one = tmp_path / "one.xlsx"
    with pd.ExcelWriter(one) as book:
        members.iloc[:3].to_excel(book, sheet_name="January", index=False)
        pd.DataFrame().to_excel(book, sheet_name="Notes", index=False)
    assert _plan(cli, one, lists)["rows"] == 3


def test_formulas_never_calculated_are_refused_not_read_as_empty(
    cli, emu, lists, members, tmp_path
):
    # A workbook a script wrote (openpyxl, or a report tool) keeps formulas without
    # their values until a spreadsheet calculates and saves it: pandas reads them as
    # empty. Those rows were planned as missing (the run went on without them), a last
    # row of formulas was no row at all, and a column of them was "no valid contact id".
    openpyxl = pytest.importorskip("openpyxl")
    emails = members["email"].tolist()[:3]
    path = tmp_path / "report.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["name", "email"])
    sheet.append(["Ann", emails[0]])
    sheet.append(["Bob", f'=LOWER("{emails[1].upper()}")'])
    sheet.append(['=PROPER("cid")', f'=LOWER("{emails[2].upper()}")'])
    book.save(path)
    before = len(emu.account.request_log)
    ran = cli("remove", str(path), "--lists", lists["name"].iloc[0], "--column", "email", "--yes")
    assert ran.code == ExitCode.USAGE, ran.out + ran.err
    assert "its 3 formula cells have no saved value (e.g. B3: " in ran.err, ran.err
    assert "Open and save it" in ran.err
    assert len(emu.account.request_log) == before


def test_a_last_row_of_formulas_alone_is_refused_too(tmp_path) -> None:
    # pandas drops a trailing row whose cells all read as empty, so no empty cell was
    # left to set the check off, and the row went unread without a word.
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in (["email"], ["a@x.com"], ["b@x.com"], ['=LOWER("C@X.COM")']):
        book.active.append(row)
    path = tmp_path / "tail.xlsx"
    book.save(path)
    with pytest.raises(_Usage, match=r"its 1 formula cells have no saved value \(e\.g\. A4"):
        read_input(str(path))


def test_a_blank_line_is_an_empty_cell_and_a_missing_row(cli, lists, members, tmp_path):
    # Excel saves an empty cell of a one-column sheet as an empty line: pandas skipped
    # it, so the plan had fewer rows than the sheet and said nothing of the others.
    ids = members["contact_id"].tolist()[:3]
    path = tmp_path / "ids.csv"
    path.write_bytes(
        ("\r\n".join(["contact_id", ids[0], "", ids[1], "", ids[2]]) + "\r\n\r\n").encode()
    )
    out = tmp_path / "plan.csv"
    body = _plan(cli, path, lists, "--output", str(out))
    # Five cells under the header: two empty ones are missing rows; the file's closing
    # blank line ends it (no cell of the sheet).
    assert body["rows"] == 5 and body["row_statuses"] == {"planned": 3, "missing": 2}
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert written["contact_id"].tolist() == [ids[0], "", ids[1], "", ids[2]]
    assert written["plan_status"].tolist() == ["planned", "missing"] * 2 + ["planned"]
    # a blank line among several columns is a row too (pandas skipped it the same way)
    wide = tmp_path / "wide.csv"
    wide.write_text(f"contact_id;name\n{ids[0]};Ann\n\n{ids[1]};Bob\n")
    assert _plan(cli, wide, lists)["row_statuses"] == {"planned": 2, "missing": 1}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_repeated_column_is_refused_not_read_in_part(cli, emu, lists, members, tmp_path, suffix):
    # Two exports pasted side by side: pandas renamed the second 'contact_id' to
    # 'contact_id.1' and the plan took the first alone, its ids dropped silently.
    if suffix == ".xlsx":
        pytest.importorskip("openpyxl")
    ids = members["contact_id"].tolist()
    frame = pd.DataFrame([ids[:3], ids[3:6]]).T
    frame.columns = ["contact_id", "contact_id"]
    frame["name"] = "Ann"
    path = tmp_path / f"pasted{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_excel(path, index=False)
    before = len(emu.account.request_log)
    ran = cli("remove", str(path), "--lists", lists["list_id"].iloc[0], "--yes")
    assert ran.code == ExitCode.USAGE, ran.out + ran.err
    assert "column 'contact_id' appears 2 times" in ran.err
    assert len(emu.account.request_log) == before
    # a repeated column that is not the one planned is no matter
    other = frame.set_axis(["contact_id", "name", "name"], axis=1)
    other.to_csv(path.with_suffix(".csv"), index=False)
    assert _plan(cli, path.with_suffix(".csv"), lists)["rows"] == 3


def test_a_row_with_more_fields_than_the_header_is_refused(cli, emu, lists, members, tmp_path):
    # An unquoted comma in the first row's name: pandas took the first field of every
    # row as the index, so each later row's address slid into 'name', and 'email' was
    # empty there: those rows were planned as missing, the run went on without them.
    emails = members["email"].tolist()[:3]
    path = tmp_path / "names.csv"
    path.write_text(f"name,email\nDoe, Ann,{emails[0]}\nBob,{emails[1]}\nCid,{emails[2]}\n")
    before = len(emu.account.request_log)
    ran = cli(
        "remove", str(path), "--lists", lists["list_id"].iloc[0], "--column", "email", "--yes"
    )
    assert ran.code == ExitCode.USAGE, ran.out + ran.err
    assert "more fields than its header" in ran.err and str(path) in ran.err
    assert len(emu.account.request_log) == before
    # a separator ending each line (an empty last field) is read as it was before
    path.write_text("".join(f"{e},Ann,\n" for e in ["email,name", *emails]))
    body = _plan(cli, path, lists, "--column", "email")
    assert body["rows"] == 3 and body["row_statuses"] == {"planned": 3}


def test_a_later_row_with_more_fields_than_the_header_is_refused_the_same_way(
    cli, emu, lists, members, tmp_path
):
    # An unquoted comma in a later row's name ("Smith, Bob"): the refusal was pandas' own
    # "Error tokenizing data. C error: Expected 2 fields in line 3, saw 3", with no word
    # of quoting or --sep, as the first row's refusal has.
    emails = members["email"].tolist()[:3]
    path = tmp_path / "names.csv"
    path.write_text(f"name,email\nAnn,{emails[0]}\nSmith, Bob,{emails[1]}\nCid,{emails[2]}\n")
    before = len(emu.account.request_log)
    ran = cli(
        "remove", str(path), "--lists", lists["list_id"].iloc[0], "--column", "email", "--yes"
    )
    assert ran.code == ExitCode.USAGE, ran.out + ran.err
    assert "line 3 has 3 fields, its header 2" in ran.err and "C error" not in ran.err
    assert "quote the values that hold the separator, or give it with --sep" in ran.err
    assert len(emu.account.request_log) == before


def test_a_parquet_files_id_column_that_pandas_made_its_index_is_read(
    cli, lists, members, tmp_path
):
    # frame.set_index("contact_id").to_parquet(...): the file has a contact_id column
    # (pandas' metadata makes it the index again), and the plan said it had none.
    path = tmp_path / "indexed.parquet"
    members.set_index("contact_id").to_parquet(path)
    body = _plan(cli, path, lists)
    assert body["rows"] == len(members) and body["row_statuses"] == {"planned": len(members)}
    out = tmp_path / "plan.csv"
    _plan(cli, path, lists, "--output", str(out))
    written = pd.read_csv(out, dtype=str)
    assert written["contact_id"].tolist() == members["contact_id"].tolist()


def test_addresses_with_display_names_are_not_called_bad_ids(cli, emu, lists, members, tmp_path):
    # Outlook's "Name <address>" in most cells: by auto, the column was taken for ids
    # and refused as "no valid contact id ... A contact id is a UUID", no word of
    # addresses or of --by email.
    emails = members["email"].tolist()[:3]
    path = tmp_path / "outlook.csv"
    cells = [f'"Ann <{emails[0]}>"', f'"Bob <{emails[1]}>"', emails[2]]
    path.write_text("\n".join(["email", *cells]) + "\n")
    before = len(emu.account.request_log)
    ran = cli("plan", str(path), "--lists", lists["list_id"].iloc[0], "--column", "email")
    assert ran.code == ExitCode.USAGE
    assert "--by email" in ran.err and "address" in ran.err
    assert len(emu.account.request_log) == before
    body = _plan(cli, path, lists, "--column", "email", "--by", "email")
    assert body["row_statuses"] == {"planned": 1, "invalid_email": 2}


def test_utf16_without_a_byte_order_mark_is_detected(cli, lists, members, tmp_path) -> None:
    # What SQL Server's bcp -w writes. Its NUL bytes are valid UTF-8, so it was read as
    # UTF-8: a header of 'c\x00o\x00n...', refused as "column 'contact_id' not found".
    path = tmp_path / "bcp.tsv"
    ascii_only = members[["contact_id", "email"]]  # no byte of cp1252's € to tell by
    path.write_bytes(ascii_only.to_csv(index=False, sep="\t").encode("utf-16-le"))
    body = _plan(cli, path, lists)
    assert body["input"]["encoding"] == "utf-16-le" and body["input"]["encoding_from"] == "detected"
    assert body["rows"] == len(members) and body["row_statuses"] == {"planned": len(members)}


def test_a_workbook_or_parquet_file_named_csv_is_named_for_what_it_is(
    cli, lists, members, tmp_path
):
    # A workbook saved as "export.csv": the message was "cannot tell the encoding ...
    # give it with --encoding (Excel on Windows: cp1252)", advice that reads it as junk.
    pytest.importorskip("openpyxl")
    book, table = tmp_path / "book.xlsx", tmp_path / "table.parquet"
    members.to_excel(book, index=False)
    members.to_parquet(table)
    for source, fmt in ((book, "excel"), (table, "parquet")):
        named = tmp_path / f"{fmt}-export.csv"
        named.write_bytes(source.read_bytes())
        ran = cli("plan", str(named), "--lists", lists["list_id"].iloc[0])
        assert ran.code == ExitCode.USAGE
        assert f"--format {fmt}" in ran.err and "--encoding" not in ran.err, ran.err
        assert _plan(cli, named, lists, "--format", fmt)["rows"] == len(members)


def test_a_file_without_a_header_row_is_refused_not_read_less_its_first_row(
    cli, emu, lists, members, tmp_path
):
    # A bare list of addresses: pandas took the first for the header. The message then
    # said "Did you mean 'ann@...'?", and --column 'ann@...' planned every row but the
    # first, which was left out with no word.
    emails = members["email"].tolist()[:4]
    path = tmp_path / "bare.csv"
    path.write_text("\n".join(emails) + "\n")
    before = len(emu.account.request_log)
    for flags in ((), ("--column", emails[0])):
        ran = cli("remove", str(path), "--lists", lists["list_id"].iloc[0], "--yes", *flags)
        assert ran.code == ExitCode.USAGE, ran.out + ran.err
        assert "header" in ran.err and "Did you mean" not in ran.err, ran.err
    assert len(emu.account.request_log) == before


def test_header_row_messages_speak_the_command_line_not_pandas(cli, lists, members, tmp_path):
    # The command line said "read it with pandas' header=1" (a title row) and "pandas'
    # header=None" (no header row): its user has no read_csv to pass them to.
    emails = "\n".join(members["email"].tolist()[:3])
    for name, text in (("bare.csv", emails), ("titled.csv", f"Members export\nemail\n{emails}")):
        path = tmp_path / name
        path.write_text(text + "\n")
        ran = cli("plan", str(path), "--lists", lists["list_id"].iloc[0], "--column", "email")
        assert ran.code == ExitCode.USAGE and "header row" in ran.err, ran.err
        assert "pandas'" not in ran.err and "header=" not in ran.err, ran.err


def test_a_title_row_above_the_header_is_named_as_such(cli, emu, lists, members, tmp_path):
    # A report with a title line, then a blank row, then the header: the message said
    # "Did you mean 'Members export' or 'Unnamed: 1'?", and that column planned the
    # header's own cell and the blank row as rows of data.
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Members export"])
    sheet.append([])
    sheet.append(["contact_id", "email"])
    for row in members[["contact_id", "email"]].itertuples(index=False):
        sheet.append(list(row))
    path = tmp_path / "report.xlsx"
    book.save(path)
    before = len(emu.account.request_log)
    ran = cli("plan", str(path), "--lists", lists["list_id"].iloc[0])
    assert ran.code == ExitCode.USAGE
    assert "row 3" in ran.err and "header" in ran.err and "Did you mean" not in ran.err, ran.err
    assert len(emu.account.request_log) == before


def test_a_stray_quote_that_swallows_rows_is_refused(cli, emu, lists, members, tmp_path):
    # '"Bob' opens a quoted value that the next quote, two lines down, closes: pandas
    # read the rows between as part of Bob's name, and the plan went on without them.
    emails = members["email"].tolist()[:4]
    lines = [f'{emails[0]},"Bob', f"{emails[1]},Carl", f'{emails[2]},Dan"', f"{emails[3]},Eve"]
    path = tmp_path / "quote.csv"
    path.write_text("\n".join(["email,name", *lines]) + "\n")
    before = len(emu.account.request_log)
    ran = cli(
        "remove", str(path), "--lists", lists["list_id"].iloc[0], "--column", "email", "--yes"
    )
    assert ran.code == ExitCode.USAGE, ran.out + ran.err
    assert "quote" in ran.err and emails[1] in ran.err
    assert len(emu.account.request_log) == before
    # a quoted value over several lines, as an address is, still reads
    notes = ['"12 Main St,\nSpringfield"', '"Dear Ann,\nsee you\n"', "x", "y"]
    path.write_text(
        "\n".join(["email,note", *map(",".join, zip(emails, notes, strict=True))]) + "\n"
    )
    body = _plan(cli, path, lists, "--column", "email")
    assert body["rows"] == 4 and body["row_statuses"] == {"planned": 4}


@pytest.mark.parametrize(
    "keys",
    [
        [f"mailto:{n}@x.com" for n in "abcd"],
        ["{" + f"8b54d1f4-5b0e-11ee-8c99-0242ac12000{i}" for i in range(4)],
    ],
    ids=["mailto", "half-braced"],
)
def test_a_stray_quote_over_keys_the_planner_refuses_is_still_caught(tmp_path, keys) -> None:
    # The check asks whether a swallowed line reads as a row, not whether its key would
    # plan: a 'mailto:' link or a half-braced id is a row too (an invalid one), and the
    # planner's stricter rule let the stray quote swallow it silently.
    rows = [f'{keys[0]},"Ann', f"{keys[1]},Bob", f"{keys[2]},Cat", f'{keys[3]},"Dan"']
    path = tmp_path / "links.csv"
    path.write_text("\n".join(["key,name", *rows]) + "\n")
    with pytest.raises(_Usage, match="quote"):
        read_input(str(path))


def test_a_blank_first_line_is_no_header_row(tmp_path) -> None:
    # With blank lines kept as missing rows, a blank FIRST line became the header:
    # the frame had no columns and no rows (a file read fine before).
    path = tmp_path / "lead.csv"
    path.write_text("\ncontact_id,email\n8b54d1f4-5b0e-11ee-8c99-0242ac120002,a@x.com\n")
    frame, _ = read_input(str(path))
    assert list(frame.columns) == ["contact_id", "email"] and len(frame) == 1


def test_a_quoted_note_whose_later_line_is_an_address_still_reads(tmp_path) -> None:
    # A note quoted whole and closed, one of whose lines is an address: it read as a
    # stray quote swallowing rows, though no line of it has a row's fields.
    path = tmp_path / "notes.csv"
    path.write_text(
        'contact_id,note,email\n8b54d1f4-5b0e-11ee-8c99-0242ac120002,"Forwarded by\n'
        'bob@example.com",a@x.com\n'
    )
    frame, _ = read_input(str(path))
    assert len(frame) == 1 and frame["note"].iloc[0].endswith("bob@example.com")


def test_a_csv_title_row_over_three_columns_is_named_as_such(cli, emu, lists, members, tmp_path):
    # Excel saves a title row of a 3-column sheet as "Export,,": its blank cells were
    # taken for a repeated column name, so the title row went unseen and the message
    # said "Did you mean 'Members export'?".
    rows = members[["contact_id", "email", "name"]].astype(str)
    body = "\n".join(",".join(r) for r in rows.itertuples(index=False))
    path = tmp_path / "report.csv"
    path.write_text(f"Members export,,\ncontact_id,email,name\n{body}\n")
    ran = cli("plan", str(path), "--lists", lists["list_id"].iloc[0])
    assert ran.code == ExitCode.USAGE
    assert "row 2" in ran.err and "header" in ran.err and "Did you mean" not in ran.err, ran.err


def test_a_zip_made_by_macos_finder_is_one_file(cli, lists, members, tmp_path) -> None:
    # Finder's "Compress" adds an AppleDouble twin under __MACOSX/ (the file's extended
    # attributes): one file for the user, and it was refused as "not 2".
    path = tmp_path / "churned.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("churned.csv", members.to_csv(index=False))
        archive.writestr("__MACOSX/._churned.csv", b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    assert _plan(cli, path, lists)["rows"] == len(members)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("other.csv", "email\n")
    ran = cli("plan", str(path), "--lists", lists["name"].iloc[0])
    assert ran.code == ExitCode.USAGE and "exactly one file, not 2" in ran.err


def test_an_output_path_that_cannot_be_written_is_refused_before_any_request(
    cli, emu, lists, members, tmp_path
) -> None:
    # Its folder exists, but no file system makes a name this long: the run went, then
    # a traceback instead of its summary.
    path = _write(members, tmp_path / "m.csv", sep=",", encoding="utf-8")
    output, used = tmp_path / ("x" * 300 + ".csv"), emu.account.count()
    ran = cli(
        "remove", str(path), "--lists", lists["name"].iloc[0], "--yes", "--output", str(output)
    )
    assert ran.code == ExitCode.USAGE, ran.err
    assert "--output" in ran.err and "cannot write it" in ran.err
    assert emu.account.count() == used


def test_an_output_naming_the_input_file_is_refused_before_any_request(
    cli, emu, lists, members, tmp_path
) -> None:
    # `--output` naming FILE itself (or a link to it) replaced the export with the run's
    # rows: its other columns were gone, without a question.
    path = _write(members, tmp_path / "m.csv", sep=",", encoding="utf-8")
    before, used = path.read_bytes(), emu.account.count()
    link = tmp_path / "result.csv"
    link.symlink_to(path)
    cases = (("plan",), path), (("remove", "--yes"), link), (("plan",), tmp_path / "." / "m.csv")
    for command, output in cases:
        ran = cli(
            *command[:1],
            str(path),
            "--lists",
            lists["name"].iloc[0],
            *command[1:],
            "--output",
            str(output),
        )
        assert ran.code == ExitCode.USAGE, ran.err
        assert "is FILE itself" in ran.err
    with path.open() as redirected:  # ccpandas plan - --output m.csv < m.csv
        ran = cli(
            "plan", "-", "--lists", lists["name"].iloc[0], "--output", str(path), stdin=redirected
        )
    assert ran.code == ExitCode.USAGE and "is FILE itself" in ran.err, ran.err
    assert path.read_bytes() == before and emu.account.count() == used


def test_a_text_export_named_xls_and_a_damaged_workbook_exit_2(cli, lists, members, tmp_path):
    # Many web tools' "Excel export" is a tab-separated text named .xls: pandas' "you
    # must specify an engine manually" named no flag. A workbook cut short (a download
    # or a sync that stopped) ended in a traceback (zipfile.BadZipFile).
    pytest.importorskip("openpyxl")
    text = tmp_path / "crm-export.xls"
    text.write_text(members.to_csv(index=False, sep="\t"), encoding="utf-8")
    ran = cli("plan", str(text), "--lists", lists["list_id"].iloc[0])
    assert ran.code == ExitCode.USAGE and "--format tsv" in ran.err, ran.err
    assert _plan(cli, text, lists, "--format", "tsv")["rows"] == len(members)
    text.write_text(members.to_html(index=False), encoding="utf-8")  # an HTML "export"
    ran = cli("plan", str(text), "--lists", lists["list_id"].iloc[0])
    assert ran.code == ExitCode.USAGE and "save it as .xlsx or CSV" in ran.err, ran.err
    book = tmp_path / "book.xlsx"
    members.to_excel(book, index=False)
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(book.read_bytes()[: book.stat().st_size // 2])
    other = tmp_path / "other.xlsx"  # a zip, of no workbook
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("m.csv", members.to_csv(index=False))
    for damaged in (cut, other):
        ran = cli("plan", str(damaged), "--lists", lists["list_id"].iloc[0])
        assert ran.code == ExitCode.USAGE and "damaged, or no workbook" in ran.err, ran.err


def test_gzip_on_standard_input_or_under_a_plain_name_is_read(cli, lists, members, tmp_path):
    # `curl ... | ccpandas plan -` of a gzip, or a server's gzip saved as export.csv: "cannot
    # tell the encoding ... give it with --encoding", advice no encoding follows.
    packed = gzip.compress(members.to_csv(index=False, sep=";").encode("cp1252"))
    stdin = io.TextIOWrapper(io.BytesIO(packed))
    ran = cli("plan", "-", "--lists", lists["list_id"].iloc[0], "--json", stdin=stdin)
    assert ran.code == ExitCode.OK, ran.err
    assert json.loads(ran.out)["input"]["encoding"] == "cp1252"
    named = tmp_path / "export.csv"
    named.write_bytes(packed)
    assert _plan(cli, named, lists)["rows"] == len(members)


def test_a_file_whose_lines_end_in_cr_alone_is_read(cli, lists, members, tmp_path) -> None:
    # Excel for Mac's "CSV (Macintosh)" ends its lines in CR alone: a csv.Error traceback
    # ("new-line character seen in unquoted field").
    path = tmp_path / "mac.csv"
    path.write_bytes(members.to_csv(index=False, sep=";", lineterminator="\r").encode())
    body = _plan(cli, path, lists)
    assert body["rows"] == len(members) and body["input"]["sep"] == ";"


def test_excels_sep_line_names_the_separator_and_is_no_row(cli, lists, members, tmp_path):
    # "sep=;" first tells Excel the separator (exports made for it write one): it was
    # read as the header, and the real header as a title row's.
    path = tmp_path / "for-excel.csv"
    path.write_text("sep=;\n" + members.to_csv(index=False, sep=";"), encoding="utf-8")
    body = _plan(cli, path, lists)
    assert body["rows"] == len(members) and body["input"]["sep"] == ";"


def test_a_damaged_gzip_under_a_plain_name_is_a_usage_error(cli, lists, members, tmp_path):
    # Found by review: a damaged gzip saved as export.csv ended in a zlib.error traceback.
    packed = gzip.compress(members.to_csv(index=False).encode())
    named = tmp_path / "export.csv"
    named.write_bytes(packed[:10] + bytes(b ^ 0x55 for b in packed[10:-8]) + packed[-8:])
    ran = cli("plan", str(named), "--lists", lists["list_id"].iloc[0])
    assert ran.code == ExitCode.USAGE and "cannot read" in ran.err


def test_an_output_through_a_dangling_link_is_written_through_it(cli, lists, members, tmp_path):
    # Found by review: the check that --output can be written deleted the link itself
    # and left an empty file where it pointed.
    source = tmp_path / "ids.csv"
    members.to_csv(source, index=False)
    target = tmp_path / "real" / "result.csv"
    target.parent.mkdir()
    link = tmp_path / "result.csv"
    link.symlink_to(target)
    _plan(cli, source, lists, "--output", str(link))
    assert link.is_symlink() and target.stat().st_size > 0


def test_an_excel_4_workbook_is_not_taken_for_a_text_export(tmp_path) -> None:
    # Found by review: an Excel 2.x-4.0 .xls (pandas reads it with xlrd) was refused
    # as a text export ("pass --format tsv": its first byte is a tab).
    path = tmp_path / "old.xls"
    path.write_bytes(b"\x09\x04\x06\x00\x00\x00\x10\x00" + bytes(8))
    with pytest.raises(_Usage) as caught:
        read_input(str(path))
    assert "--format" not in str(caught.value)


def test_a_line_break_inside_a_quoted_cell_is_kept(tmp_path) -> None:
    # Found by review: CRs were rewritten everywhere, quoted cells included.
    path = tmp_path / "notes.csv"
    path.write_bytes(b'contact_id,note\r\nabc,"one\r\ntwo"\r\n')
    assert read_input(str(path))[0]["note"].tolist() == ["one\r\ntwo"]


def test_main_gives_the_callers_stream_back_as_it_was() -> None:
    # Found by review: main() left the escaping on a stream it was given (or sys.stdout).
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
    assert main(["--version"], stdout=out) == 0 and out.errors == "strict"
