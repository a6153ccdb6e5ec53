"""Every command and snippet README.md and docs/*.md tell a user to run is run here, against a built warehouse.

Fenced blocks are read straight from the Markdown. A block is run according to its language: `bash`/`sh` in bash
(`set -e`: every line must succeed), `python` with the project's interpreter, `sql` statement by statement through
`hpw query`. `text` marks a block that is not a command (output samples, diagrams). An HTML comment on the line
before a block can say what must not run, with the reason:

    <!-- readme-test: skip: REASON -->            the whole block is not run
    <!-- readme-test: omit `PREFIX`: REASON -->   lines starting with PREFIX are not run, the rest is

Any other block (no language, another language, an unknown marker) fails test_every_block_is_run_or_marked, so a new
example is run unless someone writes down why not.

The blocks run in a folder that looks like the project (a link to every top-level entry) except that `warehouse/` is
a link to a private copy of the session build (HPW_WAREHOUSE_DIR points at it), `dagster_home/` an empty instance, and
HOME is a scratch folder holding the file the README's `~/Downloads/...` examples name (a copy of the bundled snapshot).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, SNAPSHOTS, reused_folder

pytestmark = [pytest.mark.e2e, pytest.mark.builds]  # the examples run builds and refreshes

DOCUMENTS = ["README.md", *sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "docs").glob("*.md"))]
RUN = {"bash": "shell", "sh": "shell", "shell": "shell", "python": "python", "sql": "sql"}
# Not commands: output samples and diagrams (`text`), configuration excerpts (`yaml`, checked to parse below).
NOT_CODE = {"text", "yaml"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+|~~~+)(?P<lang>[^`\s]*)[^\n]*$")
MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<body>.*?)\s*-->\s*$")
SKIP = re.compile(r"^skip:\s*(?P<reason>\S.*)$")
OMIT = re.compile(r"^omit\s+`(?P<prefix>[^`]+)`:\s*(?P<reason>\S.*)$")
# Files the examples name that a user has and the test folder does not: (path under HOME, bundled file).
USER_FILES = {
    "Downloads/us_foreign_aid_country.csv": "us_foreign_aid_country/us_foreign_aid_country.csv",
    "Downloads/dots_us.csv": "imf_dots_us_trade/dots_us.csv",
}


@dataclass
class Block:
    document: str
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    marker: str | None  # the marker comment's body, if any

    @property
    def id(self) -> str:
        return f"{self.document}:{self.line}"

    def skip_reason(self) -> str | None:
        match = SKIP.match(self.marker or "")
        return match.group("reason") if match else None

    def omitted(self) -> list[str]:
        return [m.group("prefix") for m in [OMIT.match(self.marker or "")] if m]

    def runnable_code(self) -> str:
        prefixes = self.omitted()
        return "\n".join(line for line in self.code.splitlines() if not any(line.startswith(p) for p in prefixes))


def blocks(document: str) -> list[Block]:
    """Every fenced block of a Markdown file, with the marker comment on the line before it."""
    lines = (PROJECT_ROOT / document).read_text(encoding="utf-8").splitlines()
    found, number = [], 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        if not opening:
            number += 1
            continue
        fence = opening.group("fence")
        end = next(
            (
                i
                for i in range(number + 1, len(lines))
                if lines[i].strip().startswith(fence) and not lines[i].strip().strip(fence[0])
            ),
            len(lines),
        )
        previous = lines[number - 1].strip() if number else ""
        marker = MARKER.match(previous)
        found.append(
            Block(
                document,
                number + 1,
                opening.group("lang").lower(),
                "\n".join(lines[number + 1 : end]),
                marker.group("body") if marker else None,
            )
        )
        number = end + 1
    return found


ALL_BLOCKS = [block for document in DOCUMENTS for block in blocks(document)]
TO_RUN = [b for b in ALL_BLOCKS if b.lang in RUN and not b.skip_reason()]


def problems(block: Block) -> list[str]:
    """Why a block is neither run nor properly marked (empty: it is fine)."""
    found = []
    if block.marker is not None and not (SKIP.match(block.marker) or OMIT.match(block.marker)):
        found.append(f"{block.id}: unknown readme-test marker {block.marker!r}")
    if block.lang not in RUN and block.lang not in NOT_CODE:
        found.append(
            f"{block.id}: fenced block with language {block.lang or '(none)'!r} is neither run "
            f"({', '.join(sorted(RUN))}) nor marked as `text` or `yaml`"
        )
    if block.lang in NOT_CODE and block.marker:
        found.append(f"{block.id}: a `text` block is never run; its marker means nothing")
    for prefix in block.omitted():
        if not any(line.startswith(prefix) for line in block.code.splitlines()):
            found.append(f"{block.id}: omit `{prefix}` matches no line of the block")
    if block.lang in RUN and not block.skip_reason() and not block.runnable_code().strip():
        found.append(f"{block.id}: every line is omitted; mark the block skip instead")
    return found


def test_every_block_is_run_or_marked():
    assert len(ALL_BLOCKS) > 10 and len(TO_RUN) > 5
    assert [p for block in ALL_BLOCKS for p in problems(block)] == []
    skipped = [b.id for b in ALL_BLOCKS if b.skip_reason()]
    print(
        f"{len(ALL_BLOCKS)} fenced blocks: {len(TO_RUN)} run, {len(skipped)} skipped ({', '.join(skipped)}), "
        f"{sum(b.lang in NOT_CODE for b in ALL_BLOCKS)} text"
    )


def test_the_checker_catches_an_unmarked_or_odd_block(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text(
        "```\nnot marked\n```\n\n```zsh\necho hi\n```\n\n<!-- readme-test: skip -->\n```bash\nmake dev\n```\n\n"
        "<!-- readme-test: omit `make dev`: a server -->\n```bash\nmake dev\n```\n\n"
        "<!-- readme-test: skip: a server -->\n```bash\nmake dev\n```\n",
        encoding="utf-8",
    )
    monkeypatch.setattr("tests.test_readme_examples.PROJECT_ROOT", tmp_path)
    found = [p for block in blocks("page.md") for p in problems(block)]
    assert len(found) == 4, found
    assert "page.md:1" in found[0] and "'(none)'" in found[0]
    assert "page.md:5" in found[1] and "'zsh'" in found[1]
    assert "unknown readme-test marker 'skip'" in found[2]
    assert "every line is omitted" in found[3]


@pytest.fixture(scope="module")
def project_view(built_warehouse, tmp_path_factory) -> dict:
    """A folder that looks like the project, with a private copy of the session build as its warehouse."""
    view = tmp_path_factory.mktemp("project")
    for entry in PROJECT_ROOT.iterdir():
        if entry.name not in {"warehouse", ".git", "dagster_home"}:
            (view / entry.name).symlink_to(entry)
    # the private copy lives in the folder this worker reuses for builds, `warehouse/` links to it: the build path
    # dbt keys its parse state by is then one an earlier build of this worker already parsed for
    warehouse = reused_folder(tmp_path_factory, "warehouse")
    shutil.copytree(built_warehouse, warehouse, symlinks=True)
    (view / "warehouse").symlink_to(warehouse, target_is_directory=True)
    # `make run` points DAGSTER_HOME at the folder's dagster_home/: the view's own, never the repository's run storage
    (view / "dagster_home").mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster_home" / "dagster.yaml", view / "dagster_home" / "dagster.yaml")
    home = tmp_path_factory.mktemp("home")
    for relative, bundled in USER_FILES.items():
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SNAPSHOTS / bundled, home / relative)
    env = {
        **os.environ,
        "HOME": str(home),
        "HPW_WAREHOUSE_DIR": str(warehouse),
        "COLUMNS": "120",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    return {"cwd": view, "env": env}


def _run(args: list[str], view: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=view["cwd"], env=view["env"], input=stdin, capture_output=True, text=True, timeout=900
    )


def _sql_statements(code: str) -> list[str]:
    return [statement.query.strip() for statement in duckdb.extract_statements(code)]


@pytest.mark.parametrize("block", TO_RUN, ids=lambda b: b.id)
def test_example_runs(block, project_view):
    code = block.runnable_code()
    runner = RUN[block.lang]
    if runner == "shell":
        done = _run(["bash", "-e", "-o", "pipefail", "-c", code], project_view)
        results = [done]
    elif runner == "python":
        done = _run([str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-"], project_view, stdin=code)
        results = [done]
    else:
        results = [
            _run([str(PROJECT_ROOT / ".venv" / "bin" / "hpw"), "query", statement], project_view)
            for statement in _sql_statements(code)
        ]
        assert len(results) >= 1
    for done in results:
        assert done.returncode == 0, (
            f"{block.id} failed ({done.returncode}):\n{code}\n--- stderr:\n{done.stderr[-3000:]}"
        )
        assert not re.search(r"^error:", done.stderr, re.M), done.stderr[-3000:]
        assert done.stdout.strip(), f"{block.id} printed nothing"
    if runner == "sql":  # every example query returns rows
        assert all("(0 rows)" not in done.stdout for done in results), [d.stdout for d in results]


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.lang == "yaml"], ids=lambda b: b.id)
def test_yaml_examples_parse(block):
    import yaml

    assert yaml.safe_load(block.code.replace("<", "").replace(">", "")) is not None, block.id
