"""A warm dbt process for one build: it imports dbt-core and parses the project while the build imports Dagster and
lands the raw tables, then runs the build's one `dbt build` in-process when dagster-dbt asks for it.

A fresh `dbt build` subprocess spends ~3 s before its first node (interpreter, dbt-core import, adapter registration,
partial-parse load) and ~1 s after its last. The worker pays the first part on the second core, during the raw phase.

- `start()` (pipelines/build.py) spawns `python -m pipelines.dbt_worker` with the environment dagster-dbt will give
  dbt (the build database, the target folder, project and profiles dirs) and names it in HPW_DBT_WORKER_SOCKET.
  `dbt parse` reads files only, never the database: the raw assets keep DuckDB's single-writer lock meanwhile.
- dagster-dbt's `dbt_executable` is the `hpw-dbt` client (`client()`, standard library only, starts in tens of ms).
  It hands the worker its argv, cwd, environment and stdin/stdout/stderr file descriptors over an abstract Unix
  socket, waits for the exit code and exits with it; dagster-dbt reads the same JSON event stream from the same
  pipe, and the same run_results.json lands in the target folder (and manifest.json, when the run failed). Without
  a worker, or when the worker is gone or declines (a request it did not parse for), the client `execv`s the real
  dbt: exactly the behaviour without it. HPW_DBT_WORKER=0 turns the worker off.
- dbt runs in the build area, the database named relative to it (`in_build_area`; the client and the worker alike):
  the profile's `path`, which dbt's parse state depends on, is then the same in every warehouse folder.
- The worker serves one request and exits. It exits by itself when its parent (the build) dies or its client
  disconnects mid-run, so it never outlives the build holding the database's lock.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import io
import json
import marshal
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

SOCKET_ENV = "HPW_DBT_WORKER_SOCKET"  # internal: set by the build for its dbt step
SWITCH_ENV = "HPW_DBT_WORKER"  # "0": no warm dbt process
BUILD_DB_ENV = "HPW_BUILD_DB"  # the profile's env_var (models/profiles.yml)
COMMANDS = ("build", "run", "test")
# Options that change nothing the parse produced: anything else (--vars, --target, --selector, ...) is declined.
OPTIONS = {
    "--select",
    "-s",
    "--exclude",
    "--exclude-resource-type",
    "--resource-type",
    "--resource-types",
    "--indirect-selection",
    "--fail-fast",
    "-x",
    "--full-refresh",
    "--log-format",
    "--quiet",
    "-q",
}
# dbt variables read per invocation, not by the parse (dagster-dbt sets the last one for check subsets).
INVOCATION_ONLY_ENV = {"DBT_LOG_FORMAT", "DBT_LOG_PATH", "DBT_SEND_ANONYMOUS_USAGE_STATS", "DBT_INDIRECT_SELECTION"}
LOG_NAME = "dbt_worker.log"
MARK = "mark "  # a timeline line of the worker's log: "mark <epoch seconds> <what>" (pipelines/timeline.py)
REQUEST_MAX_BYTES = 1 << 20
EXIT_EXCEPTION = 2  # dbt's exit code for an unhandled error
EXIT_WAIT_SECONDS = 30.0
BACKGROUND_NICENESS = 10


def real_dbt() -> str:
    return str(Path(sys.executable).parent / "dbt")


def client_executable() -> Path:
    return Path(sys.executable).parent / "hpw-dbt"


# ---------------------------------------------------------------------------------------------------------- client
def client() -> None:
    """`hpw-dbt ARGS`: `dbt ARGS` run by the build's warm worker when there is one, else by the real dbt."""
    cwd, environ = in_build_area(os.getcwd(), os.environ)
    os.chdir(cwd)
    os.environ.update(environ)
    name = os.environ.get(SOCKET_ENV)
    if name and sys.platform == "linux":
        code = _ask_worker(name)
        if code is not None:
            os._exit(code)
    dbt = real_dbt()
    os.execv(dbt, [dbt, *sys.argv[1:]])


