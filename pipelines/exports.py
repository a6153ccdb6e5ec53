"""Exports for BI tools: Parquet per mart and dimension, a Frictionless `datapackage.json`, the data dictionary.

The data package describes one CSV per public table (beside its Parquet twin, same rows and columns): CSV is the
format every Frictionless validator and data catalogue reads without extra libraries (frictionless reads Parquet
only through pandas, whose float NaN breaks nullable integer columns). List columns are written as JSON arrays,
the Table Schema `array` form; NULL is an empty cell (`missingValues: [""]`).

Every description comes from the dbt yml (`models/marts/*.yml`) through the dbt manifest, so the Parquet
metadata, `datapackage.json`, `docs/data_dictionary.md` and the dbt docs site all say the same thing.

- `export(published_db, exports_dir)`: Parquet and CSV files (temporary name, then renamed), stale files of marts
  that no longer exist removed, then `datapackage.json` (also written to a temporary name and renamed). A refresh
  passes `reuse`: the marts it carried over unchanged keep the published files (linked, not rewritten) when the
  published datapackage.json describes the published database and their sha256 still match it.
- `data_dictionary()`: the Markdown of `docs/data_dictionary.md`, generated from the manifest alone (no build
  needed), so a test can compare the committed file with a fresh generation.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines import dbt_parse_state, settings, warehouse
from pipelines.errors import UserError
from pipelines.sources.base import file_sha256

DATAPACKAGE = "datapackage.json"
MANIFEST_PATH = settings.DBT_PROJECT_DIR / "target" / "manifest.json"
DICTIONARY_PATH = settings.PROJECT_ROOT / "docs" / "data_dictionary.md"
PUBLIC_LAYER = "marts"  # models whose file lives under models/marts/ are the public tables


class ExportError(UserError):
    """An export that could not be written (no published warehouse, no manifest, ...)."""


@dataclass
class ModelDoc:
    name: str
    description: str
    columns: dict[str, dict] = field(default_factory=dict)  # column -> {"description", "data_type"}
    unique_key: list[str] = field(default_factory=list)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def model_docs(manifest_path: Path | None = None) -> dict[str, ModelDoc]:
    """The public (marts) models of the dbt manifest with their descriptions, keyed by model name."""
    path = manifest_path or MANIFEST_PATH
    if not path.is_file():
        raise ExportError(f"no dbt manifest at {path}", "run `make manifest` (or `make run`) first")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    docs: dict[str, ModelDoc] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        if node["original_file_path"].replace("\\", "/").split("/")[0] != PUBLIC_LAYER:
            continue
        doc = ModelDoc(node["name"], _clean(node.get("description")))
        for column in node.get("columns", {}).values():
            doc.columns[column["name"]] = {
                "description": _clean(column.get("description")),
                "data_type": column.get("data_type"),
            }
            if any(c.get("type") == "primary_key" for c in column.get("constraints") or []):
                doc.unique_key = [column["name"]]
        for constraint in node.get("constraints") or []:
            if constraint.get("type") == "primary_key" and constraint.get("columns"):
                doc.unique_key = list(constraint["columns"])
        docs[doc.name] = doc
    # the grain of a table without a primary key, from the first unfiltered key of its rules test (or a unique test)
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        meta = node.get("test_metadata") or {}
        attached = node.get("attached_node") or ""
        model = attached.rsplit(".", 1)[-1]
        if model not in docs:
            continue
        kwargs = meta.get("kwargs") or {}
        if meta.get("name") == "column_rules" and not docs[model].unique_key:
            keys = (kwargs.get("arguments") or {}).get("unique") or kwargs.get("unique") or []
            unfiltered = [key for key in keys if isinstance(key, list)]  # a {columns, where} key holds for some rows
            if unfiltered:
                docs[model].unique_key = list(unfiltered[0])
        elif meta.get("name") == "unique" and not docs[model].unique_key and kwargs.get("column_name"):
            docs[model].unique_key = [kwargs["column_name"]]
    return dict(sorted(docs.items()))


def frictionless_type(duckdb_type: str) -> str:
    """Table Schema field type for a DuckDB column type."""
    t = duckdb_type.upper()
    if t.endswith("[]") or t.startswith(("LIST", "ARRAY")):
        return "array"
    if t.startswith(("STRUCT", "MAP", "JSON", "UNION")):
        return "object"
    if t in {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
    }:
        return "integer"
    if t in {"FLOAT", "DOUBLE", "REAL"} or t.startswith("DECIMAL"):
        return "number"
    if t == "BOOLEAN":
        return "boolean"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "datetime"
    if t.startswith("TIME"):
        return "time"
    if t in {"VARCHAR", "TEXT", "STRING", "UUID", "ENUM"} or t.startswith(("VARCHAR", "ENUM")):
        return "string"
    return "any"


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def _csv_select(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """SELECT of one table with every column in the form a Table Schema reader parses from CSV text."""
    parts, order = [], []
    for column, data_type in _columns(con, schema, table):
        quoted = '"' + column.replace('"', '""') + '"'
        order.append(f"source.{quoted}")  # the stored values, not their text: the Parquet twin's order
        kind = frictionless_type(data_type)
        if kind in {"array", "object"}:
            parts.append(f"to_json({quoted})::varchar as {quoted}")
        elif kind == "datetime":
            parts.append(f"strftime({quoted}, '%Y-%m-%dT%H:%M:%S') as {quoted}")
        else:
            parts.append(quoted)
    return f"select {', '.join(parts)} from {schema}.{table} as source order by {', '.join(order)}"


def export_csv(published_db: Path, exports_dir: Path, skip: frozenset[str] | set[str] = frozenset()) -> list[Path]:
    """One CSV per public table (the data package's resources), each written to a temporary name then renamed;
    tables in `skip` are left out."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with warehouse.connect(published_db, read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1", [PUBLIC_LAYER]
        ).fetchall()
        for (name,) in tables:
            if name in skip:
                continue
            final = exports_dir / f"{name}.csv"
            temporary = exports_dir / f".{name}.csv.tmp"
            target = str(temporary).replace("'", "''")  # a folder name may hold a quote: it is data, not SQL
            con.execute(
                f"copy ({_csv_select(con, PUBLIC_LAYER, name)}) to '{target}' (format csv, header true, delimiter ',')"
            )
            os.replace(temporary, final)
            written.append(final)
    return written


