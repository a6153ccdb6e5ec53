"""Getting a raw table's file: bundled snapshot (default, no network), a user file, or the publisher's live address.

Modes (see README "Live mode and schedules"):
- `snapshot` (default): the bundled file under data/snapshots/. Never touches the network.
- `live` (`HPW_MODE=live`): every raw table with a live address is downloaded; tables without one read their snapshot
  and say so in the log. One table can be sent live alone with `HPW_<KEY>_URL=https://...` (also in snapshot mode).
  `HPW_LIVE_BASE_URL=http://127.0.0.1:8000` replaces scheme and host of every built-in live address (mirrors, tests).
- `landed`: the newest vintage this raw table already landed by a live download, without touching the network;
  the bundled snapshot when there is none. A scheduled run refreshes its own cadence's sources live and reads
  the others this way, so a monthly run never rolls a quarterly source back to its snapshot.
- A file named by run config or `HPW_<KEY>_PATH` always wins.

Live downloads go through one httpx client: timeouts, a User-Agent, retries with exponential backoff on 429/5xx,
connection errors and timeouts (each retry logged), and conditional requests (`If-None-Match` / `If-Modified-Since`
from the last successful retrieval). Every retrieved file is landed **immutably and content-addressed**:

    <data dir>/landing/<key>/<sha256>/<file name>        (read-only once written)

where the data dir is `HPW_DATA_DIR`, default `<warehouse dir>/data` (outside git). Every acquisition, live or not,
appends one JSON line to `<data dir>/ingestions.jsonl` — the ingestion log survives builds (the build database is
recreated each build) and is copied into `meta.ingestions` of every build, with the view `meta.vintages`
(one row per distinct file version per raw table). Outcomes:

- `new_vintage`  content (sha256) never seen before for this raw table: a new vintage, landed;
- `unchanged`    downloaded, but the same sha256 as a vintage already landed: not landed again;
- `not_modified` the server answered 304 to the conditional request: the landed vintage is reused;
- `failed`       the download failed (the error is in `error`); nothing landed;
- `contract_failed` / `unreadable`  the file was landed (kept for inspection) but broke its contract / could not be
  parsed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pipelines import settings
from pipelines.sources.base import RawTable, SourceFile

log = logging.getLogger("hpw.fetch")

MODES = ("snapshot", "live", "landed")
USER_AGENT = "hemisphere-partnership-warehouse/0.1 (open-data indicator pipeline; python-httpx)"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
LOG_NAME = "ingestions.jsonl"

# Column order and types of meta.ingestions (and of every line of ingestions.jsonl).
INGESTION_COLUMNS = {
    "source": "varchar",
    "raw_table": "varchar",
    "mode": "varchar",
    "url_or_path": "varchar",
    "retrieved_at": "timestamptz",
    "sha256": "varchar",
    "bytes": "bigint",
    "rows": "bigint",
    "vintage": "varchar",
    "http_status": "integer",
    "etag": "varchar",
    "last_modified": "varchar",
    "outcome": "varchar",
    "attempts": "integer",
    "landed_path": "varchar",
    "error": "varchar",
    "partition": "varchar",
    "accepted_change": "varchar",
}


class FetchError(RuntimeError):
    """A live download that did not succeed; the message names source and URL, plus a hint."""


# --------------------------------------------------------------------------------------------------- settings


def mode(requested: str | None = None) -> str:
    value = (requested or os.environ.get("HPW_MODE", "snapshot")).strip().lower()
    if value not in MODES:
        raise ValueError(f"HPW_MODE={value!r} is not a mode; use one of {', '.join(MODES)}")
    return value


def data_dir(warehouse_root: Path | None = None) -> Path:
    """Where landed files and the ingestion log live: `HPW_DATA_DIR`, default `<warehouse dir>/data`."""
    configured = os.environ.get("HPW_DATA_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(warehouse_root or settings.warehouse_dir()).resolve() / "data"


def timeout_seconds() -> float:
    return float(os.environ.get("HPW_FETCH_TIMEOUT", "60"))


DEFAULT_DEADLINE = 1800.0  # seconds for a whole download, retries included
DEFAULT_MAX_BYTES = 4 << 30  # 4 GiB: the largest publisher file (FA.gov's complete activity file) is ~3 GB
MAX_BYTES_BY_KEY: dict[str, int] = {}  # per-file defaults beyond DEFAULT_MAX_BYTES (HPW_<KEY>_MAX_BYTES overrides both)


def deadline_seconds() -> float:
    return float(os.environ.get("HPW_FETCH_DEADLINE", DEFAULT_DEADLINE))


def max_bytes(table: RawTable) -> int:
    """Largest download accepted for this file: HPW_<KEY>_MAX_BYTES, else HPW_FETCH_MAX_BYTES, else the default."""
    own = os.environ.get(f"HPW_{settings.env_key(table.fetch_key)}_MAX_BYTES")
    if own:
        return int(own)
    return int(os.environ.get("HPW_FETCH_MAX_BYTES", MAX_BYTES_BY_KEY.get(table.fetch_key, DEFAULT_MAX_BYTES)))


def max_attempts() -> int:
    return max(1, int(os.environ.get("HPW_FETCH_ATTEMPTS", "4")))


def backoff_seconds() -> float:
    return float(os.environ.get("HPW_FETCH_BACKOFF", "1.0"))


def url_override(table: RawTable) -> str | None:
    return os.environ.get(f"HPW_{settings.env_key(table.fetch_key)}_URL") or None


def live_url(table: RawTable) -> str | None:
    """The address to download: `HPW_<KEY>_URL`, else the table's live address (rebased by HPW_LIVE_BASE_URL)."""
    override = url_override(table)
    if override:
        return override
    if not table.live_url:
        return None
    base = os.environ.get("HPW_LIVE_BASE_URL")
    if not base:
        return table.live_url
    scheme, netloc, *_ = urlsplit(base)
    _, _, path, query, fragment = urlsplit(table.live_url)
    return urlunsplit((scheme, netloc, path, query, fragment))