def _ask_worker(name: str) -> int | None:
    """The exit code of the worker's run, or None when it did not run the request (fall back to the real dbt)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.connect("\0" + name)
        worker_pid, _uid = _peer(conn)
        request = {"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        if conn.recv(256) != b"accepted":  # declined, or gone before answering: nothing ran
            return None
    except OSError:
        return None
    # From here dbt runs in the worker: a cancel reaches it, and its exit code is this process's.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: os.kill(worker_pid, signum))
    try:
        reply = conn.recv(256)
    except OSError:
        reply = b""
    if not reply.startswith(b"exit "):
        print("hpw-dbt: the warm dbt process ended without an exit code", file=sys.stderr, flush=True)
        return EXIT_EXCEPTION
    # The worker closed the build database before answering; its end of the socket closes when it has exited.
    conn.settimeout(EXIT_WAIT_SECONDS)
    try:
        conn.recv(1)
    except OSError:
        pass
    return int(reply[5:])


def in_build_area(cwd: str, environ: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The working directory and environment dbt runs with: the build database's folder, and the database named
    relative to it. dbt reuses a parse only for an unchanged profile, whose `path` is the build database: with an
    absolute path every warehouse folder (a user's second one, a fresh clone's first build, each test's folder)
    would parse the project from scratch. dbt finds the project and profile through DBT_PROJECT_DIR and
    DBT_PROFILES_DIR, and writes into DBT_TARGET_PATH, all absolute."""
    database = environ.get(BUILD_DB_ENV, "")
    folder = os.path.dirname(database)
    if not os.path.isabs(database) or not os.path.isdir(folder):  # not a build's (or no such folder): as given
        return cwd, dict(environ)
    return folder, {**environ, BUILD_DB_ENV: os.path.basename(database)}


def _peer(conn: socket.socket) -> tuple[int, int]:
    """The process id and user id at the other end of a Unix socket (told by the kernel)."""
    pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return pid, uid


# ---------------------------------------------------------------------------------------------------------- build
class Worker:
    """The build's handle on its worker process: spawned (it imports dbt-core), then told to parse (`begin`)."""

    def __init__(self, process: subprocess.Popen, name: str, early_log: IO[bytes], environ: dict[str, str]):
        self.process, self.name, self.early_log, self.environ = process, name, early_log, environ
        self.log: Path | None = None  # the worker's log in the build area, once it was told to parse
        self.unasked = False  # stopped while still waiting: dbt never asked for it

    def begin(self, build_database: Path, target: Path, project_dir: Path, background: bool = True) -> None:
        """Parse now, into `target` (emptied and seeded by the build), with the environment dbt will get.
        `background`: keep importing and parsing at a lower priority than the build (see `serve`); a refresh, whose
        build reaches dbt about when the worker is ready, asks for the build's own priority (allowed where the
        system lets a process raise a priority again; elsewhere the worker stays niced)."""
        environ = parse_environment(build_database, target, project_dir)
        target.mkdir(parents=True, exist_ok=True)
        self.log = target.parent / LOG_NAME
        if not background:
            try:  # its main thread (the one importing); the worker's own threads start later, from it
                os.setpriority(os.PRIO_PROCESS, self.process.pid, os.getpriority(os.PRIO_PROCESS, 0))
            except OSError:
                pass
        order = json.dumps({"env": environ, "log": str(self.log), "background": background}).encode() + b"\n"
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(order)
            self.process.stdin.close()
        except (OSError, ValueError):  # gone already: the dbt step falls back to the real dbt, outcome() says why
            pass

    def stop(self) -> None:
        """Ends the worker if it is still waiting (the build failed before dbt, or dbt ran without it)."""
        if self.process.poll() is None:
            self.process.kill()
            self.unasked = True
        self.process.wait()
        self.early_log.close()

    def _said(self) -> list[str]:
        if self.log is not None and self.log.is_file():
            return self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        try:  # it never got to its log (it was not told to parse, or died before)
            return os.pread(self.early_log.fileno(), REQUEST_MAX_BYTES, 0).decode(errors="replace").splitlines()
        except (OSError, ValueError):
            return []

    def marks(self) -> list[tuple[float, str]]:
        """The worker's timeline marks (epoch seconds, what), from its log."""
        found = []
        for line in self._said():
            if line.startswith(MARK):
                at, _, what = line[len(MARK) :].partition(" ")
                try:
                    found.append((float(at), f"dbt worker: {what}"))
                except ValueError:
                    continue
        return found

    def outcome(self) -> str:
        """One line for the build log: whether the warm dbt process ran dbt, or why not."""
        self.stop()
        said = self._said()
        lines = [line for line in said if line.startswith(("served", "declined", "parse failed"))]
        if lines and lines[-1].startswith("served"):
            parsed = next((line for line in said if line.startswith("parsed")), "")
            return f"dbt: the warm dbt process ran it ({lines[-1]}; {parsed})"
        if lines:
            why = lines[-1]
        elif self.unasked:
            why = "dbt did not ask for it (dbt did not run)"
        else:
            why = f"it ended before dbt asked (exit code {self.process.returncode}); dbt ran as a fresh process"
        return f"dbt: the warm dbt process was not used: {why}"


