"""SYNTHETIC test files in the publishers' real layouts (labelled synthetic; never bundled as data).

- `fa_activity_military`: rows of the real 51-column FA.gov activity file, re-labelled as Military (DoD/DSCA
  style), because the bundled activity file is Economic only.
- `fa_summary_world` / `dots_world`: the bundled files plus other regions' rows in the same dialect, standing in
  for the publishers' full-world downloads.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.conftest import SNAPSHOTS

FA_DIR = SNAPSHOTS / "us_foreign_aid_country"
DOTS_FILE = SNAPSHOTS / "imf_dots_us_trade" / "dots_us.csv"

# Other regions' FA.gov summary rows: (code, name, region id, region name, income acronym, income name, fiscal year,
# current, constant)
FA_WORLD_ROWS = [
    (
        "AFG",
        "Afghanistan",
        "2",
        "South and Central Asia",
        "LIC",
        "Low Income Country",
        "2019",
        "4600000000",
        "5100000000",
    ),
    ("KOR", "Korea, South", "1", "East Asia and Oceania", "HIC", "High Income Country", "2019", "1200000", "1300000"),
    (
        "COD",
        "Congo (Kinshasa)",
        "4",
        "Sub-Saharan Africa",
        "LIC",
        "Low Income Country",
        "2019",
        "780000000",
        "850000000",
    ),
    (
        "MMR",
        "Burma (Myanmar)",
        "1",
        "East Asia and Oceania",
        "LMIC",
        "Lower Middle Income Country",
        "1976tq",
        "100000",
        "400000",
    ),
    (
        "UKR",
        "Ukraine",
        "3",
        "Europe and Eurasia",
        "LMIC",
        "Lower Middle Income Country",
        "2022",
        "12000000000",
        "12000000000",
    ),
]
FA_WORLD_AGGREGATES = [
    (
        "EAN",
        "East Asia and Oceania Region",
        "1",
        "East Asia and Oceania",
        "NULL",
        "NULL",
        "2019",
        "52000000",
        "56000000",
    ),
    ("WLD", "World", "7", "World", "NULL", "NULL", "2019", "9000000000", "9800000000"),
]

DOTS_WORLD_PARTNERS = [
    ("Germany", "134"),
    ("Japan", "158"),
    ("Korea, Rep. of", "542"),
    ("China, P.R.: Mainland", "924"),
    ("Türkiye, Rep. of", "186"),
]
DOTS_WORLD_AGGREGATES = [("World", "001"), ("Advanced Economies", "110"), ("Emerging and Developing Europe", "903")]


def _fa_summary_line(row: tuple[str, ...]) -> str:
    code, name, region_id, region, inc, inc_name, fy, cur, const = row
    fields = [code, name, region_id, region, inc, inc_name, "2", "Obligations", fy, cur, const]
    # Data rows are quoted only where a field holds a comma, as in the publisher's file.
    return ",".join(f'"{f}"' if "," in f else f for f in fields) + "\r\n"


def fa_summary_world(tmp: Path) -> tuple[Path, int, int]:
    """Bundled summary + other regions' rows. Returns (path, non-LAC country rows added, aggregate rows added)."""
    path = tmp / "us_foreign_aid_country_world_SYNTHETIC.csv"
    extra = "".join(_fa_summary_line(r) for r in FA_WORLD_ROWS + FA_WORLD_AGGREGATES)
    path.write_bytes((FA_DIR / "us_foreign_aid_country.csv").read_bytes() + extra.encode("utf-8"))
    return path, len(FA_WORLD_ROWS), len(FA_WORLD_AGGREGATES)


def dots_world(tmp: Path) -> tuple[Path, int, int]:
    """Bundled DOTS + other partners and IMF aggregates, fully quoted with CRLF and the trailing comma."""
    path = tmp / "dots_world_SYNTHETIC.csv"
    lines = []
    for name, code in DOTS_WORLD_PARTNERS + DOTS_WORLD_AGGREGATES:
        for year in (2020, 2021, 2022):
            exports, imports = str(1_000_000_000 + year), str(2_000_000_000 + year)
            lines.append(f'"United States","111","{name}","{code}",{year},"{exports}","","{imports}","",\r\n')
    path.write_bytes(DOTS_FILE.read_bytes() + "".join(lines).encode("utf-8"))
    return path, 3 * len(DOTS_WORLD_PARTNERS), 3 * len(DOTS_WORLD_AGGREGATES)


def fa_activity_military(tmp: Path, rows: int = 40) -> Path:
    """The first `rows` real activity rows re-labelled as Military obligations (SYNTHETIC)."""
    source = (FA_DIR / "El_Salvador_2022-2002_Econ_Other.csv").read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(source))
    header = next(reader)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    objective_id, objective = (
        header.index("Foreign Assistance Objective ID"),
        header.index("Foreign Assistance Objective Name"),
    )
    agency = header.index("Managing Agency Acronym")
    for i, row in enumerate(reader):
        if i >= rows:
            break
        row[objective_id], row[objective], row[agency] = "2", "Military", "DOD"
        writer.writerow(row)
    path = tmp / "El_Salvador_Military_SYNTHETIC.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def rewrite_csv_cell(src: Path, dst: Path, data_row: int, column: str, value: str, encoding: str = "utf-8") -> None:
    """Copy a CSV replacing one cell (data_row is 1-based), keeping the dialect's line endings."""
    text = src.read_bytes().decode(encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    rows[data_row][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    dst.write_bytes(out.getvalue().encode(encoding))


def fa_activity_with_military(tmp: Path, rows: int = 40) -> tuple[Path, Path]:
    """The real Economic activity file followed by SYNTHETIC Military rows; returns (combined, military-only)."""
    military = fa_activity_military(tmp, rows)
    real = (FA_DIR / "El_Salvador_2022-2002_Econ_Other.csv").read_bytes()
    extra = military.read_bytes().split(b"\n", 1)[1]  # drop the header line
    combined = tmp / "El_Salvador_Econ_plus_Military_SYNTHETIC.csv"
    combined.write_bytes(real + (b"" if real.endswith(b"\n") else b"\n") + extra)
    return combined, military