def wants_live(table: RawTable, requested_mode: str | None = None) -> bool:
    return url_override(table) is not None or mode(requested_mode) == "live"


def wants_landed(table: RawTable, requested_mode: str | None = None) -> bool:
    return url_override(table) is None and mode(requested_mode) == "landed"


# --------------------------------------------------------------------------------------------------- log


@dataclass
class Ingestion:
    source: str
    raw_table: str
    mode: str
    url_or_path: str
    retrieved_at: str
    sha256: str | None = None
    bytes: int | None = None
    rows: int | None = None
    vintage: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    outcome: str = "failed"
    attempts: int | None = None
    landed_path: str | None = None
    error: str | None = None
    partition: str | None = None  # country partition (ISO3) of a per-country download; null for whole files
    accepted_change: str | None = None  # a change the anomaly gate stopped and the user let through, and why


@dataclass
class Acquired:
    """What a raw asset reads, and the ingestion row it will record once the rows are known."""

    file: SourceFile
    ingestion: Ingestion
    notes: list[str] = field(default_factory=list)


def log_path(root: Path) -> Path:
    return root / LOG_NAME


def append_log(root: Path, ingestion: Ingestion) -> None:
    try:
        _append(root, ingestion)
    except OSError as err:  # a full disk, a read-only folder: say which file, not a bare errno
        raise OSError(
            err.errno,
            f"cannot append to the ingestion log {log_path(root)}: {err.strerror}; "
            "free space there or set HPW_DATA_DIR",
        ) from None


def _append(root: Path, ingestion: Ingestion) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with log_path(root).open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            size = handle.seek(0, os.SEEK_END) if handle.seekable() else 0
            if size:  # a line half-written by a killed process is closed, so this entry starts on its own line
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    handle.write(b"\n")
            handle.write((json.dumps(asdict(ingestion)) + "\n").encode("utf-8"))
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class _ReadLog:
    """What `read_log` parsed of one log file: its complete lines up to `offset`."""

    identity: tuple[int, int]  # st_dev, st_ino
    offset: int
    tail: bytes  # the bytes just before `offset`: a file rewritten in place is read again
    lines: int
    frame: Any  # polars.DataFrame
    skipped: list[int]


# The log only grows (one line per acquisition, every build): each raw asset reads it twice, so a log of years of
# builds parsed whole every time cost seconds per build. Per process, by path: only the lines added are parsed.
_READ: dict[Path, _ReadLog] = {}
_TAIL = 64


