"""One country dimension: every source's names and codes resolve to ISO3 here, or the build says why not.

Resolution order for a (code, name) pair from a source:
  1. that source's own aliases in data/reference/country_aliases.csv, matched on the code (explicit project
     decisions: aggregates, pseudo-codes, withdrawn codes a publisher keeps);
  2. the code in the publisher's own code system (`CODE_SYSTEMS`, chosen per source in `SOURCE_CODE_SYSTEMS`
     or by `code_system=`): IMF country codes, Correlates of War numbers, ISO 3166 numeric / UN M49, ISO alpha-3
     (current and ISO 3166-3 withdrawn), Census Schedule C `CTY_CODE` (data/reference/census_cty_codes.csv);
  3. the source's own aliases matched on the name;
  4. the name through the library: exact ISO 3166 / CLDR / UN / COW names, then the library's name patterns;
  5. the project's aliases declared for every source (`*`).
When both the code and the name resolve, they must name the same country: a contradiction (e.g. 'Paraguay' with
Uruguay's code) stops the build naming both (CrosswalkConflictError).

Historical entities (USSR, Yugoslavia, Czechoslovakia, East Germany, Serbia and Montenegro, Netherlands Antilles,
...) resolve to their ISO 3166-3 alpha-3 codes (data/reference/historical_countries.csv, pycountry's withdrawn list).

What stays unresolved is judged:
  - provably outside the universe (the publisher's own region column names a region outside the Americas, the
    code lies outside the code system's Western Hemisphere range, or the library knows the entity and places it
    outside Latin America & the Caribbean): its rows land with `entity_kind = 'unresolved'`, and the entity is
    listed in `meta.unresolved_entities` with the reason (never fatal);
  - possibly inside the universe: UnmappedCountryError naming the values and the source stops the build.

Why `countrycode` as the concordance: it is the Python port of the R `countrycode` package
(Arel-Bundock et al.), maintained, pure Python with no dependencies, and it is the one installable concordance
that carries IMF country codes and Correlates of War codes next to ISO alpha-3 / numeric, UN M49, the World Bank
region and English name patterns, including historical entities. `country_converter` (IMF and COW columns absent,
pulls pandas) and `hdx-python-country` (name variants only, many dependencies) were weighed and not taken.
pycountry stays the ISO 3166 authority (current and withdrawn codes).
"""

from __future__ import annotations

import csv
import importlib.util
import pickle
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl
import pycountry

from data_contracts._base import ENTITY_KINDS
from pipelines import settings

ALIASES_FILE = settings.REFERENCE_DIR / "country_aliases.csv"
HISTORICAL_FILE = settings.REFERENCE_DIR / "historical_countries.csv"
CENSUS_CODES_FILE = settings.REFERENCE_DIR / "census_cty_codes.csv"
COUNTRY_CODES_FILE = settings.SNAPSHOT_DIR / "country_reference" / "country-codes_LAC_USA.csv"
LAC_SUBREGION = "Latin America and the Caribbean"
LIBRARY_LAC_REGION = "Latin America & Caribbean"  # the World Bank region the library records

# Code system -> (library column or special, Western Hemisphere test for a code the system does not know).
# A code outside the hemisphere range cannot be a Latin American or Caribbean country: that is the proof used
# to let an unknown entity through as out-of-region.
CODE_SYSTEMS = ("iso3c", "imf", "cown", "iso3n", "census")
SOURCE_CODE_SYSTEMS: dict[str, str] = {
    "imf_dots_us_trade": "imf",
    "imf_imts_us_trade": "iso3c",
    "us_foreign_aid": "iso3c",  # ISO alpha-3 plus FA.gov's own regional pseudo-codes (aliases)
    "worldbank_wdi": "iso3c",
    "security_agreements": "iso3c",
    "us_troops_dmdc": "cown",
    "us_bases": "cown",
    "mme_exercises": "cown",
    "census_intltrade": "census",
    "census_trade_by_country": "census",
    "trade_agreements_desta": "iso3n",
    "us_foreign_aid_greenbook": "iso3c",
}
# Regions a publisher names that may hold a Latin American or Caribbean country (then nothing is proven).
AMERICAS_REGION = re.compile(r"(?i)americ|caribb|western hemisphere|latin|\blac\b|hemisf")


class UnmappedCountryError(ValueError):
    """A source names a country (or code) the crosswalk cannot place, and it may be inside the universe."""

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


