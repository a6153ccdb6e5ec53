"""Country reference files (datasets/country-codes, World Bank country metadata): every record parsed, quirks handled.
Expected values are read independently with the csv module, not through the parser under test."""

from __future__ import annotations

import csv

import pytest

from data_contracts._base import ContractViolation
from pipelines.sources.country_reference import COUNTRY_CODES, WB_COUNTRY_METADATA


def _records(path, encoding="utf-8"):
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


def test_country_codes_every_record_with_padded_m49():
    records = _records(COUNTRY_CODES.bundled_path)
    frame = COUNTRY_CODES.parse(COUNTRY_CODES.bundled_path)
    assert frame.height == len(records)
    by_iso3 = {r["ISO3166-1-Alpha-3"]: r for r in records}
    assert set(frame["iso3"]) == set(by_iso3)
    for row in frame.select("iso3", "m49", "iso2").iter_rows(named=True):
        assert int(row["m49"]) == int(by_iso3[row["iso3"]]["M49"]) and len(row["m49"]) == 3  # zero-padded
        assert row["iso2"] == (by_iso3[row["iso3"]]["ISO3166-1-Alpha-2"] or None)
    assert frame.filter(frame["iso3"] == "ARG")["m49"].item() == "032"


def test_world_bank_metadata_records_across_quoted_line_breaks(tmp_path):
    records = _records(WB_COUNTRY_METADATA.bundled_path, encoding="utf-8-sig")  # the file starts with a BOM
    frame = WB_COUNTRY_METADATA.parse(WB_COUNTRY_METADATA.bundled_path)
    assert frame.height == len(records)
    assert set(frame["code"]) == {r["Country Code"] for r in records}
    no_region = {r["Country Code"] for r in records if not r["Region"]}  # aggregates (e.g. LCN) have none
    assert no_region and set(frame.filter(frame["wb_region"].is_null())["code"]) == no_region


def test_country_codes_contract_rejects_a_duplicated_iso3(tmp_path):
    lines = COUNTRY_CODES.bundled_path.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / COUNTRY_CODES.default_file
    broken.write_text("".join([*lines, lines[1]]), encoding="utf-8")  # the first country twice
    with pytest.raises(ContractViolation, match="iso3"):
        COUNTRY_CODES.parse(broken)