def parse_environment(build_database: Path, target: Path, project_dir: Path) -> dict[str, str]:
    """The variables dagster-dbt gives its dbt subprocess (DbtCliResource.cli) that a parse reads."""
    return {
        **os.environ,
        BUILD_DB_ENV: str(build_database),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target),
        "DBT_PROFILES_DIR": str(project_dir),
        "DBT_PROJECT_DIR": str(project_dir),
        "DBT_LOG_FORMAT": "json",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }


def disabled_reason() -> str | None:
    if os.environ.get(SWITCH_ENV, "1").strip() == "0":
        return f"{SWITCH_ENV}=0"
    if sys.platform != "linux":
        return "not on Linux (abstract Unix sockets)"
    if not client_executable().is_file():
        return "the hpw-dbt client is not installed (make install)"
    return None


def spawn(build_database: Path, target: Path, project_dir: Path) -> Worker:
    """Spawns the worker (same process group: killing the build kills it). It imports dbt-core and waits for
    `Worker.begin`; nothing of the build area is touched before that (the build may still empty it)."""
    name = f"hpw-dbt-{os.getpid()}-{os.urandom(12).hex()}"
    environ = parse_environment(build_database, target, project_dir)
    # Its stderr until it is told where its log goes (an unlinked file: nothing is left behind).
    early_log = tempfile.TemporaryFile()
    # Bound here, listened on by the worker: a request that comes before the worker is up waits in the backlog,
    # and one that comes after it died is refused at once (this process keeps no copy).
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with listener:
        listener.bind("\0" + name)
        listener.listen(1)
        process = subprocess.Popen(
            # the name only shows whose worker it is (ps): hpw-dbt-<build pid>-<random>
            [sys.executable, "-m", "pipelines.dbt_worker", str(listener.fileno()), str(os.getpid()), name],
            cwd=project_dir,
            env={**environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=early_log,
            pass_fds=(listener.fileno(),),
        )
    return Worker(process, name, early_log, environ)


def start(build_database: Path, target: Path, project_dir: Path, background: bool = True) -> Worker:
    """Spawns the worker and tells it to parse into `target` at once."""
    worker = spawn(build_database, target, project_dir)
    worker.begin(build_database, target, project_dir, background)
    return worker


_PRESTARTED: dict[tuple[str, str], Worker] = {}


def prestart(build_database: Path, target: Path, project_dir: Path) -> None:
    """`hpw build` spawns its worker first thing, so dbt-core's import (~1 s of CPU) runs on the second core while
    the build imports its own modules and plans; `adopt` hands it to the build, `discard_prestarted` ends it."""
    key = (str(build_database), str(project_dir))
    if disabled_reason() is None and key not in _PRESTARTED:
        _PRESTARTED[key] = spawn(build_database, target, project_dir)


def adopt(build_database: Path, target: Path, project_dir: Path, background: bool = True) -> Worker:
    """The worker spawned ahead for this build database, if its environment is still the one dbt will get, told
    to parse now; else a new one. Any other spawned ahead is ended."""
    worker = _PRESTARTED.pop((str(build_database), str(project_dir)), None)
    discard_prestarted()
    if worker is not None and worker.process.poll() is None:
        if _read_by_imports(worker.environ) == _read_by_imports(parse_environment(build_database, target, project_dir)):
            worker.begin(build_database, target, project_dir, background)
            return worker
    if worker is not None:
        worker.stop()
    return start(build_database, target, project_dir, background)


def _read_by_imports(environ: dict[str, str]) -> dict[str, str]:
    """What of an environment the worker's imports (before `begin`) could read: the interpreter's and dbt's own
    variables. The worker takes the whole environment of `begin` before it parses; other variables may differ
    (an import in the build sets one: polars its allocator's)."""
    return {k: v for k, v in environ.items() if k.startswith(("PYTHON", "DBT_", "DO_NOT_TRACK", BUILD_DB_ENV))}


def discard_prestarted() -> None:
    while _PRESTARTED:
        _PRESTARTED.popitem()[1].stop()


# ---------------------------------------------------------------------------------------------------------- worker
def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _mark(what: str, fd: int = 2) -> None:
    os.write(fd, f"{MARK}{time.time():.3f} {what} (cpu {time.process_time():.2f} s)\n".encode())


class _KeptBetweenBuilds:
    """A cache of the worker's, kept between builds under models/target/<FOLDER>/ in a file named by the versions of
    the packages that make what it holds (and Python's): another version of them never reads it."""

    FOLDER: str
    PACKAGES: tuple[str, ...]
    SUFFIX: str

    def __init__(self, project_dir: Path):
        from importlib.metadata import version

        versions = "-".join(f"{package}-{version(package)}" for package in self.PACKAGES)
        name = f"{hashlib.sha256(versions.encode()).hexdigest()[:16]}-py{sys.version_info[0]}{sys.version_info[1]}"
        self.path = project_dir / "target" / self.FOLDER / f"{name}{self.SUFFIX}"
        self.added = 0  # entries made anew by this process: the file is written only when there are some

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except OSError:
            return None

    def _write(self, data: bytes) -> None:
        """Atomically (a worker reading it never sees half a file); a cache: failing costs the next build."""
        scratch = self.path.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch.write_bytes(data)
            os.replace(scratch, self.path)
        except OSError:
            scratch.unlink(missing_ok=True)


class JinjaCodeCache(_KeptBetweenBuilds):
    """dbt compiles each Jinja macro it calls (its materialisations, adapter macros, tests) once per process:
    parse, generate and compile to a Python code object, a good part of a refresh's dbt run before and in its first
    nodes. The code objects depend only on the source and the environment dbt builds them in (class, extensions;
    the same for every macro), so they are kept between builds, marshalled (as Jinja's own bytecode cache does)."""

    FOLDER = "jinja_code"
    PACKAGES = ("dbt-common", "jinja2")
    SUFFIX = ".marshal"
    MAX_ENTRIES = 2000  # a build uses ~100; past this (macros edited many times) only this run's are kept

    def __init__(self, project_dir: Path):
        super().__init__(project_dir)
        self.codes: dict[str, object] = {}
        self.used: set[str] = set()
        try:
            loaded = marshal.loads(self._read() or b"")
            if isinstance(loaded, dict):
                self.codes = loaded
        except (ValueError, EOFError, TypeError):
            pass

    def install(self) -> None:
        from dbt_common.clients import jinja as dbt_jinja

        environment = dbt_jinja.MacroFuzzEnvironment
        original = environment.compile
        cache = self

        def compile(env, source, name=None, filename=None, raw=False, defer_init=False):  # noqa: A001, ANN001
            if (
                raw
                or defer_init
                or name is not None
                or filename is not None
                or type(env) is not environment
                or not isinstance(source, str)
                or dbt_jinja.MACRO_DEBUGGING
            ):
                return original(env, source, name, filename, raw, defer_init)
            key = hashlib.sha256(f"{sorted(env.extensions)}\n{source}".encode()).hexdigest()
            code = cache.codes.get(key)
            cache.used.add(key)
            if code is None:
                code = original(env, source)
                cache.codes[key] = code
                cache.added += 1
            return code

        environment.compile = compile  # type: ignore[method-assign]

    def save(self) -> None:
        if not self.added:
            return
        codes = self.codes
        if len(codes) > self.MAX_ENTRIES:
            codes = {key: code for key, code in codes.items() if key in self.used}
        try:
            data = marshal.dumps(codes)
        except ValueError:
            return
        self._write(data)


class JsonSchemaCache(_KeptBetweenBuilds):
    """dbt validates its project, profile and flag files against JSON schemas that mashumaro builds from dbt's
    dataclasses on first use in each process (`dbtClassMixin.json_schema`, a good part of a parse's CPU). A schema
    depends only on the class definition, so the built schemas are kept between builds as JSON. Only module-level
    classes are cached (a class made at run time could reuse a name with other fields)."""

    FOLDER = "json_schema"
    PACKAGES = ("dbt-core", "dbt-common", "dbt-adapters", "dbt-duckdb", "dbt-semantic-interfaces", "mashumaro")
    SUFFIX = ".json"

    def __init__(self, project_dir: Path):
        super().__init__(project_dir)
        self.schemas: dict[str, dict] = {}
        try:
            loaded = json.loads(self._read() or b"{}")
            if isinstance(loaded, dict):
                self.schemas = loaded
        except ValueError:
            pass

    @staticmethod
    def key(cls: type) -> str | None:
        """`module:qualname` of a class importable under that name (None for a class made at run time)."""
        module = sys.modules.get(cls.__module__)
        found: object = module
        for part in cls.__qualname__.split("."):
            found = getattr(found, part, None)
        return f"{cls.__module__}:{cls.__qualname__}" if found is cls else None

    def install(self) -> None:
        from dbt_common.dataclass_schema import dbtClassMixin

        original = dbtClassMixin.json_schema.__func__  # type: ignore[attr-defined]  # the lru_cached function
        cache = self

        @functools.lru_cache
        def json_schema(cls):  # noqa: ANN001, ANN202 - the signature of the method it replaces
            key = cache.key(cls)
            schema = cache.schemas.get(key) if key is not None else None
            if schema is None:
                schema = original(cls)
                if key is not None:
                    cache.schemas[key] = schema
                    cache.added += 1
            return schema

        dbtClassMixin.json_schema = classmethod(json_schema)  # type: ignore[method-assign, assignment, arg-type]

    def save(self) -> None:
        if not self.added:
            return
        try:
            data = json.dumps(self.schemas).encode()
        except (ValueError, TypeError):
            return
        self._write(data)


def _quick_flag_source() -> None:
    """dbt-common names the module that registers a behaviour flag (for its "behaviour change" message) by walking
    `inspect.stack()`, which reads the source lines of every frame, each time dbt registers the adapter
    (once per parse and once per run). The same name from the frames' module globals."""
    from dbt_common import behavior_flags

    def default_source() -> str:
        frame = sys._getframe(1)
        while frame is not None:
            name = frame.f_globals.get("__name__")
            if name and name != behavior_flags.__name__:
                return name
            frame = frame.f_back  # type: ignore[assignment]
        return "Unknown"

    behavior_flags.BehaviorFlagRendered._default_source = staticmethod(default_source)  # type: ignore[method-assign]


def _adopt_log(path: str) -> None:
    """stderr becomes the log in the build area, starting with what was said before (the spawn's early log)."""
    early = b""
    try:
        while chunk := os.pread(2, 1 << 16, len(early)):
            early += chunk
    except OSError:  # not a regular file (a test's pipe): nothing to carry over
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, early)
    os.dup2(fd, 2)
    os.close(fd)


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.25)
    os._exit(EXIT_EXCEPTION)


