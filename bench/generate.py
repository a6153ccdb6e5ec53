"""SYNTHETIC ForeignAssistance.gov activity-level ("complete") CSVs for the large-file benchmark and tests.

The file has the real 51-column header of `El_Salvador_2022-2002_Econ_Other.csv`, in the publisher's dialect
(comma separated, `"` quoting only where a field holds a comma or a quote, blank = not available). Values are
synthetic: each row borrows the agency / partner / sector / account columns of a real row of the bundled file
(picked by a hash of the row number), and gets a synthetic country, activity id, name and description (with
quotes and commas), dates, transaction type, fiscal year and amounts. Every activity name starts with
`SYNTHETIC` and the file name says so too. Written by one DuckDB query (no Python loop over rows).

    .venv/bin/python -m bench.generate 1000000 bench/out/fa_activity_SYNTHETIC_1000000.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REAL_FILE = PROJECT_ROOT / "data" / "snapshots" / "us_foreign_aid_country" / "El_Salvador_2022-2002_Econ_Other.csv"

# (Country ID, Country Code, Country Name, Region ID, Region Name, Income Group ID, Income Group Name, Income Group
# Acronym)
COUNTRIES = [
    ("222", "SLV", "El Salvador", "6", "Western Hemisphere", "2", "Lower Middle Income Country", "LMIC"),
    ("340", "HND", "Honduras", "6", "Western Hemisphere", "2", "Lower Middle Income Country", "LMIC"),
    ("320", "GTM", "Guatemala", "6", "Western Hemisphere", "3", "Upper Middle Income Country", "UMIC"),
    ("170", "COL", "Colombia", "6", "Western Hemisphere", "3", "Upper Middle Income Country", "UMIC"),
    ("600", "PRY", "Paraguay", "6", "Western Hemisphere", "3", "Upper Middle Income Country", "UMIC"),
    ("76", "BRA", "Brazil", "6", "Western Hemisphere", "3", "Upper Middle Income Country", "UMIC"),
    ("484", "MEX", "Mexico", "6", "Western Hemisphere", "3", "Upper Middle Income Country", "UMIC"),
    ("332", "HTI", "Haiti", "6", "Western Hemisphere", "1", "Low Income Country", "LIC"),
]
COUNTRY_COLUMNS = [
    "Country ID",
    "Country Code",
    "Country Name",
    "Region ID",
    "Region Name",
    "Income Group ID",
    "Income Group Name",
    "Income Group Acronym",
]
TRANSACTIONS = [("2", "Obligations"), ("3", "Disbursements")]
THEMES = [
    "Community Resilience",
    "Rule of Law",
    "Youth, Education and Jobs",
    "Water and Sanitation",
    "Clean Energy",
    "Citizen Security",
    "Health Systems",
    "Food Security, Nutrition",
]
# Columns taken from a real row of the bundled file (everything but the ones synthesised below).
SYNTHESISED = {
    "Country ID",
    "Country Code",
    "Country Name",
    "Region ID",
    "Region Name",
    "Income Group ID",
    "Income Group Name",
    "Income Group Acronym",
    "Activity ID",
    "Activity Name",
    "Activity Description",
    "Activity Project Number",
    "Activity Start Date",
    "Activity End Date",
    "Transaction Type ID",
    "Transaction Type Name",
    "Fiscal Year",
    "Current Dollar Amount",
    "Constant Dollar Amount",
}


def _sql_list(values) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def generate(
    rows: int, out: Path, *, bad_rows: dict[int, tuple[str, str]] | None = None, threads: int | None = None
) -> Path:
    """Write `rows` synthetic data records to `out`. `bad_rows` maps a 1-based data row to (column, value) to inject."""
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    if threads:
        con.execute(f"set threads = {threads}")
    con.execute(f"create table real as select * from read_csv('{REAL_FILE}', all_varchar = true, header = true)")
    header = [r[0] for r in con.execute("describe real").fetchall()]
    borrowed = [c for c in header if c not in SYNTHESISED]
    con.execute(
        "create table profile as select row_number() over () - 1 as k, "
        + ", ".join(f'"{c}"' for c in borrowed)
        + " from real"
    )
    n_profiles = con.execute("select count(*) from profile").fetchone()[0]
    country = {i: _sql_list([c[i] for c in COUNTRIES]) for i in range(8)}
    expr = {
        **{name: f"{country[k]}[1 + (i % {len(COUNTRIES)})]" for k, name in enumerate(COUNTRY_COLUMNS)},
        "Activity ID": "(100000 + i // 3)::varchar",
        "Activity Name": (
            f"'SYNTHETIC ' || {_sql_list(THEMES)}[1 + (h % {len(THEMES)})] || ' activity ' || (i // 3)::varchar"
        ),
        "Activity Description": (
            "'Synthetic row ' || i::varchar || ': \"' || " + f"{_sql_list(THEMES)}[1 + ((h >> 8) % {len(THEMES)})]"
            " || '\" programme, phase ' || (1 + h % 4)::varchar"
            " || ', with local partners, municipalities and civil society.'"
        ),
        "Activity Project Number": (
            "case when h % 5 = 0 then null else '7205' || lpad((h % 100000000)::varchar, 8, '0') end"
        ),
        "Activity Start Date": (
            "case when h % 3 = 0 then null else strftime(date '2002-01-01' + (h % 7000)::int, '%Y-%m-%d') end"
        ),
        "Activity End Date": (
            "case when h % 4 = 0 then null else strftime(date '2008-01-01' + (h % 7000)::int, '%Y-%m-%d') end"
        ),
        "Transaction Type ID": f"{_sql_list([t[0] for t in TRANSACTIONS])}[1 + (h >> 3) % 2]",
        "Transaction Type Name": f"{_sql_list([t[1] for t in TRANSACTIONS])}[1 + (h >> 3) % 2]",
        "Fiscal Year": "(2002 + (h >> 5) % 23)::varchar",
        "Current Dollar Amount": "case when h % 97 = 0 then null else ((h % 20000000) - 1000000)::varchar end",
        "Constant Dollar Amount": (
            "case when h % 97 = 0 then null else ((h % 20000000) * 0.97 - 970000)::bigint::varchar end"
        ),
    }
    selects = []
    for column in header:
        value = f'p."{column}"' if column in borrowed else expr[column]
        for row, (bad_column, bad_value) in (bad_rows or {}).items():
            if bad_column == column:
                value = f"case when i = {row - 1} then '{bad_value.replace(chr(39), chr(39) * 2)}' else {value} end"
        selects.append(f'{value} as "{column}"')
    query = f"""
        with numbered as (select range as i, (hash(range) >> 1)::bigint as h from range({rows}))
        select {", ".join(selects)}
        from numbered join profile p on p.k = numbered.h % {n_profiles}
    """
    con.execute(f"copy ({query}) to '{out}' (format csv, header true)")
    con.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    path = generate(args.rows, args.out)
    print(f"{path}: {args.rows:,} SYNTHETIC rows, {path.stat().st_size / 1e6:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