def read_log(root: Path):
    """The ingestion log as a polars frame with the meta.ingestions columns (empty when nothing was logged).

    A line that is not a JSON object (half-written by a killed build, or damaged) is skipped with a warning naming
    its line number: the log is a record of downloads, and one bad line must not fail every raw table."""
    import polars as pl

    schema = {
        name: {"varchar": pl.String, "timestamptz": pl.String, "bigint": pl.Int64, "integer": pl.Int64}[kind]
        for name, kind in INGESTION_COLUMNS.items()
    }
    path = log_path(root)
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is None or not path.is_file() or stat.st_size == 0:
        _READ.pop(path, None)
        return pl.DataFrame(schema=schema)
    with path.open("rb") as handle:
        known = _READ.get(path)
        if known is not None and (
            known.identity != (stat.st_dev, stat.st_ino)
            or stat.st_size < known.offset
            or _bytes_before(handle, known.offset) != known.tail
        ):
            known = None
        if known is None:
            known = _ReadLog((stat.st_dev, stat.st_ino), 0, b"", 0, pl.DataFrame(schema=schema), [])
        handle.seek(known.offset)
        data = handle.read()
    complete = data[: data.rfind(b"\n") + 1]  # a last line without its newline may still be being written
    rows, skipped = [], list(known.skipped)
    pieces = data.split(b"\n")
    for number, line in enumerate(pieces[:-1] if not pieces[-1] else pieces, start=known.lines + 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except ValueError:
            skipped.append(number)
            continue
        rows.append({name: _typed(entry.get(name), kind) for name, kind in schema.items()})
    frame = pl.concat([known.frame, pl.DataFrame(rows, schema=schema, orient="row")]) if rows else known.frame
    if complete:
        lines = known.lines + complete.count(b"\n")
        kept = len(rows) - (1 if complete != data and rows and _parses(data[len(complete) :]) else 0)
        _READ[path] = _ReadLog(
            known.identity,
            known.offset + len(complete),
            (known.tail + complete)[-_TAIL:],
            lines,
            frame.head(known.frame.height + kept),
            [n for n in skipped if n <= lines],
        )
    if skipped:
        numbers = ", ".join(map(str, skipped[:5]))
        log.warning(f"{path}: skipped {len(skipped)} damaged line(s) ({numbers}) of the ingestion log")
    return frame


def _bytes_before(handle, offset: int) -> bytes:
    handle.seek(max(0, offset - _TAIL))
    return handle.read(offset - max(0, offset - _TAIL))


def _parses(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _typed(value, kind):
    """A log value as its column's type; a value of the wrong type becomes null rather than failing the log."""
    import polars as pl

    if value is None:
        return None
    if kind == pl.Int64:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return value if isinstance(value, str) else str(value)


def _previous(root: Path, table: RawTable):
    """Landed vintages of this raw table, newest first."""
    import polars as pl

    frame = read_log(root)
    return frame.filter(
        (pl.col("raw_table") == table.name)
        & pl.col("sha256").is_not_null()
        & pl.col("outcome").is_in(["new_vintage", "unchanged", "not_modified"])
    ).reverse()


def copy_log_into(con, root: Path) -> int:
    """Replace meta.ingestions in the build database (open as `con`) with the whole ingestion log; (re)create
    meta.vintages."""
    frame = read_log(root)  # noqa: F841 - scanned by name below
    casts = ", ".join(f"cast({name} as {kind}) as {name}" for name, kind in INGESTION_COLUMNS.items())
    con.execute("create schema if not exists meta")
    con.execute(f"create or replace table meta.ingestions as select {casts} from frame")
    con.execute(
        """create or replace view meta.vintages as
        select raw_table, any_value(source) as source, sha256, min(vintage) as vintage,
               min(retrieved_at) as first_retrieved_at, max(retrieved_at) as last_retrieved_at,
               count(*) as retrievals, arg_max(url_or_path, retrieved_at) as url_or_path,
               any_value(landed_path) as landed_path
        from meta.ingestions
        where outcome in ('new_vintage', 'unchanged', 'not_modified') and sha256 is not null
        group by raw_table, sha256"""
    )
    return con.execute("select count(*) from meta.ingestions").fetchone()[0]


# --------------------------------------------------------------------------------------------------- acquire


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(settings.PROJECT_ROOT))
    except ValueError:
        return str(path)


def acquire(
    table: RawTable, configured_path: str | None, warehouse_root: Path, logger=None, mode: str | None = None
) -> Acquired:
    """The file a raw asset reads, first found of: run-config/`HPW_<KEY>_PATH` file > live download (live mode or
    URL override) > snapshot."""
    logger = logger or log
    root = data_dir(warehouse_root)
    explicit = configured_path or settings.source_file_override(table.fetch_key) is not None
    if not explicit and wants_landed(table, mode):
        reused = _newest_landed(root, table)
        if reused is not None:
            return reused
    if explicit or not wants_live(table, mode):
        source_file = table.locate(configured_path)
        kind = "snapshot" if source_file.bundled else "file"
        return Acquired(source_file, _local_ingestion(root, table, source_file, kind))
    url = live_url(table)
    if url is None:
        note = (
            f"{table.name}: no live address for this source; reading the bundled snapshot "
            f"(set HPW_{settings.env_key(table.fetch_key)}_URL or _PATH to use another)"
        )
        logger.warning(note)
        source_file = table.locate(None)
        return Acquired(source_file, _local_ingestion(root, table, source_file, "snapshot"), [note])
    return fetch_live(table, url, root, logger)


def _newest_landed(root: Path, table: RawTable) -> Acquired | None:
    """The newest acquisition of this raw table when it was a live download still on disk, logged again as reused."""
    import polars as pl

    seen = _previous(root, table).filter(pl.col("partition").is_null())
    if not seen.height:
        return None
    last = seen.row(0, named=True)
    if last["mode"] not in ("live", "landed") or not last["landed_path"] or not Path(last["landed_path"]).is_file():
        return None  # the last build read the snapshot or a user file: `snapshot` reads the same
    ingestion = Ingestion(
        source=table.source,
        raw_table=table.name,
        mode="landed",
        url_or_path=last["url_or_path"],
        retrieved_at=_now(),
        sha256=last["sha256"],
        vintage=last["vintage"],
        etag=last["etag"],
        last_modified=last["last_modified"],
        outcome="unchanged",
        landed_path=last["landed_path"],
    )
    source_file = SourceFile.inspect(Path(last["landed_path"]), last["vintage"], bundled=False)
    ingestion.bytes = source_file.bytes
    return Acquired(source_file, ingestion)


def _local_ingestion(root: Path, table: RawTable, source_file: SourceFile, kind: str) -> Ingestion:
    seen = _previous(root, table)
    known = seen.filter(seen["sha256"] == source_file.sha256).height > 0
    return Ingestion(
        source=table.source,
        raw_table=table.name,
        mode=kind,
        url_or_path=_relative(source_file.path),
        retrieved_at=_now(),
        sha256=source_file.sha256,
        bytes=source_file.bytes,
        vintage=source_file.vintage,
        outcome="unchanged" if known else "new_vintage",
        landed_path=_relative(source_file.path),
    )


def _iso_date(http_date: str | None) -> str | None:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(http_date).date().isoformat() if http_date else None
    except (TypeError, ValueError):
        return None


def _landed_name(table: RawTable, url: str) -> str:
    """Keep the publisher's file name when it looks like one of the same kind; parsers glob by kind."""
    name = Path(urlsplit(url).path).name
    return name if name and Path(name).suffix.lower() == Path(table.default_file).suffix.lower() else table.default_file


def _client():
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(timeout_seconds()),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
    )


