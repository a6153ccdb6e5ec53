"""The single crosswalk: every source's spellings resolve to ISO3, aggregates are recognised, the unknown fails."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines import countries
from pipelines.countries import UnmappedCountryError, normalise_name, resolve


def names(values, source="any_source", **kwargs):
    return resolve(pl.DataFrame({"name": values}), source, name_col="name", **kwargs)


@pytest.mark.parametrize(
    "spelling, iso3",
    [
        ("St. Kitts & Nevis", "KNA"),
        ("Saint Vincent and the Grenadines", "VCT"),
        ("Bahamas, The", "BHS"),
        ("Curaçao", "CUW"),
        ("Bolivia", "BOL"),
        ("Venezuela", "VEN"),
        ("Germany", "DEU"),  # world coverage through ISO 3166 names
        ("Viet Nam", "VNM"),
    ],
)
def test_spellings_resolve(spelling, iso3):
    assert names([spelling])["iso3"].to_list() == [iso3]


def test_normalisation_folds_publisher_noise():
    assert normalise_name("St. Lucia") == normalise_name("Saint Lucia") == "saint lucia"
    assert normalise_name("Antigua & Barbuda") == "antigua and barbuda"


def test_unmapped_name_fails_with_name_and_source():
    with pytest.raises(UnmappedCountryError) as err:
        names(["Paraguay", "Freedonia", "Sylvania"], source="sipri_milex")
    assert err.value.source == "sipri_milex" and err.value.values == ["Freedonia", "Sylvania"]
    assert "Freedonia" in str(err.value) and "[sipri_milex]" in str(err.value)


def test_source_aliases_apply_only_to_their_source():
    code_frame = pl.DataFrame({"code": ["288"], "name": ["Paraguay"]})
    assert resolve(code_frame, "imf_dots_us_trade", code_col="code", name_col="name")["iso3"].item() == "PRY"
    with pytest.raises(UnmappedCountryError):
        resolve(pl.DataFrame({"code": ["288"]}), "another_source", code_col="code")


def test_world_and_regions_are_aggregates():
    out = names(["World"])
    assert out["entity_kind"].item() == "aggregate" and out["iso3"].item() is None
    fa = resolve(
        pl.DataFrame({"code": ["WHN"], "name": ["Western Hemisphere Region"]}),
        "us_foreign_aid",
        code_col="code",
        name_col="name",
        code_is_iso3=True,
    )
    assert fa["entity_kind"].item() == "aggregate"


def test_universe_is_lac_plus_usa_and_configurable(monkeypatch):
    universe = countries.universe_iso3()
    assert {"PRY", "COL", "BRA", "USA", "ANT"} <= universe and "CAN" not in universe
    monkeypatch.setenv("HPW_EXTRA_COUNTRIES", "USA,CAN")
    assert "CAN" in countries.universe_iso3()


def test_every_focus_country_is_in_the_reference():
    reference = set(countries.reference_countries()["iso3"])
    assert {"PRY", "COL", "BRA", "ARG", "BOL", "HND", "GTM", "SLV"} <= reference