class CrosswalkConflictError(UnmappedCountryError):
    """A row's code and name name two different countries: which one is right cannot be decided here."""

    def __init__(self, source: str, conflicts: list[str]):
        ValueError.__init__(
            self,
            f"[{source}] {len(conflicts)} name/code pair(s) contradict the crosswalk: "
            + "; ".join(conflicts[:10])
            + (f" (+{len(conflicts) - 10} more)" if len(conflicts) > 10 else "")
            + ". The file mislabels rows (or the code list changed): fix the file or declare the pair in "
            f"data/reference/country_aliases.csv (source={source}).",
        )
        self.source = source
        self.values = conflicts


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
            if kind not in ENTITY_KINDS[:4] or (kind == "country") != (iso3 is not None):
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
        "iso3",
        "iso2",
        pl.col("m49").str.zfill(3),
        "country_name",
        "official_name",
        "subregion",
        "intermediate_region",
        is_current=pl.lit(False),
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
            {
                "iso3": iso3,
                "iso2": country.alpha_2,
                "m49": country.numeric,
                "country_name": getattr(country, "common_name", country.name),
                "official_name": getattr(country, "official_name", country.name),
                "subregion": None,
                "intermediate_region": None,
                "is_current": True,
            }
        )
    extra = pl.DataFrame(extra_rows, schema=current.schema)
    return pl.concat([current, historical, extra])


def universe_iso3() -> frozenset[str]:
    ref = reference_countries()
    lac = ref.filter(pl.col("subregion") == LAC_SUBREGION)["iso3"].to_list()
    return frozenset(lac) | frozenset(settings.universe_extra_iso3())


# ------------------------------------------------------------------ the library (concordance)


@dataclass(frozen=True)
class Entry:
    """One entity of the concordance: its ISO3 (current or ISO 3166-3), name and World Bank region."""

    iso3: str | None
    name: str
    region: str | None


@dataclass
class Library:
    codes: dict[str, dict[str, Entry]]  # code system -> code -> entry
    names: dict[str, Entry]  # normalised exact name -> entry
    patterns: list[tuple[re.Pattern[str], Entry]]  # the library's English name patterns
    historical: frozenset[str]  # ISO 3166-3 alpha-3 codes of withdrawn entities
    cown_states: frozenset[str]  # ISO3 of entities with a COW state number of their own


def _codelist_path() -> Path:
    # located, not imported: importing countrycode loads its whole codelist through its own reader
    spec = importlib.util.find_spec("countrycode")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("countrycode is not installed (make install)")
    return Path(spec.origin).parent / "data" / "codelist.pickle"


@lru_cache(maxsize=1)
def library() -> Library:
    """The concordance (countrycode's codelist) joined with pycountry and the project's reference files."""
    with _codelist_path().open("rb") as handle:
        raw = pickle.load(handle)  # the package's own data file, shipped in its wheel
    table = pl.DataFrame(
        {
            k: raw[k]
            for k in (
                "country.name.en",
                "iso3c",
                "imf",
                "cown",
                "iso3n",
                "region",
                "country.name.en.regex",
                "iso.name.en",
                "un.name.en",
                "cow.name",
            )
        },
        strict=False,
    )
    historical_ref = pl.read_csv(HISTORICAL_FILE, infer_schema_length=0)
    historical = frozenset(c.alpha_3 for c in pycountry.historic_countries) | frozenset(historical_ref["iso3"])
    by_name_hist = {normalise_name(n): i for n, i in zip(historical_ref["country_name"], historical_ref["iso3"])}
    by_name_hist |= {normalise_name(n): i for n, i in zip(historical_ref["official_name"], historical_ref["iso3"])}
    by_name_hist[normalise_name("Soviet Union")] = "SUN"

    codes: dict[str, dict[str, Entry]] = {system: {} for system in CODE_SYSTEMS}
    names: dict[str, Entry] = {}
    patterns: list[tuple[re.Pattern[str], Entry]] = []
    for row in table.iter_rows(named=True):
        name = row["country.name.en"]
        iso3 = row["iso3c"] or by_name_hist.get(normalise_name(name))
        entry = Entry(iso3, name, row["region"])
        if row["iso3c"]:
            codes["iso3c"][row["iso3c"]] = entry
        if row["imf"] is not None:
            codes["imf"][str(int(row["imf"]))] = entry
        if row["cown"] is not None:
            codes["cown"][str(int(row["cown"]))] = entry
        if row["iso3n"] is not None:
            codes["iso3n"][str(int(row["iso3n"]))] = entry
        for attr in ("country.name.en", "iso.name.en", "un.name.en", "cow.name"):
            if row[attr]:
                names.setdefault(normalise_name(row[attr]), entry)
        if row["country.name.en.regex"]:
            patterns.append((re.compile(row["country.name.en.regex"], re.IGNORECASE), entry))
    # ISO 3166 (current and withdrawn) and the project's reference names complete the exact names and codes.
    ref_region = {
        i: (LIBRARY_LAC_REGION if s == LAC_SUBREGION else s)
        for i, s in reference_countries().select("iso3", "subregion").iter_rows()
    }
    for country in list(pycountry.countries) + list(pycountry.historic_countries):
        entry = codes["iso3c"].get(country.alpha_3) or Entry(
            country.alpha_3, country.name, ref_region.get(country.alpha_3)
        )
        codes["iso3c"].setdefault(country.alpha_3, entry)
        if getattr(country, "numeric", None):
            codes["iso3n"].setdefault(str(int(country.numeric)), entry)
        for attr in ("name", "official_name", "common_name"):
            if getattr(country, attr, None):
                names.setdefault(normalise_name(getattr(country, attr)), entry)
    for row in reference_countries().iter_rows(named=True):
        entry = codes["iso3c"].get(row["iso3"]) or Entry(row["iso3"], row["country_name"], ref_region.get(row["iso3"]))
        codes["iso3c"].setdefault(row["iso3"], entry)
        for attr in ("country_name", "official_name"):
            if row[attr]:
                names.setdefault(normalise_name(row[attr]), entry)
    with CENSUS_CODES_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["iso3"]:
                entry = codes["iso3c"].get(row["iso3"]) or Entry(row["iso3"], row["name"], None)
                codes["census"][row["cty_code"].strip()] = entry
    cown_states = frozenset(e.iso3 for e in codes["cown"].values() if e.iso3)
    return Library(codes, names, patterns, historical, cown_states)