def _retry_delay(attempt: int, retry_after: str | None) -> float:
    delay = backoff_seconds() * (2 ** (attempt - 1))
    if retry_after and retry_after.strip().isdigit():
        delay = max(delay, float(retry_after))
    return min(delay, 300.0)


def _hint(table: RawTable) -> str:
    return f"check the address or set HPW_{settings.env_key(table.fetch_key)}_URL / _PATH"


def _download(client, table: RawTable, url: str, headers: dict, scratch: Path, logger):
    """GET with retries, within the size cap and the overall deadline. Returns (status, response headers, sha256,
    bytes, attempts); the body is in `scratch` (deleted by the caller on failure)."""
    import httpx

    attempts, cap, deadline = max_attempts(), max_bytes(table), time.monotonic() + deadline_seconds()
    key = settings.env_key(table.fetch_key)
    reason = ""
    for attempt in range(1, attempts + 1):
        retry_after = None
        try:
            with client.stream("GET", url, headers=headers) as response:
                if response.status_code in RETRY_STATUSES:
                    retry_after = response.headers.get("Retry-After")
                    reason = f"HTTP {response.status_code}"
                elif response.status_code == 304:
                    return 304, response.headers, None, None, attempt
                elif response.status_code >= 400:
                    raise FetchError(
                        f"[{table.source}] {table.name}: {url} answered HTTP {response.status_code}; "
                        f"hint: {_hint(table)}"
                    )
                else:
                    announced = response.headers.get("Content-Length", "")
                    if announced.isdigit() and int(announced) > cap:
                        raise FetchError(
                            f"[{table.source}] {table.name}: {url} announces {int(announced):,} bytes, more than the "
                            f"{cap:,}-byte cap; nothing was kept; hint: raise HPW_{key}_MAX_BYTES if the file "
                            "really is that large"
                        )
                    digest, size = hashlib.sha256(), 0
                    with scratch.open("wb") as out:
                        for block in response.iter_bytes():  # as received: the cap and deadline hold for a trickle
                            size += len(block)
                            if size > cap:
                                raise FetchError(
                                    f"[{table.source}] {table.name}: {url} sent more than the {cap:,}-byte cap; the "
                                    f"download was stopped and nothing was kept; hint: raise HPW_{key}_MAX_BYTES if "
                                    "the file really is that large"
                                )
                            if time.monotonic() > deadline:
                                raise FetchError(
                                    f"[{table.source}] {table.name}: {url} did not finish within the "
                                    f"{deadline_seconds():g}-s deadline ({size:,} bytes received); nothing was kept; "
                                    "hint: raise HPW_FETCH_DEADLINE, or retry later"
                                )
                            digest.update(block)
                            out.write(block)
                    return response.status_code, response.headers, digest.hexdigest(), size, attempt
        except httpx.TimeoutException as err:
            reason = f"timed out after {timeout_seconds():g} s ({type(err).__name__})"
        except httpx.TooManyRedirects:
            raise FetchError(
                f"[{table.source}] {table.name}: {url} redirects in a loop (more than "
                f"{client.max_redirects} redirects); nothing was downloaded; "
                f"hint: {_hint(table)}"
            ) from None
        except httpx.DecodingError as err:
            raise FetchError(
                f"[{table.source}] {table.name}: {url} sent a body that cannot be decoded as its Content-Encoding "
                f"says ({' '.join(str(err).split())[:120]}): the server's fault, not the file's; hint: retry later "
                "or download the file by hand and use HPW_" + key + "_PATH"
            ) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as err:
            raise FetchError(
                f"[{table.source}] {table.name}: {url[:200]} is not a usable address ({err}); hint: {_hint(table)}"
            ) from None
        except httpx.TransportError as err:
            reason = f"connection error ({type(err).__name__}: {' '.join(str(err).split())[:160]})"
        except OSError as err:  # the landing folder: a full disk, a read-only mount
            raise FetchError(
                f"[{table.source}] {table.name}: cannot write the download of {url} to {scratch.parent}: "
                f"{err.strerror}; hint: free space there or set HPW_DATA_DIR"
            ) from None
        if attempt == attempts or time.monotonic() > deadline:
            break
        delay = min(_retry_delay(attempt, retry_after), max(0.0, deadline - time.monotonic()))
        logger.warning(
            f"[{table.source}] {table.name}: {url}: {reason}; retry {attempt}/{attempts - 1} in {delay:.2f} s"
        )
        time.sleep(delay)
    tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
    raise FetchError(
        f"[{table.source}] {table.name}: could not download {url}: {reason} (gave up after {tries}); "
        "hint: retry later, raise HPW_FETCH_TIMEOUT / HPW_FETCH_ATTEMPTS, or run in snapshot mode (HPW_MODE=snapshot)"
    )


