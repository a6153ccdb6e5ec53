"""Trade after the last IMF DOTS year comes from the US Census Bureau: the real bundled country file, with the live
per-partner API's months taking precedence where the API has them.

The bundled API fixture is SYNTHETIC and must never reach a mart; here a copy with one value changed stands in for a
live answer (not the fixture's sha256, so not flagged synthetic) and is passed as a user file.
"""

from __future__ import annotations

import json
from collections import defaultdict

import duckdb
import pytest

from pipelines.build import run_build
from tests.conftest import PROJECT_ROOT, SNAPSHOTS
from tests.warehouse_copy import copy_warehouse

FIXTURES = PROJECT_ROOT / "data" / "fixtures" / "census_intltrade"
CENSUS_FILE = SNAPSHOTS / "census_trade_by_country" / "census_trade_by_country_lac_2022_2026.jsonl"
CENSUS_ISO3 = {"PARAGUAY": "PRY", "COLOMBIA": "COL", "BRAZIL": "BRA", "HONDURAS": "HND"}
NOT_IN_FACTS = {"AGG_0009", "AGG_0017", "BMU"}  # Census groupings, and Bermuda (outside the region)

pytestmark = pytest.mark.e2e


def file_months() -> dict[tuple[str, str, str], float | None]:
    """(iso3, YYYY-MM, flow) -> US dollars from the bundled Census file, read with the json module."""
    months = {}
    for line in CENSUS_FILE.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["country_code"] in NOT_IN_FACTS:
            continue
        for flow in ("exports", "imports"):
            for index, value in enumerate(record[flow], start=1):
                months[(record["country_code"], f"{record['year']}-{index:02d}", flow)] = (
                    None if value is None else round(value * 1_000_000)
                )
    return months


def test_synthetic_fixture_never_reaches_the_trade_mart(marts):
    rows = marts.execute("select distinct source, source_vintage from marts.fct_us_trade_country_year").fetchall()
    assert {source for source, _ in rows} == {"IMF DOTS", "US Census Bureau"}
    assert not any("SYNTHETIC" in vintage.upper() for _, vintage in rows)


@pytest.mark.builds  # a refresh of three raw tables
def test_census_months_extend_trade_after_dots(tmp_path, marts, built_warehouse, reused_root):
    months = file_months()
    from_api = set()
    overrides = {}
    for flow, variable in (("exports", "ALL_VAL_MO"), ("imports", "GEN_VAL_MO")):
        matrix = json.loads((FIXTURES / f"{flow}_hs_synthetic.json").read_text())
        header = matrix[0]
        matrix[1][header.index(variable)] = str(int(matrix[1][header.index(variable)]) + 1)  # no longer the fixture
        path = tmp_path / f"{flow}_live_like.json"
        path.write_text(json.dumps(matrix))
        overrides[f"census_{flow}"] = str(path)
        for row in matrix[1:]:
            record = dict(zip(header, row))
            iso3 = CENSUS_ISO3.get(record["CTY_NAME"])
            if iso3 and record[variable] is not None:  # an API month not published leaves the file's value
                months[(iso3, record["time"], flow)] = float(record[variable])
                from_api.add((iso3, record["time"], flow))
    expected = defaultdict(lambda: {"exports": 0.0, "imports": 0.0, "months": defaultdict(set)})
    for (iso3, period, flow), value in months.items():
        year = int(period[:4])
        if value is not None and year > 2022:
            expected[(iso3, year)][flow] += value
            expected[(iso3, year)]["months"][flow].add(period)
    # a user's warehouse built from the bundled files, then `hpw build --file` with the two answers: a refresh
    root = copy_warehouse(built_warehouse, reused_root)
    result = run_build(warehouse_dir=root, log_level="WARNING", echo=lambda *_: None, file_overrides=overrides)
    assert result.success, result.error
    con = duckdb.connect(str(root / "partnership.duckdb"), read_only=True)
    census = {
        (iso3, year): (exports, imports, months)
        for iso3, year, exports, imports, months in con.execute(
            "select iso3, year, us_exports_usd, us_imports_usd, months_covered from marts.fct_us_trade_country_year "
            "where source = 'US Census Bureau'"
        ).fetchall()
    }
    assert census.keys() == expected.keys()
    for key, v in expected.items():
        exports, imports, covered = census[key]
        assert exports == pytest.approx(v["exports"], abs=0.5) and imports == pytest.approx(v["imports"], abs=0.5)
        assert covered == min(len(v["months"]["exports"]), len(v["months"]["imports"]))
    assert all(year > 2022 for _, year in census)  # only after the last DOTS year
    # the API's months win where it has them; Honduras' unpublished API import month (2026-03) keeps the file's value
    monthly = dict(
        ((iso3, str(month)[:7]), (exports, imports, vintage))
        for iso3, month, exports, imports, vintage in con.execute(
            "select iso3, month, us_exports_usd, us_imports_usd, source_vintage from marts.fct_us_trade_country_month"
        ).fetchall()
    )
    assert ("PRY", "2025-10", "exports") in from_api
    assert monthly[("PRY", "2025-10")][0] == months[("PRY", "2025-10", "exports")]
    assert ("HND", "2026-03", "imports") not in from_api
    assert monthly[("HND", "2026-03")][1] == months[("HND", "2026-03", "imports")] is not None
    assert "live_like" in monthly[("PRY", "2025-10")][2] and "live_like" not in monthly[("PRY", "2024-10")][2]
    dots = (
        "select iso3, year, us_exports_usd, us_imports_usd from marts.fct_us_trade_country_year "
        "where source = 'IMF DOTS' order by all"
    )
    assert con.execute(dots).fetchall() == marts.execute(dots).fetchall()
    # 2026, after the Paraguay SOFA, reaches the panel
    assert (
        con.execute("select us_total_trade_usd from marts.partnership_panel where iso3='PRY' and year=2026").fetchone()[
            0
        ]
        is not None
    )