def _code_key(system: str, code) -> str | None:
    """A publisher code as the concordance keys it ('288', '1234.0' -> '1234', ' PRY ' -> 'PRY')."""
    if code is None:
        return None
    text = str(code).strip()
    if system in ("imf", "cown", "iso3n", "census"):
        match = re.fullmatch(r"0*(\d+)(?:\.0*)?", text)
        return (match.group(1) or "0") if match else None
    return text.upper() or None


def _in_hemisphere_range(system: str, key: str | None) -> bool | None:
    """Whether a code the system does not know lies in its Western Hemisphere block (None: the system has none)."""
    if key is None or not key.isdigit():
        return None
    number = int(key)
    if system == "imf":  # IMF area codes: 2xx-3xx Western Hemisphere (111 is the US, 156 Canada); Cuba is 928
        return 200 <= number <= 399 or number == 928
    if system == "cown":  # COW numbers 2-165 are the Americas; numbers from 1000 are a publisher's own, not COW
        return number < 200 if number < 1000 else None
    if system == "census":  # Schedule C: 1xxx North America, 2xxx Central America & Caribbean, 3xxx South America
        return 1000 <= number <= 3999
    return None


def _name_entry(lib: Library, name: str | None, *, patterns: bool = True) -> Entry | None:
    """The entity a name denotes: an exact (normalised) name first, else the one library pattern that matches.

    A pattern is fuzzy ('Gran Colombia' matches Colombia's): its answer is taken only outside Latin America & the
    Caribbean. Inside, where a wrong match would put rows on a country of the universe, only exact names and the
    project's aliases count; the entry is still returned so the caller can see the name may be ours.
    """
    if not name:
        return None
    exact = lib.names.get(normalise_name(name))
    if exact is not None or not patterns:
        return exact
    hits = {entry.name: entry for pattern, entry in lib.patterns if pattern.search(name)}
    return next(iter(hits.values())) if len(hits) == 1 else None  # two patterns matching: ambiguous, no answer


def _pattern_only_in_region(lib: Library, name: str | None, entry: Entry | None) -> bool:
    """True when `entry` came from a name pattern (not an exact name) and lands in Latin America & the Caribbean."""
    return (
        entry is not None
        and name is not None
        and normalise_name(name) not in lib.names
        and entry.region == LIBRARY_LAC_REGION
    )


# ------------------------------------------------------------------ what each resolution did (for reports)


@dataclass
class Outcome:
    """One distinct (code, name) of a source: how it resolved, or why it was let through unresolved."""

    source: str
    code: str | None
    name: str | None
    iso3: str | None
    entity_kind: str | None
    method: str  # alias | code | name | library_pattern | shared_alias | historical | outside | unmapped
    rows: int = 0
    why: str | None = None


@dataclass
class _Log:
    outcomes: list[Outcome] = field(default_factory=list)


_LOG = _Log()


