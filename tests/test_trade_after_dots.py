"""Trade after the last IMF DOTS year comes from the Census monthly series, summed by year with its month count.

The bundled Census fixture is SYNTHETIC and must never reach a mart; here a copy with one value changed stands
in for a live answer (not the fixture's sha256, so not flagged synthetic) and is passed as a user file.
"""

from __future__ import annotations

import json
from collections import defaultdict

import duckdb
import pytest

from pipelines.build import run_build
from tests.conftest import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "data" / "fixtures" / "census_intltrade"
CENSUS_ISO3 = {"PARAGUAY": "PRY", "COLOMBIA": "COL", "BRAZIL": "BRA", "HONDURAS": "HND"}

pytestmark = pytest.mark.e2e


def test_synthetic_fixture_never_reaches_the_trade_mart(marts):
    sources = {r[0] for r in marts.execute("select distinct source from marts.fct_us_trade_country_year").fetchall()}
    assert sources == {"IMF DOTS"}


def test_census_months_extend_trade_after_dots(tmp_path, marts):
    expected = defaultdict(lambda: {"exports": 0.0, "imports": 0.0, "months": defaultdict(set)})
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
            if iso3 and record[variable] is not None:
                key = (iso3, int(record["time"][:4]))
                expected[key][flow] += float(record[variable])
                expected[key]["months"][flow].add(record["time"])
    root = tmp_path / "warehouse"
    result = run_build(force=True, warehouse_dir=root, log_level="WARNING", echo=lambda *_: None, file_overrides=overrides)
    assert result.success, result.error
    con = duckdb.connect(str(root / "partnership.duckdb"), read_only=True)
    census = {
        (iso3, year): (exports, imports, months)
        for iso3, year, exports, imports, months in con.execute(
            "select iso3, year, us_exports_usd, us_imports_usd, months_covered from marts.fct_us_trade_country_year "
            "where source = 'US Census Bureau'"
        ).fetchall()
    }
    assert census == {
        key: (v["exports"], v["imports"], min(len(v["months"]["exports"]), len(v["months"]["imports"])))
        for key, v in expected.items()
    }
    assert all(year > 2022 for _, year in census)  # only after the last DOTS year
    # Honduras' unpublished March 2026 import month is unknown: the 2026 total covers fewer months
    assert census[("HND", 2026)][2] < census[("PRY", 2026)][2]
    dots = "select iso3, year, us_exports_usd, us_imports_usd from marts.fct_us_trade_country_year where source = 'IMF DOTS' order by all"
    assert con.execute(dots).fetchall() == marts.execute(dots).fetchall()
    # 2026, after the Paraguay SOFA, reaches the panel
    assert con.execute("select us_total_trade_usd from marts.partnership_panel where iso3='PRY' and year=2026").fetchone()[0] is not None
