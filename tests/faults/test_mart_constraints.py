"""The per-column rules of the marts (not null, accepted values, ranges) and their NOT NULL keys are constraints
of their enforced contracts, not dbt tests: a bad value fails the mart's CREATE, so the build fails and says which
model, rule and column, and which raw table fed it. Every other rule of a model (not null and accepted values where
there is no contract, keys, relationships, reconciling sums) is one `column_rules` test per model, whose failing rows
name every rule they break and the bad value or key. Real `dbt build` runs on a copy of the session build's database
with a raw value corrupted; the published file itself is never touched."""

from __future__ import annotations

import gc
import json
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from pipelines.build import explain_dbt_failure
from pipelines.dbt_worker import _close_database
from tests.conftest import PROJECT_ROOT, as_a_builds_dbt, reused_build_area

MANIFEST = PROJECT_ROOT / "models" / "target" / "manifest.json"


def _manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def _contracted(manifest: dict) -> dict[str, dict]:
    return {
        n["unique_id"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"].get("contract", {}).get("enforced")
    }


@pytest.fixture()
def build_area(tmp_path_factory) -> Path:
    """One build folder per worker, used by each case in turn with a fresh copy of the database and the parse
    state the case before left (as consecutive builds of one warehouse do). Nothing else is kept from it."""
    return reused_build_area(tmp_path_factory, "dbt")


def dbt_build_on_copy(built_warehouse: Path, build_area: Path, corruption: str, select: str, command: str = "build"):
    """`dbt build --select <select>` (space-separated nodes) on a copy of the built database after `corruption` (SQL on
    raw tables). Intermediate models are tables: select them too for a raw change to reach a mart. `command="test"`
    runs the selected models' tests on the tables as corrupted. Returns dbt's exit code and the build's explanation.

    dbt runs in this process through its programmatic entry point (dbtRunner, as the build's warm dbt process runs
    it): dbt-core is imported once per worker instead of once per case (~2 s of CPU each). `dbt` as a process of its
    own is run by tests/test_dbt_worker.py."""
    from dbt.cli.main import dbtRunner

    database = build_area / "partnership.duckdb"
    # DuckDB serves a path's database instance while it is open in this process: the last case's must be gone
    gc.collect()
    shutil.copyfile(built_warehouse / "partnership.duckdb", database)
    with duckdb.connect(str(database)) as con:
        con.execute(corruption)
    models = str(PROJECT_ROOT / "models")
    with pytest.MonkeyPatch.context() as env:
        as_a_builds_dbt(env, database, build_area / "dbt_target")
        env.setenv("DO_NOT_TRACK", "1")
        result = dbtRunner().invoke(
            [command, "--select", *select.split(), "--project-dir", models, "--profiles-dir", models]
            + ["--target-path", str(build_area / "dbt_target")]
        )
    # dbt-duckdb keeps its database open for the life of the process (a `dbt` process closes it by exiting)
    assert _close_database(str(database)) == "", "dbt's database is still open"
    # dbt's own exit codes (dbt.cli.main): 0 ok, 1 a model or test failed, 2 an exception
    returncode = 0 if result.success else 1 if result.exception is None else 2
    return returncode, explain_dbt_failure(build_area)


def _rule_arguments(test: dict) -> dict:
    kwargs = (test.get("test_metadata") or {}).get("kwargs") or {}
    return {**kwargs, **(kwargs.get("arguments") or {})}


def test_no_mart_rule_is_both_a_constraint_and_a_data_test():
    """Rules a contracted table can enforce are constraints there; a data test repeating one is a wasted dbt node.
    (A filtered or warn-only rule stays a test: a constraint can neither warn nor filter.) A mart's `column_rules`
    test carries only what a constraint cannot: keys with NULLs, relationships, reconciling sums."""
    manifest = _manifest()
    contracted = _contracted(manifest)
    assert contracted
    duplicated = [
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and n.get("attached_node") in contracted
        and (
            (n.get("test_metadata") or {}).get("name") in ("not_null", "accepted_values", "value_between")
            or any(_rule_arguments(n).get(rule) for rule in ("not_null", "accepted_values"))
        )
        and not n["config"].get("where")
        and str(n["config"].get("severity", "error")).lower() == "error"
    ]
    assert not duplicated, duplicated


def test_each_model_has_at_most_one_error_level_rules_test():
    """Every error-level rule of a model is one node: a second node per model or rule costs more than its query."""
    tests = [n for n in _manifest()["nodes"].values() if n["resource_type"] == "test"]
    failing = [n for n in tests if str(n["config"].get("severity", "error")).lower() == "error"]
    assert {(n.get("test_metadata") or {}).get("name") for n in failing} == {"column_rules"}
    per_model = Counter(n["attached_node"] for n in failing)
    assert len(per_model) > 40 and max(per_model.values()) == 1, [m for m, k in per_model.items() if k > 1]


@pytest.mark.e2e
def test_every_declared_mart_constraint_is_in_the_published_file(built_warehouse):
    declared: Counter[tuple[str, str]] = Counter()
    not_null: set[tuple[str, str]] = set()
    for node in _contracted(_manifest()).values():
        for constraint in node.get("constraints", []):
            declared[(node["name"], constraint["type"])] += 1
        for column in node["columns"].values():
            for constraint in column.get("constraints", []):
                declared[(node["name"], constraint["type"])] += 1
                if constraint["type"] == "not_null":
                    not_null.add((node["name"], column["name"]))
    for kind in ("not_null", "check", "primary_key"):
        assert declared[("fct_us_training_country_year", kind)], kind
    with duckdb.connect(str(built_warehouse / "partnership.duckdb"), read_only=True) as con:
        rows = con.execute(
            """select table_name, lower(replace(constraint_type, ' ', '_')), constraint_column_names
            from duckdb_constraints() where schema_name = 'marts'"""
        ).fetchall()
    assert Counter((table, kind) for table, kind, _ in rows) == declared
    assert {(table, columns[0]) for table, kind, columns in rows if kind == "not_null"} == not_null


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("corruption", "mart", "rule", "raw"),
    [
        pytest.param(
            "update raw.us_bases set iso3 = null where source_row in (3, 7)",
            "dim_us_sites",
            "Constraint Error: NOT NULL constraint failed: dim_us_sites.iso3",
            "us_bases (us_bases: basedata_lac.csv)",
            id="null_key",
        ),
        pytest.param(
            """update raw.us_foreign_aid_summary set transaction_type = 'Rescissions' where rowid in
            (select rowid from raw.us_foreign_aid_summary where entity_kind = 'country' and in_universe limit 2)""",
            "int_us_aid_unioned fct_us_aid_country_year",
            'Constraint Error: CHECK constraint failed on table "fct_us_aid_country_year" with expression '
            "CHECK((transaction_type IN ('Obligations'",
            "us_foreign_aid_summary (us_foreign_aid: ",  # the fourth raw table named: the file may be cut
            id="value_not_accepted",
        ),
        pytest.param(
            "insert into raw.us_bases select * from raw.us_bases where source_row = 3",
            "dim_us_sites",
            "Constraint Error: PRIMARY KEY or UNIQUE constraint violation: duplicate key",
            "us_bases (us_bases: basedata_lac.csv)",
            id="duplicate_key",
        ),
    ],
)
def test_a_bad_value_in_a_mart_fails_its_constraint_and_the_build_says_where(
    built_warehouse, build_area, corruption, mart, rule, raw
):
    returncode, lines = dbt_build_on_copy(built_warehouse, build_area, corruption, mart)
    assert returncode == 1
    assert len(lines) == 1, lines
    line = lines[0]
    mart = mart.split()[-1]
    assert line.startswith(f"dbt model {mart} failed: Constraint Error: "), line
    assert rule in line and "; fed by raw " in line and raw in line, line
    assert "\n" not in line and len(line.split("… (")[0]) <= 600  # cut at 600, then a note of what was cut


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("corruption", "model", "results", "rules"),
    [
        pytest.param(
            "update raw.us_foreign_aid_summary set fiscal_period = 'H1' where source_row in (2, 4)",
            "stg_us_foreign_aid_summary",
            "Got 2 results",
            "fiscal_period = 'H1' not accepted",
            id="value_not_accepted",
        ),
        pytest.param(
            """update raw.us_bases set iso3 = null, is_base = false, is_lilypad = false, is_funded_site = false
            where source_row = 3""",
            "stg_us_bases",
            "Got 1 result",
            "iso3 is null; site_kind is null",
            id="two_rules_one_row",
        ),
        pytest.param(
            # Paraguay's last two reports twice; the March copies are made out-of-universe entities, whose repeats
            # and missing iso3 the rules' `where` lets through (else 4 results)
            """insert into raw.us_troops_dmdc select * from raw.us_troops_dmdc where source_row in (2679, 2680);
            update raw.us_troops_dmdc set in_universe = false, entity_kind = 'unresolved', iso3 = null
            where source_row = 2679""",
            "stg_us_troops_dmdc",
            "Got 2 results",
            "duplicate key (iso3, source_country_name, source_location, report_label) = "
            "('PRY', 'Paraguay', 'PARAGUAY', 'September 2025')",
            id="duplicate_key_where",
        ),
        pytest.param(
            """update raw.mme_exercise_participants set mmeid = 'mme0'
            where mmeid = 'mme112' and participant_slot = 'StateA'""",
            "stg_mme_exercise_participants",
            "Got 1 result",
            "mmeid = 'mme0' not in stg_mme_exercises.mmeid",
            id="relationship",
        ),
        pytest.param(
            "update raw.us_bases set iso3 = 'XXX' where source_row in (3, 7)",
            "stg_us_bases dim_us_sites",
            "Got 2 results",
            "iso3 = 'XXX' not in dim_country.iso3",
            id="relationship_of_a_mart",
        ),
    ],
)
def test_column_rules_fail_once_per_bad_row_naming_every_rule_it_breaks(
    built_warehouse, build_area, corruption, model, results, rules
):
    returncode, lines = dbt_build_on_copy(built_warehouse, build_area, corruption, model)
    assert returncode == 1
    assert len(lines) == 1, lines
    line = lines[0]
    model = model.split()[-1]
    assert line.startswith(f"dbt test column_rules_{model} on {model} failed: {results},"), line
    assert f"; e.g. {rules}, " in line, line


