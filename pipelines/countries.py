"""One country dimension: every source's names and codes resolve to ISO3 here, or the build fails.

Resolution order for a (code, name) pair from a source:
  1. that source's own aliases in data/reference/country_aliases.csv (codes, names, or `re:` patterns),
  2. the code in the source's code system (ISO3 validated against ISO 3166 current + withdrawn),
  3. the name against ISO 3166 names (pycountry, world coverage), the country-codes reference names,
     and aliases declared for every source (`*`).
Aggregates (regions, world) and non-state actors are recognised explicitly and carry no ISO3.
Anything left over raises UnmappedCountryError naming the values and the source: rows are never dropped silently.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import polars as pl
import pycountry

from data_contracts._base import ENTITY_KINDS
from pipelines import settings

ALIASES_FILE = settings.REFERENCE_DIR / "country_aliases.csv"
HISTORICAL_FILE = settings.REFERENCE_DIR / "historical_countries.csv"
COUNTRY_CODES_FILE = settings.SNAPSHOT_DIR / "country_reference" / "country-codes_LAC_USA.csv"
LAC_SUBREGION = "Latin America and the Caribbean"


class UnmappedCountryError(ValueError):
    """A source names a country (or code) the crosswalk cannot place."""

    def __init__(self, source: str, values: list[str]):
        self.source = source
        self.values = values
        shown = ", ".join(repr(v) for v in values[:20])
        more = f" (+{len(values) - 20} more)" if len(values) > 20 else ""
        super().__init__(
            f"[{source}] {len(values)} country name(s)/code(s) not in the crosswalk: {shown}{more}. "
            f"Add them to data/reference/country_aliases.csv (source={source}) as a country "
            f"(with iso3), an aggregate, or a non_state entity."
        )


def normalise_name(name: str) -> str:
    """Fold spelling noise that differs between publishers ('St. Kitts & Nevis' == 'saint kitts and nevis')."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = text.casefold().replace("&", " and ")
    text = re.sub(r"\bst\.?(?=\s)", "saint", text)
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    text = re.sub(r"^the\s+|\s+the$", "", text)
    return re.sub(r"\s+", " ", text)


@dataclass(frozen=True)
class Alias:
    source: str
    value: str
    iso3: str | None
    entity_kind: str
    pattern: re.Pattern[str] | None


def _read_aliases() -> list[Alias]:
    aliases = []
    with ALIASES_FILE.open(encoding="utf-8", newline="") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            kind = row["entity_kind"].strip()
            iso3 = row["iso3"].strip() or None
            if kind not in ENTITY_KINDS or (kind == "country") != (iso3 is not None):
                raise ValueError(f"{ALIASES_FILE.name} line {line_no}: bad alias row {row}")
            value = row["source_value"]
            pattern = re.compile(value[3:]) if value.startswith("re:") else None
            aliases.append(Alias(row["source"].strip(), value, iso3, kind, pattern))
    return aliases


def reference_countries() -> pl.DataFrame:
    """The country reference: datasets/country-codes (ISO/M49), withdrawn ISO codes still used by sources, and
    any extra universe country (HPW_EXTRA_COUNTRIES) the bundled LAC+USA extract lacks, taken from ISO 3166."""
    return _reference_countries(settings.universe_extra_iso3())


@lru_cache(maxsize=4)
def _reference_countries(extra_iso3: tuple[str, ...]) -> pl.DataFrame:
    codes = pl.read_csv(COUNTRY_CODES_FILE, infer_schema_length=0, encoding="utf8")
    current = codes.select(
        iso3=pl.col("ISO3166-1-Alpha-3"),
        iso2=pl.col("ISO3166-1-Alpha-2"),
        m49=pl.col("M49").str.zfill(3),
        country_name=pl.col("CLDR display name"),
        official_name=pl.col("official_name_en"),
        subregion=pl.col("Sub-region Name"),
        intermediate_region=pl.col("Intermediate Region Name"),
        is_current=pl.lit(True),
    )
    historical = pl.read_csv(HISTORICAL_FILE, infer_schema_length=0).select(
        "iso3", "iso2", pl.col("m49").str.zfill(3), "country_name", "official_name",
        "subregion", "intermediate_region", is_current=pl.lit(False),
    )
    known = set(current["iso3"]) | set(historical["iso3"])
    extra_rows = []
    for iso3 in extra_iso3:
        country = pycountry.countries.get(alpha_3=iso3)
        if iso3 in known:
            continue
        if country is None:
            raise ValueError(f"HPW_EXTRA_COUNTRIES names {iso3!r}, which is not an ISO 3166 alpha-3 code")
        extra_rows.append(
            {"iso3": iso3, "iso2": country.alpha_2, "m49": country.numeric, "country_name": getattr(country, "common_name", country.name),
             "official_name": getattr(country, "official_name", country.name), "subregion": None, "intermediate_region": None, "is_current": True}
        )
    extra = pl.DataFrame(extra_rows, schema=current.schema)
    return pl.concat([current, historical, extra])


