"""A refresh publishes exports for every mart but writes only the rebuilt marts' files: the published CSV and Parquet
of the marts it carried over are kept (the same files, not rewritten) when they still hash to what the published
datapackage.json records, and datapackage.json still describes all of them. An export edited since it was published
is written again (with its twin)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from pipelines.build import run_build
from tests.revisions import TROOPS_REFRESH_GROUP, changed_troops_file, export_files
from tests.test_refresh import _dbt_descendants_of_source
from tests.warehouse_copy import copy_warehouse, mart_names

pytestmark = pytest.mark.e2e


_files = export_files


def _check_package_describes_the_files(root: Path) -> None:
    """datapackage.json: one resource per mart of the published file, each file's bytes and sha256 as on disk, and
    the published build's stamp; every Parquet file holds exactly its mart's rows."""
    exports = root / "exports"
    package = json.loads((exports / "datapackage.json").read_text(encoding="utf-8"))
    marts = mart_names(root / "partnership.duckdb")
    assert sorted(r["name"] for r in package["resources"]) == marts
    for resource in package["resources"]:
        for entry in (resource, resource["parquet"]):
            path = exports / entry["path"]
            assert entry["bytes"] == path.stat().st_size, path.name
            assert entry["hash"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(), path.name
    with duckdb.connect(str(root / "partnership.duckdb"), read_only=True) as con:
        published_at = con.execute("select published_at::varchar from meta.build").fetchone()[0]
        assert package["created"] == published_at.replace(" ", "T", 1)
        for mart in marts:
            parquet = str(exports / f"{mart}.parquet")
            differ = con.execute(
                f"select (select count(*) from (from marts.\"{mart}\" except all from read_parquet('{parquet}'))) + "
                f"(select count(*) from (from read_parquet('{parquet}') except all from marts.\"{mart}\"))"
            ).fetchone()[0]
            assert differ == 0, mart


@pytest.mark.builds  # the shared refresh and the refresh back (tests/revisions.py)
@pytest.mark.xdist_group(TROOPS_REFRESH_GROUP)
def test_a_refresh_rewrites_only_the_rebuilt_marts_exports(troops_refresh, troops_refresh_back):
    root, result, lines = troops_refresh.root, troops_refresh.result, troops_refresh.lines
    before = troops_refresh.exports_before
    marts = mart_names(root / "partnership.duckdb")
    rebuilt = {k.path[-1] for k in _dbt_descendants_of_source("us_troops_dmdc") if k.path[0] == "marts"}
    assert "fct_us_troops_country_year" in rebuilt and 0 < len(rebuilt) < len(marts)

    assert result.success, result.error
    assert "  refresh: 1 raw table(s) changed (us_troops_dmdc)" in lines
    after = _files(root / "exports")
    assert sorted(after) == sorted(before) == sorted(f"{m}.{ext}" for m in marts for ext in ("csv", "parquet"))
    for name, (inode, digest) in after.items():
        if name.rsplit(".", 1)[0] in rebuilt:
            assert inode != before[name][0], f"{name} of a rebuilt mart was not written again"
        else:
            assert (inode, digest) == before[name], f"{name} of a carried-over mart was not kept as it was"
    # the change reached the rebuilt mart's files (so the comparison above compares something)
    assert after["fct_us_troops_country_year.csv"][1] != before["fct_us_troops_country_year.csv"][1]
    _check_package_describes_the_files(root)

    # A carried-over mart's CSV edited after publishing no longer matches datapackage.json: written again. The
    # bundled file again is a refresh back to the original (in a copy of the refreshed folder).
    edited, tampered, back = troops_refresh_back.edited, troops_refresh_back.tampered, troops_refresh_back.result
    assert edited in marts and edited not in rebuilt
    assert tampered[f"{edited}.csv"][1] != after[f"{edited}.csv"][1]  # the edit is in the copy built back
    assert back.success and not back.up_to_date, back.error
    again = _files(troops_refresh_back.root / "exports")
    for name in (f"{edited}.csv", f"{edited}.parquet"):  # the mart is exported again, both of its files
        assert again[name][0] != tampered[name][0], name
        assert again[name][1] == before[name][1], name  # what a fresh export of the mart writes
    kept = [n for n in again if n.rsplit(".", 1)[0] not in rebuilt | {edited}]
    assert kept and all(again[n] == tampered[n] for n in kept)
    _check_package_describes_the_files(troops_refresh_back.root)


@pytest.mark.builds  # a refresh
def test_exports_of_another_build_are_not_kept(built_warehouse, tmp_path, reused_root):
    """datapackage.json stamped by another build than the published file: every export is written again. The
    build areas earlier builds left are gone when the build returns."""
    changed = changed_troops_file(tmp_path / "input")
    root = copy_warehouse(built_warehouse, reused_root, with_fingerprint=True)
    package_path = root / "exports" / "datapackage.json"
    package = json.loads(package_path.read_text(encoding="utf-8"))
    package["created"] = "2000-01-01T00:00:00+00"
    package_path.write_text(json.dumps(package, indent=2), encoding="utf-8")
    before = _files(root / "exports")
    # what earlier builds left: a build area, and the aside of one a killed process did not finish deleting
    (root / ".build" / "dbt_target").mkdir(parents=True)
    (root / ".build" / "dbt_target" / "run_results.json").write_text("{}")
    (root / ".build.old-killed").mkdir()
    (root / ".build.old-killed" / "dbt.log").write_text("old")
    result = run_build(
        file_overrides={"us_troops_dmdc": str(changed)}, warehouse_dir=root, log_level="WARNING", echo=lambda *_: None
    )
    assert result.success, result.error
    after = _files(root / "exports")
    assert sorted(after) == sorted(before)
    assert all(after[name][0] != before[name][0] for name in after)
    _check_package_describes_the_files(root)
    assert not list(root.glob(".build.old-*"))  # deleted by the time the build returns
    assert (root / ".build" / "dbt_target" / "run_results.json").read_text() != "{}"  # this build's own