def fetch_live(table: RawTable, url: str, root: Path, logger=None, partition: str | None = None) -> Acquired:
    logger = logger or log
    seen = _previous(root, table)
    same_url = seen.filter(seen["url_or_path"] == url)
    last = same_url.row(0, named=True) if same_url.height else None
    headers = {"Accept": table.accept} if table.accept else {}
    if last and last["landed_path"] and Path(last["landed_path"]).is_file():
        if last["etag"]:
            headers["If-None-Match"] = last["etag"]
        if last["last_modified"]:
            headers["If-Modified-Since"] = last["last_modified"]
    landing = root / "landing" / table.fetch_key
    landing.mkdir(parents=True, exist_ok=True)
    ingestion = Ingestion(
        source=table.source,
        raw_table=table.name,
        mode="live",
        url_or_path=url,
        retrieved_at=_now(),
        partition=partition,
    )
    handle, scratch_name = tempfile.mkstemp(prefix=".download-", dir=landing)
    os.close(handle)
    scratch = Path(scratch_name)
    try:
        with _client() as client:
            status, response_headers, sha, size, attempts = _download(client, table, url, headers, scratch, logger)
    except FetchError as err:
        scratch.unlink(missing_ok=True)
        ingestion.error = str(err)
        ingestion.attempts = max_attempts()
        append_log(root, ingestion)
        raise
    except BaseException:
        scratch.unlink(missing_ok=True)  # no partial copy is ever kept
        raise
    ingestion.http_status, ingestion.attempts = status, attempts
    ingestion.etag = response_headers.get("ETag") or (last["etag"] if status == 304 and last else None)
    ingestion.last_modified = response_headers.get("Last-Modified") or (
        last["last_modified"] if status == 304 and last else None
    )
    if status == 304 and not (last and last["landed_path"] and Path(last["landed_path"]).is_file()):
        scratch.unlink(missing_ok=True)
        ingestion.error = (
            f"[{table.source}] {table.name}: {url} answered 304 Not Modified, but no earlier vintage of "
            "this file is landed to reuse; hint: retry later, or download it by hand and use "
            f"HPW_{settings.env_key(table.fetch_key)}_PATH"
        )
        append_log(root, ingestion)
        raise FetchError(ingestion.error)
    if status == 304:
        assert last is not None  # a 304 with nothing landed to reuse was refused above
        scratch.unlink(missing_ok=True)
        path = Path(last["landed_path"])
        ingestion.sha256, ingestion.outcome = last["sha256"], "not_modified"
    else:
        known = seen.filter(seen["sha256"] == sha)
        path = landing / sha / _landed_name(table, url)
        if known.height and path.is_file():
            scratch.unlink(missing_ok=True)
            ingestion.outcome = "unchanged"
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():  # landed before under another raw table sharing this file key
                scratch.unlink(missing_ok=True)
            else:
                os.replace(scratch, path)
                path.chmod(0o444)  # immutable once landed
            ingestion.outcome = "new_vintage" if not known.height else "unchanged"
        ingestion.sha256 = sha
    first = seen.filter(seen["sha256"] == ingestion.sha256)
    label_date = _iso_date(ingestion.last_modified) or ingestion.retrieved_at[:10]
    ingestion.vintage = first["vintage"][-1] if first.height else f"live {label_date}, sha256 {ingestion.sha256[:12]}"
    ingestion.landed_path = str(path)
    source_file = SourceFile.inspect(path, ingestion.vintage, bundled=False)
    ingestion.bytes = source_file.bytes
    logger.info(f"[{table.source}] {table.name}: {url} -> HTTP {status}, {ingestion.outcome} ({ingestion.vintage})")
    return Acquired(source_file, ingestion)


