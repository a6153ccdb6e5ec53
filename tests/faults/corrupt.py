"""Real-looking corruptions of the bundled publisher files, written as modified copies (the snapshots are never edited).

Each helper takes a bundled file, changes it the way real downloads break (cut mid-row, an error page instead of
data, a spreadsheet re-save in another encoding, a renamed header, ...), writes the copy under `tmp` and returns it.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

from tests.conftest import SNAPSHOTS

DOTS = SNAPSHOTS / "imf_dots_us_trade" / "dots_us.csv"
DOTS_EXPORTS = "Goods, Value of Exports, Free on board (FOB), US Dollars (TXG_FOB_USD)"
FA_ACTIVITY = SNAPSHOTS / "us_foreign_aid_country" / "El_Salvador_2022-2002_Econ_Other.csv"
FA_SUMMARY = SNAPSHOTS / "us_foreign_aid_country" / "us_foreign_aid_country.csv"
SIPRI_IMPORTS = SNAPSHOTS / "sipri_arms_transfers" / "import-values_1950-2024_lac_us.csv"
SIPRI_REGISTER = SNAPSHOTS / "sipri_arms_transfers" / "trade-register_lac_us.csv"
MILEX = SNAPSHOTS / "sipri_milex" / "SIPRI-Milex-data-1948-2023.xlsx"
WDI_DIR = SNAPSHOTS / "worldbank_wdi"
WDI_HOMICIDE = "API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130_LAC_USA.csv"
AGREEMENTS = SNAPSHOTS / "security_agreements" / "security_agreements.csv"
TROOPS = SNAPSHOTS / "us_troops_dmdc" / "troopdata-rebuild-reports_LAC_USA.csv"
BASES = SNAPSHOTS / "us_bases" / "basedata_lac.csv"

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>\n"
    b"<body><h1>Service Temporarily Unavailable</h1><p>The server is temporarily unable to service your request "
    b"due to maintenance downtime or capacity problems. Please try again later.</p></body></html>\n"
)
JSON_ERROR_BODY = b'{"error": {"code": 500, "message": "Internal Server Error", "status": "INTERNAL"}}\n'


def copy(src: Path, tmp: Path, name: str | None = None) -> Path:
    target = tmp / (name or src.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, target)
    return target


def write(tmp: Path, name: str, data: bytes) -> Path:
    target = tmp / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def wdi_folder(tmp: Path) -> Path:
    """A copy of the World Bank folder (its parser reads every file of a kind in the folder of the file it is given)."""
    folder = tmp / "worldbank_wdi"
    shutil.copytree(WDI_DIR, folder)
    return folder


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def header_only(src: Path, tmp: Path, header_line: int = 0) -> Path:
    """Everything up to and including the header line: a download that stopped after the header."""
    return write(tmp, src.name, b"".join(lines(src)[: header_line + 1]))


def truncated(src: Path, tmp: Path, keep_lines: int, cut_at: int) -> Path:
    """The first `keep_lines` lines, then the next line cut `cut_at` bytes in (no line end): a broken transfer."""
    all_lines = lines(src)
    return write(tmp, src.name, b"".join(all_lines[:keep_lines]) + all_lines[keep_lines][:cut_at])


def reencoded(src: Path, tmp: Path, source_encoding: str, target_encoding: str) -> Path:
    """The same text saved in another encoding (as a spreadsheet "Save as" does)."""
    return write(tmp, src.name, src.read_bytes().decode(source_encoding).encode(target_encoding))


def with_latin1_byte(src: Path, tmp: Path, data_row: int, old: str, new: str) -> Path:
    """Replace text in one data row and save the whole file as Latin-1 (a UTF-8 file edited in a Latin-1 editor)."""
    text = src.read_bytes().decode("utf-8-sig").splitlines(keepends=True)
    assert old in text[data_row], (old, text[data_row])
    text[data_row] = text[data_row].replace(old, new, 1)
    return write(tmp, src.name, "".join(text).encode("latin-1"))


def rename_header(src: Path, tmp: Path, old: str, new: str | None, encoding: str = "utf-8-sig") -> Path:
    """Rename one header field (None: drop that column from header and every row)."""
    raw = src.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode(encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    position = rows[0].index(old)
    if new is None:
        rows = [r[:position] + r[position + 1 :] for r in rows]
    else:
        rows[0][position] = new
    return _write_rows(tmp, src.name, rows, newline, bom, encoding)


def add_column(src: Path, tmp: Path, name: str, value: str, encoding: str = "utf-8-sig") -> Path:
    """A new last column (before a trailing empty column, if the file has one)."""
    raw = src.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode(encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    trailing = rows[0][-1] == ""
    at = len(rows[0]) - 1 if trailing else len(rows[0])
    rows = [r[:at] + [name if i == 0 else value] + r[at:] for i, r in enumerate(rows)]
    return _write_rows(tmp, src.name, rows, newline, bom, encoding)


def set_cell(
    src: Path, tmp: Path, data_row: int, column: str, value: str, encoding: str = "utf-8-sig", name: str | None = None
) -> Path:
    """Set one cell of data row `data_row` (1-based, header excluded)."""
    raw = src.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode(encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows[data_row][rows[0].index(column)] = value
    return _write_rows(tmp, name or src.name, rows, newline, bom, encoding)


def duplicate_row(src: Path, tmp: Path, data_row: int) -> Path:
    """Data row `data_row` (1-based) appears twice, as a re-run export that appended a page again would do."""
    all_lines = lines(src)
    return write(tmp, src.name, b"".join(all_lines[: data_row + 1] + [all_lines[data_row]] + all_lines[data_row + 1 :]))


def _write_rows(tmp: Path, name: str, rows: list[list[str]], newline: str, bom: bool, encoding: str) -> Path:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    data = out.getvalue().encode("utf-8" if encoding == "utf-8-sig" else encoding)
    return write(tmp, name, (b"\xef\xbb\xbf" if bom else b"") + data)


def bad_zip(src: Path, tmp: Path) -> Path:
    """The first half of the workbook: a zip whose central directory never arrived."""
    data = src.read_bytes()
    return write(tmp, src.name, data[: len(data) // 2])


def xlsx_without_sheet(src: Path, tmp: Path, sheet: str, renamed: str) -> Path:
    """The workbook with one sheet renamed (the publisher restructured its tabs)."""
    target = tmp / src.name
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "xl/workbook.xml":
                marker = f'name="{sheet}"'.encode()
                assert marker in data, sheet
                data = data.replace(marker, f'name="{renamed}"'.encode())
            new.writestr(item, data)
    return target


def edit_row(
    src: Path,
    tmp: Path,
    first_field: str,
    column: str,
    value: str,
    encoding: str = "utf-8",
    header_first: str | None = None,
) -> Path:
    """Set `column` in the data line whose first field is `first_field`, in files with a preamble before the header.

    The header is the line whose first field is `header_first` (default: the first line with `column` in it). Only
    that one line is rewritten; every other byte of the file is kept, quoting style included.
    """
    raw = src.read_bytes()
    text = raw.decode(encoding)
    all_lines = text.splitlines(keepends=True)
    parsed = [next(csv.reader([line.rstrip("\r\n")]), []) for line in all_lines]
    header = next(r for r in parsed if ((bool(r) and r[0] == header_first) if header_first else (column in r)))
    index = header.index(column)
    at = next(i for i, r in enumerate(parsed) if r and r[0] == first_field)
    row = parsed[at]
    row[index] = value
    quoted = all_lines[at].lstrip("\ufeff").startswith('"')
    out = io.StringIO()
    csv.writer(out, lineterminator="", quoting=csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL).writerow(row)
    ending = all_lines[at][len(all_lines[at].rstrip("\r\n")) :]
    line = out.getvalue()
    if quoted and all_lines[at].rstrip("\r\n").endswith(","):  # World Bank lines end with an empty unquoted field
        line = line[: -len('""')] if line.endswith(',""') else line
    all_lines[at] = line + ending
    return write(tmp, src.name, "".join(all_lines).encode(encoding))


def longer_preamble(src: Path, tmp: Path, extra: list[str], encoding: str = "utf-8") -> Path:
    """Extra note lines at the top (publishers add disclaimers); the header and data are unchanged."""
    raw = src.read_bytes()
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    newline = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    added = b"".join(line.encode(encoding) + newline for line in extra)
    return write(tmp, src.name, bom + added + raw[len(bom) :])


def map_column(src: Path, tmp: Path, column: str, fn, encoding: str = "utf-8-sig") -> Path:
    """Apply `fn` to every non-blank value of one column (a publisher changing a column's format)."""
    raw = src.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode(encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    index = rows[0].index(column)
    for row in rows[1:]:
        if len(row) > index and row[index].strip():
            row[index] = fn(row[index])
    return _write_rows(tmp, src.name, rows, newline, bom, encoding)
