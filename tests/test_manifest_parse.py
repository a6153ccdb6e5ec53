"""`hpw build` parses the dbt project beside its imports (pipelines/build.py, manifest_parse): the imports it makes
meanwhile must not read the manifest being written, the parse must be finished when the block ends, and a failed
parse must still fail the build."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from pipelines import settings
from pipelines.build import IMPORTS_BESIDE_PARSE, BuildError, manifest_parse
from tests.conftest import PROJECT_ROOT

# The modules that read models/target/manifest.json when imported (@dbt_assets): never before the parse ends.
READ_THE_MANIFEST = ("pipelines.dbt", "pipelines.publish", "pipelines.definitions")


@pytest.mark.slow  # a second interpreter importing Dagster and the sources
def test_what_is_imported_beside_the_parse_neither_imports_nor_opens_the_manifest():
    probe = textwrap.dedent(
        f"""
        import importlib, sys
        opened = []
        sys.addaudithook(lambda event, args: event == "open" and str(args[0]).endswith("manifest.json")
                         and opened.append(str(args[0])))
        for module in {IMPORTS_BESIDE_PARSE!r}:
            importlib.import_module(module)
        print(sorted(m for m in {READ_THE_MANIFEST!r} if m in sys.modules), opened)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True
    )
    assert completed.stdout.strip() == "[] []", completed.stdout + completed.stderr


def test_the_probe_above_sees_a_module_that_reads_the_manifest():
    # control for the test above: importing the definitions opens the manifest and lands in sys.modules
    probe = textwrap.dedent(
        """
        import sys
        opened = []
        sys.addaudithook(lambda event, args: event == "open" and str(args[0]).endswith("manifest.json")
                         and opened.append(str(args[0])))
        import pipelines.definitions
        print("pipelines.dbt" in sys.modules, len(opened) > 0)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True
    )
    assert completed.stdout.strip() == "True True", completed.stdout + completed.stderr


@pytest.fixture
def models_copy(tmp_path, monkeypatch):
    """The dbt project copied without its parse artefacts, as `hpw build` would see it on a fresh clone."""
    copy = tmp_path / "models"
    shutil.copytree(settings.DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", copy)
    return copy


@pytest.mark.slow  # two dbt parses
def test_the_parse_runs_during_the_block_and_has_written_the_manifest_when_it_ends(models_copy, tmp_path):
    manifest = models_copy / "target" / "manifest.json"
    build_database = tmp_path / "warehouse" / ".build" / "partnership.duckdb"
    with manifest_parse(build_database) as parsing:
        assert parsing
    assert manifest.is_file()  # the block's end waited for the parse
    with manifest_parse(build_database) as parsing:  # up to date now: nothing to run
        assert not parsing

    # a model file newer than the manifest makes it stale; a broken one fails when the block ends (the second
    # parse, with the same profile, is a partial one)
    (models_copy / "marts" / "zz_broken.sql").write_text("select {{ ref('no_such_model') }} as x\n")
    with pytest.raises(BuildError, match="dbt could not parse") as failure:
        with manifest_parse(build_database) as parsing:
            assert parsing
    assert "no_such_model" in failure.value.hint