def datapackage(
    published_db: Path, exports_dir: Path, docs: dict[str, ModelDoc], known_sha256: dict[str, str] | None = None
) -> dict:
    """The Frictionless Data Package descriptor of every CSV file in exports_dir (tabular-data-package); each
    resource names its Parquet twin (`parquet`: path, bytes, hash). `known_sha256`: file name -> sha256 already
    computed (files kept from the previous exports), not hashed again."""
    known = known_sha256 or {}

    def sha256(path: Path) -> str:
        return known.get(path.name) or file_sha256(path)

    resources = []
    with warehouse.connect(published_db, read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1", [PUBLIC_LAYER]
        ).fetchall()
        # every table's columns in one query (one catalog scan instead of one per table)
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = ? order by table_name, ordinal_position",
            [PUBLIC_LAYER],
        ).fetchall():
            columns.setdefault(table, []).append((column, data_type))
        for (name,) in tables:
            path = exports_dir / f"{name}.csv"
            parquet = exports_dir / f"{name}.parquet"
            if not path.is_file():
                continue
            doc = docs.get(name, ModelDoc(name, ""))
            fields = []
            for column, data_type in columns.get(name, []):
                entry = {"name": column, "type": frictionless_type(data_type), "duckdbType": data_type}
                description = doc.columns.get(column, {}).get("description")
                if description:
                    entry["description"] = description
                fields.append(entry)
            schema: dict = {"fields": fields, "missingValues": [""]}
            if doc.unique_key and all(k in {f["name"] for f in fields} for k in doc.unique_key):
                schema["primaryKey"] = doc.unique_key
            resource = {
                "name": name,
                "path": path.name,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": path.stat().st_size,
                "hash": f"sha256:{sha256(path)}",
                "dialect": {"delimiter": ",", "header": True},
                "schema": schema,
            }
            if parquet.is_file():
                resource["parquet"] = {
                    "path": parquet.name,
                    "bytes": parquet.stat().st_size,
                    "hash": f"sha256:{sha256(parquet)}",
                }
            if doc.description:
                resource["description"] = doc.description
            resources.append(resource)
        sources = (
            con.execute("select raw_table, file_name, vintage, sha256 from meta.loads order by raw_table").fetchall()
            if _has_table(con, "meta", "loads")
            else []
        )
        created = created_stamp(con)
    package = {
        "profile": "tabular-data-package",
        "name": "hemisphere-partnership-warehouse",
        "title": "Hemisphere Partnership Warehouse",
        "description": (
            "US partnership with Latin American and Caribbean countries: aid, trade, arms, personnel, exercises, "
            "agreements and indicators. One CSV (and one Parquet twin) per public table (schema marts of "
            "partnership.duckdb). "
            "NULL means unknown, never zero."
        ),
        "licenses": [{"name": "other-at", "title": "Each source's own licence: see data/snapshots/<source>/SOURCE.md"}],
        "sources": [
            {"title": f"{raw_table}: {vintage}", "path": file_name, "sha256": sha}
            for raw_table, file_name, vintage, sha in sources
        ],
        "resources": resources,
    }
    if created:
        package["created"] = created
    return package