def universe_iso3() -> frozenset[str]:
    ref = reference_countries()
    lac = ref.filter(pl.col("subregion") == LAC_SUBREGION)["iso3"].to_list()
    return frozenset(lac) | frozenset(settings.universe_extra_iso3())


@lru_cache(maxsize=1)
def _global_index() -> tuple[dict[str, str], dict[str, str]]:
    """(ISO3 codes known, normalised name -> ISO3) over the whole world."""
    codes: dict[str, str] = {}
    names: dict[str, str] = {}

    def add_name(name: str | None, iso3: str) -> None:
        if name:
            names.setdefault(normalise_name(name), iso3)

    for country in list(pycountry.countries) + list(pycountry.historic_countries):
        codes[country.alpha_3] = country.alpha_3
        for attr in ("name", "official_name", "common_name"):
            add_name(getattr(country, attr, None), country.alpha_3)
    for row in reference_countries().iter_rows(named=True):
        codes[row["iso3"]] = row["iso3"]
        add_name(row["country_name"], row["iso3"])
        add_name(row["official_name"], row["iso3"])
    return codes, names


def resolve(
    pairs: pl.DataFrame,
    source: str,
    *,
    code_col: str | None = None,
    name_col: str | None = None,
    code_is_iso3: bool = False,
) -> pl.DataFrame:
    """Map the distinct (code, name) pairs of a source to `iso3, entity_kind, in_universe`.

    Returns the distinct pairs with the three added columns, to be joined back onto the source frame.
    """
    keys = [c for c in (code_col, name_col) if c]
    distinct = pairs.select(keys).unique(maintain_order=True)
    known_codes, known_names = _global_index()
    aliases = [a for a in _read_aliases() if a.source in (source, "*")]
    own = [a for a in aliases if a.source == source]
    shared = [a for a in aliases if a.source == "*"]
    universe = universe_iso3()

    def match(alias_list: list[Alias], value: str | None) -> Alias | None:
        if value is None:
            return None
        for alias in alias_list:
            if alias.pattern.fullmatch(value) if alias.pattern else alias.value == value:
                return alias
        return None

    out_iso3, out_kind, unmapped = [], [], []
    for row in distinct.iter_rows(named=True):
        code = row.get(code_col) if code_col else None
        name = row.get(name_col) if name_col else None
        code = code.strip() if isinstance(code, str) else code
        name = name.strip() if isinstance(name, str) else name
        hit = match(own, code) or match(own, name)
        iso3, kind = (hit.iso3, hit.entity_kind) if hit else (None, None)
        if kind is None and code_is_iso3 and code in known_codes:
            iso3, kind = code, "country"
        if kind is None and name:
            alias = match(shared, name)
            if alias:
                iso3, kind = alias.iso3, alias.entity_kind
            elif normalise_name(name) in known_names:
                iso3, kind = known_names[normalise_name(name)], "country"
        if kind is None:
            unmapped.append(" / ".join(str(v) for v in (code, name) if v is not None))
        out_iso3.append(iso3)
        out_kind.append(kind)
    if unmapped:
        raise UnmappedCountryError(source, unmapped)
    return distinct.with_columns(
        iso3=pl.Series(out_iso3, dtype=pl.String),
        entity_kind=pl.Series(out_kind, dtype=pl.String),
    ).with_columns(in_universe=pl.col("iso3").is_in(list(universe)).fill_null(False))


def attach_iso3(frame: pl.DataFrame, source: str, **kwargs) -> pl.DataFrame:
    """Join `iso3, entity_kind, in_universe` onto every row of a source frame (one lookup per distinct value)."""
    keys = [c for c in (kwargs.get("code_col"), kwargs.get("name_col")) if c]
    mapping = resolve(frame, source, **kwargs)
    return frame.join(mapping, on=keys, how="left", nulls_equal=True, maintain_order="left")