def _exit_when_client_leaves(conn: socket.socket, finished: threading.Event) -> None:
    """The client waits on the connection for the exit code; EOF or an error before dbt finished means it is gone
    (killed): dbt stops with it, closing the build database."""
    try:
        conn.recv(1)
    except OSError:
        pass
    if not finished.is_set():
        os._exit(EXIT_EXCEPTION)


def _close_database(database: str) -> str:
    """Closes dbt-duckdb's database, which it keeps open for the life of the process (a CLI dbt closes it by
    exiting): the build's next step opens it for writing as soon as the client returns. Returns the files of the
    database still open here ('' when none)."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        with DuckDBConnectionManager._LOCK:
            if DuckDBConnectionManager._ENV is not None:
                DuckDBConnectionManager._ENV.close()
                DuckDBConnectionManager._ENV = None
    except Exception as err:  # noqa: BLE001 - whatever fails, the check below says so and exiting closes it
        _say(f"closing dbt-duckdb's database: {err}")
    still = _open_files(database)
    if still:  # a connection left in a reference cycle keeps the file open until collected
        gc.collect()
        still = _open_files(database)
    return ", ".join(sorted(still))


def _open_files(prefix: str) -> set[str]:
    """The files under `prefix` (the database and its WAL) this process has open."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if prefix and path.startswith(prefix):
            found.add(path)
    return found


