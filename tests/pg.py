"""A throw-away PostgreSQL cluster for the tests, and a fresh database for each test.

The cluster is started on first use (so a run that needs no PostgreSQL starts none) from
Debian's server binaries (``/usr/lib/postgresql/<version>/bin``): ``initdb`` into a temporary
directory, as the ``postgres`` OS user when the tests run as root (the server refuses to run
as root), listening only on a Unix socket inside that directory, never on TCP. It is stopped
and deleted when the session ends. Each test gets its own database (``CREATE DATABASE ...
TEMPLATE template0``), dropped after the test.

``CVID_TEST_POSTGRES_URL`` names an existing server to use instead (a role that may create
databases and roles, and a maintenance database in the URL, e.g.
``postgresql://postgres@/postgres?host=/var/run/postgresql``).

Without PostgreSQL the tests that need it skip, except when ``CI`` is set (CI runs them all) or
``CVID_REQUIRE_POSTGRES=1``: then a missing server is a failure.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest

#: The superuser of the throw-away cluster (``initdb -U``), also the owner of every test store.
SUPERUSER = "postgres"


def _required() -> bool:
    ci = os.environ.get("CI", "").strip().lower()
    return ci not in ("", "0", "false", "no") or os.environ.get("CVID_REQUIRE_POSTGRES") == "1"


def _unavailable(reason: str) -> NoReturn:
    if _required():
        pytest.fail(f"{reason}; CI or CVID_REQUIRE_POSTGRES=1 requires the PostgreSQL tests to run")
    pytest.skip(reason)


def url_with(url: str, dbname: str | None = None, user: str | None = None) -> str:
    """``url`` with its database and, if given, its user (without a password) replaced."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        netloc = quote(user, safe="") + "@" + netloc.rpartition("@")[2]
    path = parts.path if dbname is None else "/" + quote(dbname, safe="")
    return urlunsplit(parts._replace(netloc=netloc, path=path))


class Cluster:
    """A PostgreSQL server reached at ``admin_url`` (a superuser on a maintenance database)."""

    def __init__(self, admin_url: str, datadir: Path | None = None, bindir: Path | None = None):
        self.admin_url = admin_url
        self._datadir = datadir
        self._bindir = bindir
        self._owner_pid = os.getpid()

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection to the maintenance database."""
        return psycopg.connect(self.admin_url, autocommit=True)

    def new_database(self) -> str:
        """Create an empty database and return its URL (as the superuser)."""
        name = "cvid_test_" + uuid.uuid4().hex[:12]
        with self.admin() as db:
            # template0: nothing anyone added to template1 leaks into a test's store.
            db.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return url_with(self.admin_url, name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url``, ending any session still connected to it."""
        name = urlsplit(url).path.lstrip("/")
        with self.admin() as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def ensure_role(self, role: str) -> None:
        """Create the login role ``role`` (no privileges on anything) unless it exists."""
        with self.admin() as db:
            if not db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchall():
                db.execute(f'CREATE ROLE "{role}" LOGIN')

    def stop(self) -> None:
        """Stop the server and delete its files (a server given by URL is left alone)."""
        if self._datadir is None or os.getpid() != self._owner_pid:
            return
        assert self._bindir is not None
        pg_ctl = [str(self._bindir / "pg_ctl"), "-D", str(self._datadir)]
        _run_as_server_user([*pg_ctl, "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(self._datadir.parent, ignore_errors=True)
        self._datadir = None


def _find_bindir() -> Path | None:
    """The newest Debian PostgreSQL server binaries, if installed."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [b for b in found if (b / "pg_ctl").exists() and (b / "postgres").exists()]
    if not found:
        return None

    def version(b: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in b.parent.name.split(".") if x.isdigit())

    return max(found, key=version)


def _run_as_server_user(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    # The server refuses to run as root; as anyone else it runs as that user.
    prefix = ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []
    result = subprocess.run(prefix + cmd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result


def _start_cluster() -> Cluster:
    bindir = _find_bindir()
    if bindir is None:
        _unavailable(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin; "
            "Debian package postgresql)"
        )
    base = Path(tempfile.mkdtemp(prefix="cvid-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(SUPERUSER)
        except KeyError:
            pytest.fail(f"PostgreSQL is installed but there is no {SUPERUSER!r} OS user to run it")
        os.chown(base, user.pw_uid, user.pw_gid)
    datadir = base / "data"
    try:
        # --no-sync and fsync=off: a throw-away cluster need not survive a power cut.
        initdb = [str(bindir / "initdb"), "-D", str(datadir), "-U", SUPERUSER, "-A", "trust"]
        _run_as_server_user([*initdb, "-E", "UTF8", "--locale=C", "--no-sync"])
        with (datadir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# cvid tests: a Unix socket in the cluster's own directory, no TCP at all\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{base}'\n"
                "fsync = off\nfull_page_writes = off\nmax_connections = 200\n"
            )
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(base / "server.log")]
        _run_as_server_user([*pg_ctl, "-w", "-t", "60", "start"])
    except (RuntimeError, OSError) as exc:
        log = base / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start a throw-away PostgreSQL cluster: {exc}\n{tail}")
    admin_url = f"postgresql://{SUPERUSER}@/postgres?host={quote(str(base), safe='/')}"
    return Cluster(admin_url, datadir, bindir)


_lock = threading.Lock()
_cluster: Cluster | None = None
_failed: str | None = None


def cluster() -> Cluster:
    """The session's PostgreSQL, started on first use; skips (fails in CI) if there is none."""
    global _cluster, _failed
    with _lock:
        if _failed is not None:
            pytest.fail(_failed)  # once is enough to try starting a broken installation
        if _cluster is None:
            override = os.environ.get("CVID_TEST_POSTGRES_URL")
            try:
                _cluster = Cluster(override) if override else _start_cluster()
            except pytest.fail.Exception as exc:
                _failed = str(exc)
                raise
            atexit.register(_cluster.stop)  # in case the session fixture never ran
        return _cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """The throw-away cluster (or ``CVID_TEST_POSTGRES_URL``'s server), stopped at the end."""
    c = cluster()
    yield c
    c.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """The URL of a new, empty database, owned by the superuser; dropped after the test."""
    url = postgres_cluster.new_database()
    yield url
    with contextlib.suppress(psycopg.Error):
        postgres_cluster.drop_database(url)