@pytest.mark.e2e
def test_a_mart_whose_sum_drifts_from_its_source_fails_saying_both_sums(built_warehouse, build_area):
    """The reconciling sum is one more rule of the mart's rules test: its failing row says both totals."""
    corruption = """update marts.fct_us_aid_program_country_year set amount_current_usd = amount_current_usd + 1000
        where rowid = (select min(rowid) from marts.fct_us_aid_program_country_year)"""
    with duckdb.connect(str(built_warehouse / "partnership.duckdb"), read_only=True) as con:
        model_total, compare_total = con.execute(
            """select (select sum(amount_current_usd) from marts.fct_us_aid_program_country_year),
            (select sum(amount_current_usd) from staging.stg_us_foreign_aid_greenbook
            where entity_kind = 'country' and in_universe)"""
        ).fetchone()
    assert model_total == compare_total  # as the build checked; the mart's BIGINT, the staging view's DOUBLE
    returncode, lines = dbt_build_on_copy(
        built_warehouse, build_area, corruption, "fct_us_aid_program_country_year", command="test"
    )
    assert returncode == 1
    assert len(lines) == 1, lines
    model = "fct_us_aid_program_country_year"
    assert lines[0].startswith(f"dbt test column_rules_{model} on {model} failed: Got 1 result,"), lines[0]
    rule = f"sums differ: {model_total + 1000} <> {compare_total}, sum(amount_current_usd) vs sum(amount_current_usd)"
    assert f"; e.g. {rule} of stg_us_foreign_aid_greenbook, " in lines[0], lines[0]