def record(
    acquired: Acquired, root: Path, *, rows: int | None, outcome: str | None = None, error: str | None = None
) -> None:
    from pipelines import anomaly

    acquired.ingestion.rows = rows
    acquired.ingestion.accepted_change = anomaly.accepted_now(acquired.ingestion.raw_table)
    if outcome:
        acquired.ingestion.outcome = outcome
    if error:
        acquired.ingestion.error = error
    append_log(root, acquired.ingestion)


# --------------------------------------------------------------------------------------------------- probe


def probe(table: RawTable, root: Path) -> tuple[bool, str]:
    """Cheap upstream check for sensors: HEAD with the last validators. (changed?, reason). Never downloads."""
    import httpx

    url = live_url(table)
    if url is None:
        return False, f"{table.name}: no live address"
    seen = _previous(root, table)
    seen = seen.filter(seen["url_or_path"] == url)
    if not seen.height:
        return True, f"{table.name}: never retrieved from {url}"
    last = seen.row(0, named=True)
    headers = {"Accept": table.accept} if table.accept else {}
    if last["etag"]:
        headers["If-None-Match"] = last["etag"]
    if last["last_modified"]:
        headers["If-Modified-Since"] = last["last_modified"]
    try:
        with _client() as client:
            response = client.head(url, headers=headers)
    except httpx.HTTPError as err:
        return False, f"{table.name}: {url} not reachable ({type(err).__name__}); will check again"
    if response.status_code == 304:
        return False, f"{table.name}: not modified (304)"
    if response.status_code >= 400:
        return False, f"{table.name}: {url} answered HTTP {response.status_code}; will check again"
    etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    if etag is None and modified is None:
        return False, f"{table.name}: upstream gives no ETag/Last-Modified; the schedule refreshes it"
    if (etag and etag != last["etag"]) or (modified and modified != last["last_modified"]):
        return True, f"{table.name}: new version upstream (ETag {etag}, Last-Modified {modified})"
    return False, f"{table.name}: same ETag/Last-Modified as the landed vintage"
