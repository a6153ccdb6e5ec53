"""`hpw check-file RAW_TABLE=PATH`: what a build would do with a file, without building.

The file is parsed by its source's parser, held to its contract and put through the country crosswalk exactly as
the raw asset would (same code), against the published warehouse's columns for schema drift. Nothing is written.
The report: rows, new or missing columns, how every entity resolved (code, name, alias, historical, outside),
the unresolved entities and why each is judged outside the universe, plausibility flags and quarantined values.
Exit status 0 when a build would go on with this file, 1 when it would stop (the reason is printed as the build
would print it).
"""

from __future__ import annotations

from collections import Counter

import polars as pl

from data_contracts._base import ContractFindings, ContractViolation, contract_run
from pipelines import countries, drift, settings
from pipelines.countries import UnmappedCountryError
from pipelines.diagnosis import explain
from pipelines.sources.base import entity_counts


def check_file(name: str, path: str, echo=print) -> int:
    from pipelines.sources import RAW_TABLES

    tables = [t for t in RAW_TABLES if name in (t.name, t.file_key)]
    source_file = tables[0].locate(path)  # FileNotFoundError is the caller's one-line error
    baseline = drift.load_baseline(settings.published_db_path())
    stops = 0
    drift_warnings: list[str] = []
    for table in tables:
        countries.take_outcomes(table.source)
        echo(f"{table.name} <- {source_file.path} ({source_file.bytes:,} bytes, sha256 {source_file.sha256[:12]})")
        try:
            with contract_run(baseline) as contracts:
                frame = table.parse(source_file.path)
        except (ContractViolation, UnmappedCountryError) as err:
            explained = explain(table, source_file.path, err, file_fault=True, message=str(err)).explained
            echo("  a build would STOP: " + explained.replace("\n", "\n  "))
            stops += 1
            continue
        except Exception as err:  # noqa: BLE001 - anything else a parser raises is a file that is not this data
            message = f"{type(err).__name__}: {err}"
            explained = explain(table, source_file.path, err, file_fault=True, message=message).explained
            echo("  a build would STOP: " + explained)
            stops += 1
            continue
        drift_warnings.extend(w for w in contracts.findings.drift_warnings if w not in drift_warnings)
        _report(table, frame, contracts.findings, echo)
    for warning in drift_warnings:
        echo(f"  column change: {warning}")
    echo("result: a build would stop on this file" if stops else "result: a build would accept this file")
    return 1 if stops else 0


def _report(table, frame: pl.DataFrame, findings: ContractFindings, echo) -> None:
    counts = entity_counts(frame)
    kinds = ", ".join(f"{k.removeprefix('rows_')} {v:,}" for k, v in counts.items() if k != "rows_in")
    echo(f"  rows: {frame.height:,}" + (f" ({kinds})" if kinds else ""))
    outcomes = countries.take_outcomes(table.source)
    if outcomes:
        by_method = Counter(o.method for o in outcomes)
        echo("  entities resolved by: " + ", ".join(f"{m} {n}" for m, n in sorted(by_method.items())))
    for o in (o for o in outcomes if o.method == "outside"):
        echo(
            f"  outside the universe, kept as 'unresolved' (meta.unresolved_entities): {o.code or ''} / {o.name or ''}"
            f" ({o.rows:,} rows): {o.why}"
        )
    flags = findings.flags
    for (rule,), group in flags.group_by(["reason"], maintain_order=True):
        rows = ", ".join(map(str, group["source_row"].head(5).to_list()))
        echo(
            f"  plausibility warning, rows kept ({group.height:,}): {rule.removeprefix('plausibility: ')} "
            f"(rows {rows}{' ...' if group.height > 5 else ''})"
        )
    held = findings.quarantined
    if held.height:
        echo(f"  quarantined values (set to NULL, rows kept): {held.height:,}")