def created_stamp(con: duckdb.DuckDBPyConnection) -> str | None:
    """The data package's `created` for the database open on `con`: its `meta.build.published_at`."""
    if not _has_table(con, "meta", "build"):
        return None
    row = con.execute("select max(published_at)::varchar from meta.build").fetchone()
    return row[0].replace(" ", "T", 1) if row and row[0] else None


@dataclass
class Reuse:
    """The published exports a refresh may keep: `marts` were carried over unchanged from the published database,
    whose data package `created` stamp is `created` (the published datapackage.json must carry the same one, or
    the folder belongs to another build)."""

    folder: Path
    created: str | None
    marts: set[str]


def _keep_previous(reuse: Reuse | None, exports_dir: Path) -> tuple[set[str], dict[str, str]]:
    """Link the published CSV and Parquet of each carried-over mart into `exports_dir` when both still hash to what
    the published datapackage.json records. Returns the marts kept and file name -> sha256 of their files.
    Anything that does not check out (another build's folder, an edited or missing file) is exported afresh."""
    if reuse is None or not reuse.marts or reuse.created is None:
        return set(), {}
    try:
        previous = json.loads((reuse.folder / DATAPACKAGE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set(), {}
    if not isinstance(previous, dict) or previous.get("created") != reuse.created:
        return set(), {}
    exports_dir.mkdir(parents=True, exist_ok=True)
    kept, hashes = set(), {}
    for resource in previous.get("resources") or []:
        name = resource.get("name") if isinstance(resource, dict) else None
        if not isinstance(name, str) or name not in reuse.marts:
            continue
        twin = resource.get("parquet") if isinstance(resource.get("parquet"), dict) else {}
        found = {}
        for file_name, entry in ((f"{name}.csv", resource), (f"{name}.parquet", twin)):
            # only the mart's own file names, whatever paths the descriptor holds
            expected = entry.get("hash") if entry.get("path") == file_name else None
            path = reuse.folder / file_name
            if not isinstance(expected, str) or not path.is_file() or f"sha256:{file_sha256(path)}" != expected:
                break
            found[file_name] = expected.removeprefix("sha256:")
        else:
            for file_name in found:
                target = exports_dir / file_name
                target.unlink(missing_ok=True)
                try:  # published exports are only ever replaced by a rename, never written in place: a link is safe
                    os.link(reuse.folder / file_name, target)
                except OSError:
                    shutil.copy2(reuse.folder / file_name, target)
            kept.add(name)
            hashes.update(found)
    return kept, hashes


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        warehouse.scalar(
            con,
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        )
    )


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def export(
    published_db: Path, exports_dir: Path, manifest_path: Path | None = None, reuse: Reuse | None = None
) -> list[Path]:
    """Parquet and CSV per public table + datapackage.json; returns every table's Parquet file (kept or written).
    `reuse`: the published exports a refresh keeps for the marts it carried over (see `Reuse`)."""
    if not published_db.is_file():
        raise ExportError(f"no published warehouse at {published_db}", "run `make run` (or `hpw build`) first")
    kept, hashes = _keep_previous(reuse, exports_dir)
    # Held open across the three readers below: DuckDB then shares this open database with their connections
    # instead of opening the file and loading its catalog three times.
    with warehouse.connect(published_db, read_only=True), ThreadPoolExecutor(1, "hpw-parquet") as parquet_writer:
        # The Parquet and the CSV files side by side: DuckDB writes each without holding the GIL
        parquet_files = parquet_writer.submit(warehouse.export_parquet, published_db, exports_dir, kept)
        csvs = export_csv(published_db, exports_dir, skip=kept)
        written = parquet_files.result()
        parquet = sorted([*written, *(exports_dir / f"{name}.parquet" for name in kept)])
        current = {p.name for p in parquet + csvs} | {f"{name}.csv" for name in kept}
        for stale in [*exports_dir.glob("*.parquet"), *exports_dir.glob("*.csv")]:  # a dropped mart must not linger
            if stale.name not in current:
                stale.unlink()
        descriptor = datapackage(published_db, exports_dir, model_docs(manifest_path), hashes)
    _write_atomically(exports_dir / DATAPACKAGE, json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n")
    return parquet


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def data_dictionary(docs: dict[str, ModelDoc] | None = None) -> str:
    """docs/data_dictionary.md, generated from the dbt yml (via the manifest)."""
    docs = docs if docs is not None else model_docs()
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated by `hpw export --dictionary` (also `make docs`) from models/marts/*.yml. Do not edit by hand:",
        "     edit the yml and regenerate; tests/test_exports.py fails when this file and the yml disagree. -->",
        "",
        "The public tables of `warehouse/partnership.duckdb` (schema `marts`), also exported as",
        "`warehouse/exports/<table>.parquet` and described in `warehouse/exports/datapackage.json`.",
        "NULL means unknown, never zero. Types are the declared dbt contract types (blank where the model declares "
        "none).",
        "",
        "| table | grain | description |",
        "|---|---|---|",
    ]
    for doc in docs.values():
        grain = ", ".join(doc.unique_key)
        summary = doc.description.split(". ")[0].rstrip(".") + "." if doc.description else ""
        lines.append(f"| [`{doc.name}`](#{doc.name}) | {_md(grain)} | {_md(summary)} |")
    for doc in docs.values():
        lines += ["", f"## {doc.name}", "", doc.description or "(no description)", ""]
        if doc.unique_key:
            lines += [f"One row per: {', '.join(f'`{k}`' for k in doc.unique_key)}.", ""]
        lines += ["| column | type | description |", "|---|---|---|"]
        for name, column in doc.columns.items():
            lines.append(f"| `{name}` | {column.get('data_type') or ''} | {_md(column.get('description') or '')} |")
    return "\n".join(lines) + "\n"


def write_data_dictionary(path: Path | None = None, manifest_path: Path | None = None) -> Path:
    target = path or DICTIONARY_PATH
    _write_atomically(target, data_dictionary(model_docs(manifest_path)))
    return target


def dbt_docs(published_db: Path, out_dir: Path) -> Path:
    """The dbt docs site (lineage, column docs, catalog types) as one offline page: out_dir/static_index.html.

    dbt reads the catalog from a scratch copy of the published file, so the analysts' file is never opened
    for writing.
    """
    import shutil
    import subprocess
    import sys
    import tempfile

    if not published_db.is_file():
        raise ExportError(f"no published warehouse at {published_db}", "run `make run` (or `hpw build`) first")
    dbt = Path(sys.executable).parent / "dbt"
    out_dir = out_dir.resolve()  # dbt runs in the scratch folder
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".docs-", dir=published_db.parent) as scratch:
        shutil.copyfile(published_db, Path(scratch) / published_db.name)
        # dbt reuses a parse only for the same profile, whose `path` is the database: named relative to dbt's
        # working directory (the scratch folder), as a build's dbt names its own, the profile is the builds', so
        # the parse state the last build or call left serves this one (no full parse)
        dbt_parse_state.seed_partial_parse(out_dir)
        completed = subprocess.run(
            [
                str(dbt),
                "docs",
                "generate",
                "--static",
                "--target-path",
                str(out_dir),
                "--project-dir",
                str(settings.DBT_PROJECT_DIR),
                "--profiles-dir",
                str(settings.DBT_PROJECT_DIR),
            ],
            capture_output=True,
            text=True,
            cwd=scratch,
            env={**os.environ, "HPW_BUILD_DB": published_db.name, "DO_NOT_TRACK": "1"},
        )
    if completed.returncode == 0:
        dbt_parse_state.keep_partial_parse(out_dir)
    if completed.returncode != 0:
        lines = [
            line for line in completed.stdout.splitlines() if "error" in line.lower()
        ] or completed.stdout.splitlines()[-1:]
        raise ExportError(
            f"dbt docs generate failed: {lines[0].strip() if lines else 'no output'}",
            "run `make manifest` and check models/",
        )
    page = out_dir / "static_index.html"
    if not page.is_file():
        raise ExportError(f"dbt docs generate wrote no {page.name}", "dbt >= 1.7 is needed for --static")
    return page
