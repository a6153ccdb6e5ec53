"""IMF DOTS (reporter United States): the real file's dialect, blanks as not-available, IMF codes mapped."""

from __future__ import annotations

import csv

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines.countries import UnmappedCountryError
from pipelines.sources import imf_dots_us_trade
from tests.conftest import SNAPSHOTS
from tests.synthetic import rewrite_csv_cell

DOTS_FILE = SNAPSHOTS / "imf_dots_us_trade" / "dots_us.csv"


def csv_rows():
    with DOTS_FILE.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def dots():
    return imf_dots_us_trade.parse(DOTS_FILE)


def test_file_has_the_documented_quirks():
    raw = DOTS_FILE.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    header, _ = csv_rows()
    assert header.count("Status") == 2 and header[-1] == "" and len(header) == 10


def test_parses_every_data_row(dots):
    _, rows = csv_rows()
    assert dots.height == len(rows) == 1107
    assert "Status" not in dots.columns and "" not in dots.columns


def test_values_equal_the_file_and_blanks_stay_null(dots):
    _, rows = csv_rows()
    expected = pl.DataFrame(
        {
            "partner_imf_code": [r[3] for r in rows],
            "year": [int(r[4]) for r in rows],
            "exp_file": [float(r[5]) if r[5] else None for r in rows],
            "imp_file": [float(r[7]) if r[7] else None for r in rows],
        }
    )
    joined = expected.join(dots, on=["partner_imf_code", "year"], how="left", validate="1:1")
    assert joined["exports_fob_usd"].equals(joined["exp_file"], check_names=False)
    assert joined["imports_cif_usd"].equals(joined["imp_file"], check_names=False)
    assert dots["exports_fob_usd"].null_count() == sum(1 for r in rows if r[5] == "") == 1
    assert dots["imports_cif_usd"].null_count() == sum(1 for r in rows if r[7] == "") == 14
    assert (dots["imports_cif_usd"] == 0).sum() == 0  # no blank turned into zero


def test_imf_codes_map_to_iso3(dots):
    mapped = dict(dots.select("partner_imf_code", "iso3").unique().iter_rows())
    assert mapped["288"] == "PRY" and mapped["353"] == "ANT" and mapped["928"] == "CUB" and mapped["223"] == "BRA"
    assert dots["iso3"].null_count() == 0
    # Canada and Greenland are not Latin America & the Caribbean: flagged, not dropped
    assert not dots.filter(pl.col("iso3").is_in(["CAN", "GRL"]))["in_universe"].any()


def test_rejects_text_in_a_value_column(tmp_path):
    bad = tmp_path / "dots_us.csv"
    rewrite_csv_cell(DOTS_FILE, bad, data_row=30, column="Time Period", value="2O10")
    with pytest.raises(ContractViolation) as err:
        imf_dots_us_trade.parse(bad)
    assert (
        "[imf_dots_us_trade]" in str(err.value)
        and "'year'" in str(err.value)
        and "'2O10'" in str(err.value)
        and "row(s) 30" in str(err.value)
    )


def test_rejects_missing_indicator_column(tmp_path):
    bad = tmp_path / "dots_us.csv"
    bad.write_bytes(DOTS_FILE.read_bytes().replace(b"(TMG_CIF_USD)", b"(TMG_FOB_USD)", 1))
    with pytest.raises(ContractViolation, match="TMG_CIF_USD"):
        imf_dots_us_trade.parse(bad)


def test_rejects_negative_trade_and_wrong_reporter(tmp_path):
    bad = tmp_path / "dots_us.csv"
    rewrite_csv_cell(DOTS_FILE, bad, data_row=4, column="Country Code", value="112")
    header, _ = csv_rows()
    rows = list(csv.reader(bad.read_text(encoding="utf-8").lstrip("\ufeff").splitlines()))
    rows[7][5] = "-5"
    bad.write_text("\r\n".join(",".join(f'"{c}"' for c in r) for r in rows) + "\r\n", encoding="utf-8")
    with pytest.raises(ContractViolation) as err:
        imf_dots_us_trade.parse(bad)
    message = str(err.value)
    assert "'reporter_imf_code'" in message and "'112'" in message and "row(s) 4" in message
    assert "'exports_fob_usd'" in message and "-5" in message and "row(s) 7" in message


def test_unknown_partner_in_the_hemisphere_block_fails_naming_it(tmp_path):
    bad = tmp_path / "dots_us.csv"
    # 234 is an unused code of the IMF's Western Hemisphere block (2xx-3xx): it could be a country of the universe
    rewrite_csv_cell(DOTS_FILE, bad, data_row=1, column="Counterpart Country Code", value="234")
    rewrite_csv_cell(bad, bad, data_row=1, column="Counterpart Country Name", value="Atlantis")
    with pytest.raises(UnmappedCountryError, match=r"\[imf_dots_us_trade\].*234 / Atlantis"):
        imf_dots_us_trade.parse(bad)


def test_unknown_partner_outside_the_hemisphere_block_lands_unresolved(tmp_path):
    bad = tmp_path / "dots_us.csv"
    rewrite_csv_cell(DOTS_FILE, bad, data_row=1, column="Counterpart Country Code", value="999")
    rewrite_csv_cell(bad, bad, data_row=1, column="Counterpart Country Name", value="Atlantis")
    row = imf_dots_us_trade.parse(bad).filter(pl.col("partner_imf_code") == "999")
    assert row.select("iso3", "entity_kind", "in_universe").rows() == [(None, "unresolved", False)]