def decline_reason(request: dict, parsed_env: dict[str, str], watched: set[str], parsed_cwd: str) -> str | None:
    """Why the parse does not fit the request (it would differ from the parse dbt would do), or None."""
    argv = request.get("argv") or []
    if not argv or argv[0] not in COMMANDS:
        return f"command {' '.join(argv[:1]) or '(none)'!r} is not one of {', '.join(COMMANDS)}"
    unknown = [a for a in argv[1:] if a.startswith("-") and a.split("=", 1)[0] not in OPTIONS]
    if unknown:
        return f"option {unknown[0].split('=', 1)[0]} may change what dbt parses"
    if os.path.realpath(request.get("cwd", "")) != os.path.realpath(parsed_cwd):
        return "another working folder"
    env = request.get("env") or {}
    names = {k for k in {*env, *parsed_env} if k.startswith("DBT_") and k not in INVOCATION_ONLY_ENV} | watched
    differ = sorted(k for k in names if env.get(k) != parsed_env.get(k))
    if differ:
        return f"{differ[0]} differs from the parse's"
    return None


def serve(listening_fd: int, parent: int) -> None:
    # the parent's pid as the build saw it: if it died before this line, getppid() is already another process's
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    listener = socket.socket(fileno=listening_fd)
    # Import and parse at a lower priority: on an idle second core they run at full speed, and on a busy machine
    # (or when the OS shares CPU per session, as Linux's autogroup does) they yield to the build's own start-up
    # instead of slowing it. The priority is restored to run dbt, which is then the build's critical path, and to
    # parse for a refresh, whose build reaches dbt about when the parse is done (`Worker.begin`).
    priority = os.getpriority(os.PRIO_PROCESS, 0)
    os.setpriority(os.PRIO_PROCESS, 0, min(priority + BACKGROUND_NICENESS, 19))
    _mark("started")
    # dbt-core's import and the parse leave ~a million objects that live until this process exits: collected
    # with the garbage collector off, then frozen, so the collections during the run (and the one that closes
    # the database) scan only what the run allocates (~0.4 s of a refresh's worker CPU).
    gc.disable()
    project_dir = os.getcwd()

    # What the first invocation would import; it opens no connection.
    import dbt.adapters.duckdb  # noqa: F401
    import dbt.task.build  # noqa: F401
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest

    jinja_code = JinjaCodeCache(Path(project_dir))
    jinja_code.install()
    schemas = JsonSchemaCache(Path(project_dir))
    schemas.install()
    _quick_flag_source()
    _mark("dbt-core imported")
    # The build says when its build area is ready, and the environment dbt will get (Worker.begin); no order
    # (the build ended first, or needs no dbt): nothing to do.
    order_line = sys.stdin.buffer.readline()
    if not order_line:
        os._exit(0)
    order = json.loads(order_line)
    _adopt_log(order["log"])
    if not order.get("background", True):  # a refresh: the parse is on its path into dbt (`Worker.begin`)
        try:
            os.setpriority(os.PRIO_PROCESS, 0, priority)
        except PermissionError:
            pass
    parsed_cwd, parsed_env = in_build_area(project_dir, order["env"])
    os.chdir(parsed_cwd)
    os.environ.clear()
    os.environ.update(parsed_env)
    started = time.perf_counter()
    _mark("told to parse")
    # No manifest.json from the parse: the build's run writes it (with what it compiled), and nothing reads the
    # target folder in between. The partial-parse state is written either way.
    sys.argv = ["dbt", "parse", "--quiet", "--no-write-json"]  # dbt logs its command line from sys.argv
    parsed = dbtRunner().invoke(sys.argv[1:])
    manifest = parsed.result if parsed.success and isinstance(parsed.result, Manifest) else None
    parse_seconds = time.perf_counter() - started
    _mark("parsed")
    gc.freeze()
    gc.enable()
    if manifest is None:
        _say(f"parse failed: {parsed.exception or 'see dbt.log'}")
    else:
        _say(f"parsed in {parse_seconds:.2f} s")
    watched = {BUILD_DB_ENV, *getattr(manifest, "env_vars", {})}

    while True:
        conn, _ = listener.accept()
        if _peer(conn)[1] == os.getuid():
            break
        conn.close()  # another user's process: not a request
    listener.close()
    message, fds, _flags, _addr = socket.recv_fds(conn, REQUEST_MAX_BYTES, 3)
    request = json.loads(message)
    reason = decline_reason(request, parsed_env, watched, parsed_cwd) if manifest is not None else "the parse failed"
    if reason is not None or len(fds) != 3:
        conn.send(b"declined")
        _say(f"declined: {reason or 'no stdin/stdout/stderr received'}")
        return
    conn.send(b"accepted")
    try:
        os.setpriority(os.PRIO_PROCESS, 0, priority)
    except PermissionError:  # only a privileged process may raise its priority again: dbt runs niced
        pass
    waited = time.perf_counter() - started
    _mark("request accepted")
    finished = threading.Event()
    threading.Thread(target=_exit_when_client_leaves, args=(conn, finished), daemon=True).start()

    log = os.dup(2)  # this worker's own log, before stderr becomes the client's
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    for number, fd in enumerate(fds):
        os.dup2(fd, number)
        os.close(fd)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # dagster-dbt streams the events as dbt logs them
    sys.argv = ["dbt", *request["argv"]]
    ran = time.perf_counter()
    # dbt rewrites manifest.json (~1.5 MB of JSON) after the run's last node; only a failed build's explanation
    # reads it (pipelines/build.py explain_dbt_failure), so it is written below when the run did not succeed.
    import dbt.task.runnable
    from dbt.parser.manifest import write_manifest

    dbt.task.runnable.write_manifest = lambda *_args, **_kwargs: None
    result = dbtRunner(manifest=manifest).invoke(request["argv"])
    # dbt's own exit codes (dbt.cli.main): 0 ok, 1 a model or test failed, 2 an exception (dbt logged it)
    code = 0 if result.success else 1 if result.exception is None else EXIT_EXCEPTION
    if code != 0 and manifest is not None and os.environ.get("DBT_TARGET_PATH"):
        try:
            write_manifest(manifest, os.environ["DBT_TARGET_PATH"])
        except Exception as err:  # noqa: BLE001 - the explanation is then missing, the run's outcome is not
            _say(f"writing manifest.json after the failed run: {err}")
    _mark("dbt finished", log)
    sys.stdout.flush()
    sys.stderr.flush()
    database = request["env"].get(BUILD_DB_ENV, "")
    still_open = _close_database(os.path.abspath(database) if database else "")
    _mark("database closed", log)
    jinja_code.save()
    schemas.save()
    os.write(
        log,
        f"served {request['argv'][0]}: exit {code}, request after {waited:.2f} s, "
        f"dbt ran {time.perf_counter() - ran:.2f} s{'; still open: ' + still_open if still_open else ''}\n".encode(),
    )
    finished.set()
    conn.send(f"exit {code}".encode())
    # os._exit: no interpreter teardown to wait for; dbt's files are written and its connections closed.
    os._exit(code)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