def take_outcomes(source: str | None = None) -> list[Outcome]:
    """Remove and return what the crosswalk recorded (all sources, or one)."""
    mine = [o for o in _LOG.outcomes if source is None or o.source == source]
    _LOG.outcomes = [o for o in _LOG.outcomes if not (source is None or o.source == source)]
    return mine


def unresolved_frame(outcomes: list[Outcome]) -> pl.DataFrame:
    """The out-of-region entities let through unresolved, one row each (code, name, rows, why)."""
    rows = [o for o in outcomes if o.method == "outside"]
    return pl.DataFrame(
        {
            "source": [o.source for o in rows],
            "code": [o.code for o in rows],
            "name": [o.name for o in rows],
            "rows": [o.rows for o in rows],
            "why": [o.why for o in rows],
        },
        schema={"source": pl.String, "code": pl.String, "name": pl.String, "rows": pl.Int64, "why": pl.String},
    )


# ------------------------------------------------------------------ resolution


def resolve(
    pairs: pl.DataFrame,
    source: str,
    *,
    code_col: str | None = None,
    name_col: str | None = None,
    code_is_iso3: bool = False,
    code_system: str | None = None,
    region_col: str | None = None,
) -> pl.DataFrame:
    """Map the distinct (code, name) pairs of a source to `iso3, entity_kind, in_universe`.

    Returns the distinct pairs (of `code_col`, `name_col`) with the three added columns, to be joined back onto
    the source frame. `region_col` (the publisher's own region column) is used only as proof that an unresolved
    entity lies outside the universe.
    """
    keys = [c for c in (code_col, name_col) if c]
    system = code_system or ("iso3c" if code_is_iso3 else SOURCE_CODE_SYSTEMS.get(source)) if code_col else None
    if system is not None and system not in CODE_SYSTEMS:
        raise ValueError(f"unknown code system {system!r}; expected one of {CODE_SYSTEMS}")
    group = keys + ([region_col] if region_col and region_col in pairs.columns else [])
    counted = pairs.group_by(group, maintain_order=True).len("rows")
    lib = library()
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

    resolved: dict[tuple, tuple[str | None, str | None]] = {}
    unmapped, conflicts, outcomes = [], [], []
    for row in counted.iter_rows(named=True):
        raw_code = row.get(code_col) if code_col else None
        raw_name = row.get(name_col) if name_col else None
        code = raw_code.strip() if isinstance(raw_code, str) else raw_code
        name = raw_name.strip() if isinstance(raw_name, str) else raw_name
        code = None if code == "" else code
        name = None if name == "" else name
        key = tuple(row[c] for c in keys)
        label = " / ".join(str(v) for v in (code, name) if v is not None)
        code_key = _code_key(system, code) if system else None
        code_entry = lib.codes[system].get(code_key) if system and code_key else None
        name_entry = _name_entry(lib, name)
        suspect_name = _pattern_only_in_region(lib, name, name_entry)
        if suspect_name:
            name_entry = None  # a fuzzy match onto a country of the region: never taken (see _name_entry)
        if (
            system is not None
            and code_entry is not None
            and name_entry is not None
            and _name_is_more_specific(system, code_entry, name_entry, lib)
        ):
            code_entry = None  # e.g. COW 2 'Puerto Rico', COW 365 'Soviet Union': the name is the finer entity

        iso3, kind, method = None, None, None
        if (hit := match(own, code if isinstance(code, str) else None)) is not None:
            iso3, kind, method = hit.iso3, hit.entity_kind, "alias"
        elif code_entry is not None and code_entry.iso3:
            iso3, kind, method = code_entry.iso3, "country", "code"
        elif (hit := match(own, name)) is not None:
            iso3, kind, method = hit.iso3, hit.entity_kind, "alias"
        elif name_entry is not None and name_entry.iso3:
            iso3, kind, method = name_entry.iso3, "country", "name"
        elif (hit := match(shared, name)) is not None:
            iso3, kind, method = hit.iso3, hit.entity_kind, "shared_alias"
        if kind == "country" and iso3 in lib.historical and iso3 not in universe:
            method = "historical"

        # A code and a name that each name a (different) country: the row is mislabelled.
        if kind == "country" and name:
            by_name = match(own, name)
            name_iso3 = by_name.iso3 if by_name and by_name.entity_kind == "country" else None
            if by_name is None:
                name_iso3 = name_entry.iso3 if name_entry else None
            code_iso3 = None
            if code_entry is not None:
                code_iso3 = code_entry.iso3
            elif (by_code := match(own, code if isinstance(code, str) else None)) is not None:
                code_iso3 = by_code.iso3 if by_code.entity_kind == "country" else None
            if code_iso3 and name_iso3 and code_iso3 != name_iso3:
                conflicts.append(f"code {code!r} is {code_iso3} but name {name!r} is {name_iso3}")

        rows = int(row["rows"])
        if kind is None:
            why = (
                None
                if suspect_name
                else _outside_reason(
                    system, code_key, code_entry, lib, name, row.get(region_col) if region_col else None
                )
            )
            if why is None:
                unmapped.append(label)
                method = "unmapped"
            else:
                kind, method = "unresolved", "outside"
        else:
            why = None
        if key in resolved and resolved[key] != (iso3, kind):
            conflicts.append(f"{label!r} resolves two ways across regions")
        resolved[key] = (iso3, kind)
        assert method is not None  # every branch above says how the row resolved or why it did not
        outcomes.append(Outcome(source, None if code is None else str(code), name, iso3, kind, method, rows, why))
    if conflicts:
        raise CrosswalkConflictError(source, conflicts)
    if unmapped:
        raise UnmappedCountryError(source, list(dict.fromkeys(unmapped)))
    _merge_outcomes(outcomes)
    distinct = pairs.select(keys).unique(maintain_order=True)
    mapping = pl.DataFrame(
        [list(k) + list(v) for k, v in resolved.items()],
        schema={**{c: pairs.schema[c] for c in keys}, "iso3": pl.String, "entity_kind": pl.String},
        orient="row",
    )
    return distinct.join(mapping, on=keys, how="left", nulls_equal=True, maintain_order="left").with_columns(
        in_universe=pl.col("iso3").is_in(list(universe)).fill_null(False)
    )


