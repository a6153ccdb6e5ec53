"""The one-query contract check (data_contracts/_onepass.py) says "passes" only where pandera itself passes.

Every frame a bundled raw table hands to its contract is checked both ways, and frames broken in each way a
contract rule can be broken (a NULL, a value off its list or range or pattern, a duplicate key, a cross-column rule,
a wrong dtype, a missing column) are refused by both; pandera then reports them, as before.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest

from data_contracts import _onepass
from data_contracts.security_agreements import SecurityAgreements
from pipelines.sources import RAW_TABLES, RAW_TABLES_BY_NAME


def _pandera_passes(frame: pl.DataFrame, model) -> bool:
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors:
        return False
    return True


def _validated_frames(monkeypatch, tables) -> list[tuple[pl.DataFrame, type]]:
    """The (cast frame, contract) pairs the parses of `tables` hand to validation."""
    seen: list[tuple[pl.DataFrame, type]] = []
    one_pass = _onepass.passes

    def recording(frame, model):
        seen.append((frame, model))
        return one_pass(frame, model)

    monkeypatch.setattr(_onepass, "passes", recording)
    for table in tables:
        table.parse(table.bundled_path)
    monkeypatch.setattr(_onepass, "passes", one_pass)
    return seen


@pytest.mark.slow  # parses every bundled file
def test_every_bundled_contract_call_gets_pandera_verdict(monkeypatch):
    pairs = _validated_frames(monkeypatch, [t for t in RAW_TABLES if t.land is None])
    assert len({model for _, model in pairs}) >= 25
    for frame, model in pairs:
        assert _pandera_passes(frame, model), model.__name__  # the bundled data meets its contracts
        assert _onepass.passes(frame, model), model.__name__  # and the one query says so, without pandera


def _first_row(column: str, value) -> pl.Expr:
    return pl.when(pl.int_range(pl.len()) == 0).then(value).otherwise(pl.col(column)).alias(column)


BROKEN = {
    "null in a non-nullable column": lambda f: f.with_columns(_first_row("title", pl.lit(None, pl.String))),
    "value off the isin list": lambda f: f.with_columns(_first_row("agreement_type", pl.lit("treaty_of_friendship"))),
    "value below ge": lambda f: f.with_columns(_first_row("source_row", pl.lit(0, pl.Int64))),
    "pattern not matched": lambda f: f.with_columns(_first_row("country_iso3", pl.lit("Par"))),
    "string length": lambda f: f.with_columns(_first_row("iso3", pl.lit("PARA"))),
    "unique column repeated": lambda f: f.with_columns(_first_row("source_row", pl.col("source_row").last())),
    "contract key repeated": lambda f: pl.concat([f, f.tail(1).with_columns(source_row=pl.lit(10_000, pl.Int64))]),
    "custom column check": lambda f: f.with_columns(_first_row("date_signed_text", pl.lit("2025-13-45"))),
    "dataframe check": lambda f: f.with_columns(
        _first_row("source_citation", pl.lit(None, pl.String)), _first_row("source_url", pl.lit(None, pl.String))
    ),
    "cross-column dates": lambda f: f.with_columns(
        _first_row("date_signed", pl.date(2020, 1, 1)), _first_row("date_in_force", pl.date(2010, 1, 1))
    ),
    "wrong dtype": lambda f: f.with_columns(pl.col("source_row").cast(pl.String)),
    "required column missing": lambda f: f.drop("entity_kind"),
}


@pytest.mark.parametrize("how", list(BROKEN))
def test_a_broken_frame_is_left_to_pandera(monkeypatch, how):
    pairs = _validated_frames(monkeypatch, [RAW_TABLES_BY_NAME["security_agreements"]])
    frame = next(f for f, model in pairs if model is SecurityAgreements)
    assert _onepass.passes(frame, SecurityAgreements)
    broken = BROKEN[how](frame)
    assert not _pandera_passes(broken, SecurityAgreements)
    assert not _onepass.passes(broken, SecurityAgreements)


def test_nulls_where_allowed_pass_both_ways(monkeypatch):
    pairs = _validated_frames(monkeypatch, [RAW_TABLES_BY_NAME["security_agreements"]])
    frame = next(f for f, model in pairs if model is SecurityAgreements)
    blank = frame.with_columns(_first_row("source_url", pl.lit(None, pl.String)), _first_row("notes", pl.lit(None)))
    assert _pandera_passes(blank, SecurityAgreements) and _onepass.passes(blank, SecurityAgreements)


def test_a_contract_feature_it_does_not_evaluate_goes_to_pandera():
    class Coerced(pa.DataFrameModel):
        n: int = pa.Field(ge=0)

        class Config:
            coerce = True

    frame = pl.DataFrame({"n": [1, 2]})
    assert _pandera_passes(frame, Coerced) and not _onepass.passes(frame, Coerced)
