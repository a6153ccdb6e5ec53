"""Why a raw asset failed, worked out where the failure happens: the raw asset knows its source, the file it read
and the exception, and turns them into one explained message plus structured metadata (source, file, row, column,
values, hint, diagnosis of a file that is not data) on its failed `contract` check and its `Failure`.
`hpw build` prints from those events; nothing downstream reads an exception's text.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from data_contracts._base import ContractViolation
from pipelines import quarantine
from pipelines.anomaly import AnomalyError
from pipelines.countries import CrosswalkConflictError, UnmappedCountryError

# Publishers whose files are Latin-1 by design (their parsers decode it): not an encoding error there.
LATIN1_SOURCES = {"sipri_arms_transfers", "us_bases"}

DECIMAL_COMMA = re.compile(r"(^|;)\s*\"?-?\d{1,3}(\.\d{3})*,\d+\"?\s*(?=;|$)")
RUNAWAY_TOKEN = re.compile(r"(\S{60})\S{40,}")


def shorten_runaway(text: str) -> str:
    """A value longer than a line (a runaway cell) keeps its start and says how long it was; the rest is as is."""
    return RUNAWAY_TOKEN.sub(lambda m: f"{m.group(1)}…[{len(m.group(0)):,} characters]", text)


def one_line(text: str, limit: int = 400) -> str:
    """An error as one readable line: whitespace collapsed, cut at `limit` characters (a 10 MB cell stays short)."""
    flat = shorten_runaway(" ".join(str(text).split()))
    if len(flat) <= limit:
        return flat
    return f"{flat[: limit - 1]}… ({len(flat) - limit + 1:,} more characters in the log)"


def root_cause(err: BaseException) -> BaseException:
    """The exception at the end of the `raise ... from` chain: the one a user can act on."""
    while err.__cause__ is not None:
        err = err.__cause__
    return err


def message_of(err: BaseException) -> str:
    return str(err).strip() or type(err).__name__


@dataclass
class RawFailure:
    """A failed raw asset, as data: what `hpw build` prints and what the UI shows on the failed check."""

    source: str
    raw_table: str
    explained: str  # the one message a user reads (may hold several lines: one per contract problem)
    message: str  # what the reader/contract/crosswalk/download said
    kind: str  # contract | crosswalk | unreadable | anomaly | download | environment
    file_fault: bool  # the file read is at fault (kept under .rejected/), as opposed to a download or setting
    file: str | None = None  # the culprit file's name (the file of a folder source that broke)
    path: str | None = None
    column: str | None = None  # the first problem's column, rows and values; `problems` has all of them
    rows: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    diagnosis: str | None = None  # the file is not data at all (quarantine.diagnose) or in a foreign layout
    located: str | None = None  # where unmapped names sit in the file (line numbers)
    hint: str | None = None
    rejected_copy: str | None = None  # the copy kept under <warehouse>/.rejected/<source>/


def explain(table, path: Path | None, err: BaseException | None, *, file_fault: bool, message: str | None = None):
    """A RawFailure for `err` raised by `table`'s raw asset after reading `path` (None: nothing was read): the root
    cause of `err` explained. With `message` (check-file, which names the exception type), `err` itself."""
    root = err if message is not None or err is None else root_cause(err)
    message = message if message is not None else (message_of(root) if root is not None else "unknown error")
    if not file_fault and not message.startswith(f"[{table.source}]"):
        # not the file's fault (a setting, the ingestion log, the disk): say so, blame no file
        return RawFailure(
            table.source,
            table.name,
            f"[{table.source}] {table.name}: {one_line(message, 300)}",
            message,
            "download" if _is_fetch_error(root) else "environment",
            file_fault=False,
        )
    violation = root if isinstance(root, ContractViolation) else None
    failure = RawFailure(table.source, table.name, "", message, _kind(root), file_fault=True)
    if violation is not None:
        failure.problems = [
            {"column": f.column, "check": f.check, "values": f.values[:5], "rows": f.rows[:5], "count": f.count}
            for f in violation.failures
        ]
        if violation.failures:
            first = violation.failures[0]
            failure.column, failure.rows, failure.values = first.column, list(first.rows[:5]), list(first.values[:5])
    if isinstance(root, UnmappedCountryError):
        failure.values = [str(v) for v in root.values[:20]]
        failure.hint = f"add them to data/reference/country_aliases.csv (source={root.source})"
    failure.explained = _explained(table, path, message, root, failure)
    failure.file_fault = failure.path is not None  # a failed download or a missing file blames no file
    failure.values = [_short(str(v)) for v in failure.values]
    for problem in failure.problems:
        problem["values"] = [_short(str(v)) for v in problem["values"]]
    return failure


def _short(value: str, limit: int = 1000) -> str:
    """A value as metadata: a runaway cell (megabytes) keeps its start; the explained message has it whole."""
    return value if len(value) <= limit else f"{value[:limit]}…[{len(value):,} characters]"


def _is_fetch_error(err: BaseException | None) -> bool:
    from pipelines.fetch import FetchError

    return isinstance(err, FetchError)


def _kind(root: BaseException | None) -> str:
    if isinstance(root, AnomalyError):
        return "anomaly"
    if isinstance(root, ContractViolation):
        return "contract"
    if isinstance(root, UnmappedCountryError):
        return "crosswalk"
    if _is_fetch_error(root):
        return "download"
    return "unreadable"


def _explained(table, path: Path | None, message: str, root, failure: RawFailure) -> str:
    """One clear message for a failed raw file: source, file, and what is wrong with it (row, column, value)."""
    if isinstance(root, AnomalyError):  # names source, file, the published vintage and what changed
        failure.file, failure.path = (path.name, str(path)) if path is not None else (None, None)
        return message
    contract_file = root.file_name if isinstance(root, ContractViolation) else None
    path = culprit_file(path, contract_file)
    failure.path = str(path) if path is not None else None
    layout = layout_problem(path) if path is not None else None
    if layout and path is not None:  # the real cause comes first; what the reader made of it is secondary
        failure.file = contract_file or path.name
        failure.diagnosis = layout
        failure.hint = layout.split("; ", 1)[-1] if "; " in layout else failure.hint
        return f"[{table.source}] {failure.file} {layout} (reader said: {one_line(message.splitlines()[0], 160)})"
    if path is None and message.startswith(f"[{table.source}]"):
        return message  # no file was read (a failed download): the message already names source and address
    failure.file = contract_file or (path.name if path else table.default_file)
    problem = quarantine.diagnose(path, latin1_ok=table.source in LATIN1_SOURCES) if path else None
    failure.diagnosis = problem
    first_line = message.splitlines()[0] if message else "unknown error"
    if contract_file is not None:
        return message + (f"\n  - the file {problem}" if problem else "")
    unmapped = isinstance(root, UnmappedCountryError) and not isinstance(root, CrosswalkConflictError)
    if unmapped and root.source == table.source and path is not None:
        failure.located = unmapped_lines(path, [str(v) for v in root.values])
        return (
            message.replace(f"[{table.source}]", f"[{table.source}] {failure.file}:", 1)
            + f" Found in the file: {failure.located}"
        )
    if problem:
        return f"[{table.source}] {failure.file} {problem} (reader said: {first_line})"
    return f"[{table.source}] {failure.file} could not be read as {table.name}: {first_line}"


def unmapped_lines(path: Path, values: list[str]) -> str:
    """Where the unmapped names sit in the file (line numbers), found with one vectorised scan."""
    import polars as pl

    text = pl.Series(path.read_bytes().decode("utf-8", "replace").splitlines())
    found = []
    for value in values[:5]:
        parts = [part for part in value.split(" / ") if part]  # the crosswalk reports `code / name`
        hit = pl.Series([True] * text.len())
        for part in parts:
            hit = hit & text.str.contains(part, literal=True)
        lines = (hit.arg_true() + 1).head(5).to_list()
        found.append(f"{value!r} at line(s) {', '.join(map(str, lines)) or '?'}")
    return "; ".join(found)


def culprit_file(path: Path | None, contract_file: str | None) -> Path | None:
    """Folder sources (World Bank) read every file beside the one given: the contract names the culprit."""
    if path is not None and contract_file and path.name != contract_file and (path.parent / contract_file).is_file():
        return path.parent / contract_file
    return path


def layout_problem(path: Path) -> str | None:
    """A file in a layout no publisher here uses, said plainly: a zip archive, or a semicolon-separated export
    (with decimal commas) where the publisher writes comma-separated values."""
    if path.suffix.lower() in {".xlsx", ".xlsm", ".zip"} or not path.is_file():
        return None
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            names = []
        inside = f" holding {', '.join(names[:3])}{', ...' if len(names) > 3 else ''}" if names else ""
        return f"is a zip archive{inside}, not CSV data; unzip it and give the CSV inside"
    with path.open("rb") as handle:
        head = handle.read(65536).decode("utf-8", "replace").splitlines()[:20]
    if not head or path.suffix.lower() == ".json":
        return None
    header = next((line for line in head if line.strip()), "")
    if header.count(";") >= 2 and header.count(";") > header.count(","):
        decimals = sum(bool(DECIMAL_COMMA.search(line)) for line in head[1:])
        comma = " and ',' as the decimal mark" if decimals else ""
        return (
            f"uses ';' as the column separator{comma} (a spreadsheet export in a European locale), not the "
            "publisher's comma-separated layout; download the original file or re-save it as CSV with ',' "
            "separators"
        )
    return None