def record_outcomes(outcomes: list[Outcome]) -> None:
    """Record outcomes a parse made in another process (pipelines/prefetch.py), as if made here."""
    _merge_outcomes(outcomes)


def _merge_outcomes(outcomes: list[Outcome]) -> None:
    """Keep one outcome per (source, code, name), adding up rows (a source may resolve in several passes)."""
    merged: dict[tuple, Outcome] = {(o.source, o.code, o.name): o for o in _LOG.outcomes}
    for outcome in outcomes:
        key = (outcome.source, outcome.code, outcome.name)
        if key in merged:
            merged[key].rows += outcome.rows
        else:
            merged[key] = outcome
    _LOG.outcomes = list(merged.values())


def _name_is_more_specific(system: str, code_entry: Entry, name_entry: Entry, lib: Library) -> bool:
    """A code that names a state and a name that names a part or a predecessor of it are not a contradiction.

    COW numbers are state continuity codes: 2 covers US territories (Puerto Rico, Guam), 365 both the USSR and
    Russia, 345 Yugoslavia and Serbia. When the name is a territory without a COW number of its own, or a withdrawn
    (ISO 3166-3) entity, the name is the finer answer. Any other disagreement stays a contradiction.
    """
    if not name_entry.iso3 or name_entry.iso3 == code_entry.iso3:
        return False
    if name_entry.iso3 in lib.historical:
        return True
    return system == "cown" and name_entry.iso3 not in lib.cown_states


def _outside_reason(system, code_key, code_entry, lib: Library, name, region) -> str | None:
    """Why an unresolved entity cannot be in Latin America & the Caribbean, or None when it might be."""
    if region is not None and str(region).strip():
        if not AMERICAS_REGION.search(str(region)):
            return f"publisher region {str(region).strip()!r} is outside the Americas"
        return None  # the publisher places it in the Americas: it might be ours
    if code_entry is not None and code_entry.region and code_entry.region != LIBRARY_LAC_REGION:
        return (
            f"{system} code {code_key} is {code_entry.name} in the concordance "
            f"({code_entry.region}; historical, no ISO3)"
        )
    entry = _name_entry(lib, name)
    if entry is not None and entry.region and entry.region != LIBRARY_LAC_REGION:
        return f"the concordance knows {name!r} as {entry.name} ({entry.region}; historical, no ISO3)"
    if code_entry is None and system and _in_hemisphere_range(system, code_key) is False:
        return f"{system} code {code_key} lies outside the code system's Western Hemisphere range"
    return None


def attach_iso3(frame: pl.DataFrame, source: str, **kwargs) -> pl.DataFrame:
    """Join `iso3, entity_kind, in_universe` onto every row of a source frame (one lookup per distinct value).

    Keyword arguments are those of `resolve` (code_col, name_col, code_is_iso3, code_system, region_col).
    """
    keys = [c for c in (kwargs.get("code_col"), kwargs.get("name_col")) if c]
    mapping = resolve(frame, source, **kwargs)
    return frame.join(mapping, on=keys, how="left", nulls_equal=True, maintain_order="left")
