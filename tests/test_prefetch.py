"""The parse worker of a build (pipelines/prefetch.py): what it hands a raw asset is what the asset's own parse gives,
a failure on its side ends in the asset's own parse and message, and it never outlives the build process.

The worker is the real `python -m pipelines.prefetch` process on the real bundled files (or real files broken the
way downloads break); the tests wait for its status line before asking, so the worker's path is the one taken.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from data_contracts._base import contract_run
from pipelines import countries, prefetch, warehouse
from pipelines.diagnosis import explain
from pipelines.sources import RAW_TABLES_BY_NAME
from pipelines.sources.base import entity_counts
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow
FMTR_XML = RAW_TABLES_BY_NAME["fmtr_training_xml"]


def _own_parse(table, path: Path, baseline: dict) -> tuple:
    """What the raw asset does without a worker: parse inside a contract run, then take the crosswalk outcomes."""
    countries.take_outcomes(table.source)
    with contract_run(baseline) as run:
        frame = table.parse(path)
    return frame, run.findings, countries.take_outcomes(table.source)


def _taken(table, path: Path, baseline: dict) -> tuple:
    """What the raw asset does with the worker running: its result when it matches, else its own parse."""
    source_file = table.locate(str(path))
    countries.take_outcomes(table.source)
    with contract_run(baseline) as run:
        frame = prefetch.take(table, source_file, baseline)
        if frame is None:
            frame = table.parse(path)
        elif isinstance(frame, warehouse.ParquetFrame):  # what DuckDB lands (see the test of that below)
            frame = pl.read_parquet(frame.path)
    return frame, run.findings, countries.take_outcomes(table.source)


def _wait(name: str) -> str:
    assert prefetch._ACTIVE is not None
    return prefetch._ACTIVE._wait(name)


@pytest.fixture(scope="module")
def prefetched(tmp_path_factory):
    """Every PREFETCHED table parsed by the worker from its bundled file, taken the way a raw asset takes it."""
    area = tmp_path_factory.mktemp("build_area")
    taken = {}
    with prefetch.scope():
        prefetch.start(area, area / "no_published.duckdb", list(prefetch.PREFETCHED))
        for name in prefetch.PREFETCHED:
            assert _wait(name) == "done", (area / "prefetch" / "worker.log").read_text()
            table = RAW_TABLES_BY_NAME[name]
            taken[name] = _taken(table, table.bundled_path, {})
        assert prefetch._ACTIVE is not None
        assert prefetch._ACTIVE.taken == list(prefetch.PREFETCHED)  # every one came from the worker
        assert prefetch._ACTIVE.parsed_here == []
    assert not (area / "prefetch").exists()
    return taken


@pytest.mark.parametrize("name", prefetch.PREFETCHED)
def test_worker_frame_findings_and_outcomes_equal_the_assets_own_parse(prefetched, name):
    table = RAW_TABLES_BY_NAME[name]
    frame, findings, outcomes = prefetched[name]
    own_frame, own_findings, own_outcomes = _own_parse(table, table.bundled_path, {})
    assert frame.schema == own_frame.schema
    assert frame.equals(own_frame, null_equal=True)
    assert findings.quarantined.equals(own_findings.quarantined, null_equal=True)
    assert findings.flags.equals(own_findings.flags, null_equal=True)
    assert findings.drift_warnings == own_findings.drift_warnings
    assert sorted(map(repr, outcomes)) == sorted(map(repr, own_outcomes))  # in the crosswalk's (hash) order


def test_the_bundled_tables_carry_outcomes_to_compare(prefetched):
    """The equality above is not vacuous: every country name of the FMTR XML (all regions in FY2005) resolved by
    the crosswalk in the worker is an outcome the asset lands. (No PREFETCHED table's contract has plausibility or
    tolerable rules, so their findings are empty on any file; they travel in the same result.)"""
    frame, _, outcomes = prefetched["fmtr_training_xml"]
    assert frame.height > 80_000
    assert len(outcomes) > 100
    assert {o.entity_kind for o in outcomes} >= {"country"}
    assert any(not frame.filter(frame["country_name"] == o.name)["in_universe"].any() for o in outcomes)


def test_every_prefetched_name_is_a_raw_table_and_runs_last_in_reverse_order():
    assert set(prefetch.PREFETCHED) <= set(RAW_TABLES_BY_NAME)
    ranks = [prefetch.priority(name) for name in prefetch.PREFETCHED]
    assert all(rank is not None and rank < 0 for rank in ranks)
    assert ranks == sorted(ranks)  # the worker's first table is the build process's last
    assert prefetch.priority("imf_dots_us_trade") is None


def test_parquet_results_land_as_the_assets_own_parse_lands(tmp_path):
    """Every PREFETCHED bundled table the worker hands over as Parquet, landed by `land_raw` through DuckDB's
    reader, has the columns, types and rows (provenance included, but the load time) of the asset's own parse
    landed through Arrow."""
    area, ahead, own = tmp_path / "area", tmp_path / "ahead.duckdb", tmp_path / "own.duckdb"
    tables = [RAW_TABLES_BY_NAME[name] for name in prefetch.PREFETCHED]
    with prefetch.scope():
        prefetch.start(area, area / "none.duckdb", list(prefetch.PREFETCHED))
        for table in tables:
            assert _wait(table.name) == "done"
            source_file = table.locate()
            with contract_run({}) as run:
                taken = prefetch.take(table, source_file, {})
            assert isinstance(taken, warehouse.ParquetFrame), table.name
            with warehouse.connect(ahead) as con:
                warehouse.land_raw(con, table, taken, source_file, dict(taken.counts), 0.0, run.findings.quarantined)
            countries.take_outcomes(table.source)
            with contract_run({}) as run:
                frame = table.parse(source_file.path)
            countries.take_outcomes(table.source)
            assert taken.counts == entity_counts(frame)
            with warehouse.connect(own) as con:
                warehouse.land_raw(con, table, frame, source_file, {}, 0.0, run.findings.quarantined)
    with duckdb.connect(str(ahead)) as con:
        con.execute(f"attach '{own}' as own (read_only)")
        for table in tables:
            columns = "select column_name, data_type from duckdb_columns() where database_name = ? and table_name = ?"
            landed = con.execute(columns + " order by column_index", ["ahead", table.name]).fetchall()
            assert landed == con.execute(columns + " order by column_index", ["own", table.name]).fetchall()
            assert landed[-4:] == [
                ("_source_file", "VARCHAR"),
                ("_source_sha256", "VARCHAR"),
                ("_source_vintage", "VARCHAR"),
                ("_loaded_at", "TIMESTAMP WITH TIME ZONE"),
            ]
            rows = f"select * exclude (_loaded_at) from {{}}.raw.{table.name}"
            for one, other in (("ahead", "own"), ("own", "ahead")):
                query = f"select count(*) from ({rows.format(one)} except all {rows.format(other)})"
                assert con.execute(query).fetchone() == (0,), (table.name, one)
            assert con.execute(f"select count(*) from ahead.raw.{table.name}").fetchone()[0] > 1000


def _xml_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "fmtr_xml"
    shutil.copytree(FMTR_XML.bundled_path.parent, folder)
    return folder / FMTR_XML.default_file


def test_truncated_xml_fails_in_the_worker_and_the_asset_fails_with_its_own_message(tmp_path):
    anchor = _xml_folder(tmp_path)
    broken = anchor.parent / "2003_2004_Western_Hemisphere_fmtrpt_dedup.xml"
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 2])  # a download cut off half way
    with pytest.raises(Exception) as own:
        _own_parse(FMTR_XML, anchor, {})
    countries.take_outcomes()
    area = tmp_path / "area"
    with prefetch.scope():
        prefetch.start(area, area / "none.duckdb", ["fmtr_training_xml"], {"fmtr_training_xml": str(anchor)})
        assert _wait("fmtr_training_xml") == "failed"
        assert "well-formed XML" in (area / "prefetch" / "worker.log").read_text()
        with pytest.raises(Exception) as through_worker:
            _taken(FMTR_XML, anchor, {})
        assert prefetch._ACTIVE is not None and prefetch._ACTIVE.parsed_here == ["fmtr_training_xml"]
        worker = prefetch._ACTIVE.proc.pid
    assert not Path(f"/proc/{worker}").exists()  # killed and reaped when the block ended
    assert type(through_worker.value) is type(own.value)
    assert str(through_worker.value) == str(own.value)
    assert "2003_2004_Western_Hemisphere_fmtrpt_dedup.xml" in str(own.value)
    explained = [explain(FMTR_XML, anchor, e.value, file_fault=True).explained for e in (own, through_worker)]
    assert explained[0] == explained[1]


def test_a_result_for_other_inputs_is_never_used(tmp_path):
    """Same table, but a file beside it changed after the worker parsed, or another schema-drift baseline: the
    asset parses itself (and sees the change)."""
    anchor = _xml_folder(tmp_path)
    area = tmp_path / "area"
    with prefetch.scope():
        prefetch.start(area, area / "none.duckdb", ["fmtr_training_xml"], {"fmtr_training_xml": str(anchor)})
        assert _wait("fmtr_training_xml") == "done"
        other = anchor.parent / "2001_2002_Western_Hemisphere_fmtrpt_dedup.xml"
        other.unlink()  # a report removed from the folder after the worker read it
        frame, _, _ = _taken(FMTR_XML, anchor, {})
        assert prefetch._ACTIVE is not None and prefetch._ACTIVE.parsed_here == ["fmtr_training_xml"]
    assert "2001_2002_Western_Hemisphere_fmtrpt_dedup.xml" not in set(frame["file"].to_list())
    assert frame.height > 70_000
    countries.take_outcomes()

    published = tmp_path / "published.duckdb"
    with duckdb.connect(str(published)) as con:  # a previous build that landed FMTR XML with one column
        con.execute("create schema meta; create schema raw")
        con.execute("create table meta.loads as select 'fmtr_training_xml' as raw_table, 'fmtr_training' as source")
        con.execute("create table raw.fmtr_training_xml as select 1 as course_title")
    area = tmp_path / "area2"
    with prefetch.scope():
        prefetch.start(area, published, ["fmtr_training_xml"], {"fmtr_training_xml": str(anchor)})
        assert _wait("fmtr_training_xml") == "done"
        _taken(FMTR_XML, anchor, {})  # the asset's baseline: none
        assert prefetch._ACTIVE is not None and prefetch._ACTIVE.parsed_here == ["fmtr_training_xml"]
    countries.take_outcomes()


@pytest.mark.e2e
@pytest.mark.builds  # a refresh
def test_a_build_failing_on_a_prefetched_table_says_what_its_own_parse_says_and_leaves_no_worker(
    built_warehouse, tmp_path, reused_root
):
    """A refresh given a truncated FMTR report: the build fails with the explanation of the asset's own parse of
    that folder, keeps a copy, publishes nothing, and no worker process of it is left."""
    from tests.faults.conftest import publish_copy

    anchor = _xml_folder(tmp_path)
    broken = anchor.parent / "2003_2004_Western_Hemisphere_fmtrpt_dedup.xml"
    broken.write_bytes(broken.read_bytes()[:50_000])
    with pytest.raises(Exception) as own:
        _own_parse(FMTR_XML, anchor, {})
    countries.take_outcomes()
    published = publish_copy(built_warehouse, reused_root, whole=True)
    result = published.build(fmtr_training_xml=str(anchor))
    assert not result.success and published.unchanged()
    assert result.failures["fmtr_training_xml"] == explain(FMTR_XML, anchor, own.value, file_fault=True).explained
    assert len(result.rejected_files) == 1 and result.rejected_files[0].is_file()
    log = result.log_file.read_text(encoding="utf-8").splitlines()
    summary = [line for line in log if line.startswith("prefetch:")]
    assert len(summary) == 1 and "fmtr_training_xml" in summary[0].split("; in the build process ")[1]
    assert not [p for p in _children(os.getpid()) if "pipelines.prefetch" in _cmdline(p)]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_the_worker_dies_with_a_killed_build(tmp_path):
    """`hpw build` killed with SIGKILL (its process only, not its group) while its worker parses: the worker ends."""
    root = tmp_path / "warehouse"
    env = {**os.environ, "HPW_WAREHOUSE_DIR": str(root), "PYTHONUNBUFFERED": "1", "DO_NOT_TRACK": "1"}
    build = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "build", "--force"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert build.stdout is not None
        for line in build.stdout:  # printed once the worker is started
            if line.startswith("building the warehouse"):
                break
        # a child reads an empty /proc cmdline for a moment after its exec is reported (arguments not yet mapped)
        deadline = time.monotonic() + 10
        while not (workers := [p for p in _children(build.pid) if "pipelines.prefetch" in _cmdline(p)]):
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert len(workers) == 1, [_cmdline(p) for p in _children(build.pid)]
        watched = os.pidfd_open(workers[0])
        build.send_signal(signal.SIGKILL)
        build.wait()
        ended, _, _ = select.select([watched], [], [], 60)  # readable once the worker has exited
        os.close(watched)
        assert ended, f"worker {workers[0]} still running after its build was killed"
    finally:
        if build.poll() is None:
            build.kill()
        build.wait()
        try:  # what else the killed build had started (dbt's parse)
            os.killpg(build.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
