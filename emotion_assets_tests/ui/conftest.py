"""`make ui` in a sandbox: Dagster's webserver and daemon on 127.0.0.1, driven like the UI does.

One instance per test session (starting it costs ~30 s): a temporary DAGSTER_HOME with the
shipped deploy/dagster.yaml, a temporary data dir, the tiny model, the repo's workspace.yaml.
Tests use different days so they don't see each other's runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.servers import free_port
from emotion_assets.storage import Storage
from emotion_assets.warehouse.tables import read_days
from emotion_assets_tests.conftest import REPO, dagster_env

BIN = Path(sys.executable).parent
LOCATION = "emotion_assets.definitions"  # the code location's name (python_module entry)
REPOSITORY = "__repository__"
ASSET_JOB = "__ASSET_JOB"  # the implicit job behind the UI's Materialize and backfills
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


@dataclass
class DagsterUI:
    url: str
    home: Path
    data_dir: Path
    env: dict[str, str]
    log: Path

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def asset_keys(self) -> list[dict]:
        data = self.graphql("{ assetNodes { assetKey { path } } }")
        return [{"path": node["assetKey"]["path"]} for node in data["assetNodes"]]

    def asset_checks(self) -> list[dict]:
        """Every check of every asset, as the UI's Materialize button selects them."""
        data = self.graphql(
            """{ assetNodes { assetKey { path }
                 assetChecksOrError { ... on AssetChecks { checks { name } } } } }"""
        )
        return [
            {"assetKey": {"path": node["assetKey"]["path"]}, "name": check["name"]}
            for node in data["assetNodes"]
            for check in node["assetChecksOrError"]["checks"]
        ]

    def run(self, run_id: str) -> dict:
        data = self.graphql(
            """query($id: ID!) { runOrError(runId: $id) { __typename
                 ... on Run { runId status startTime endTime creationTime
                              tags { key value } } } }""",
            {"id": run_id},
        )
        return data["runOrError"]

    def wait_for_run(self, run_id: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run.get("status") in TERMINAL:
                return run
            time.sleep(1)
        raise AssertionError(f"run {run_id} not finished after {timeout:.0f} s: {self.tail()}")

    def check_evaluations(self, run_id: str) -> list[dict]:
        """Every asset-check evaluation of a run, as the run's page lists them."""
        query = """query($id: ID!, $after: String) {
          logsForRun(runId: $id, afterCursor: $after, limit: 1000) { __typename
            ... on EventConnection { cursor hasMore events { __typename
              ... on AssetCheckEvaluationEvent { evaluation {
                  checkName partition success assetKey { path }
                  metadataEntries { label ... on IntMetadataEntry { intValue }
                                    ... on TextMetadataEntry { text } } } } } } } }"""
        found, cursor = [], None
        while True:
            conn = self.graphql(query, {"id": run_id, "after": cursor})["logsForRun"]
            found += [e["evaluation"] for e in conn["events"] if "evaluation" in e]
            if not conn["hasMore"]:
                return found
            cursor = conn["cursor"]

    def tail(self, n: int = 40) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])


def copy_day(data_dir: Path, day: str, *files: Path) -> None:
    folder = data_dir / "raw" / day
    folder.mkdir(parents=True, exist_ok=True)
    for src in files:
        shutil.copyfile(src, folder / src.name)


def day_rows(data_dir: Path, table: str, day: str) -> int:
    rows = read_days(Storage(str(data_dir), local_root=data_dir), table, [day])
    assert rows is not None, f"{table} has no rows for {day} under {data_dir}"
    return rows.height


def assert_checks_name_their_day(ui: DagsterUI, run_id: str, day: str) -> None:
    evaluations = ui.check_evaluations(run_id)
    assert len(evaluations) > 20, f"only {len(evaluations)} check results in run {run_id}"
    failed = [e["checkName"] for e in evaluations if not e["success"]]
    assert failed == [], f"checks failed on {day}: {failed}"
    assert {e["partition"] for e in evaluations} == {day}  # the UI's "Partition" column
    for e in evaluations:
        table = e["assetKey"]["path"][-1]
        meta = {m["label"]: m.get("intValue", m.get("text")) for m in e["metadataEntries"]}
        # Each check read its day, and only its day: the same clip sits in other day folders.
        assert meta["table_rows"] == day_rows(ui.data_dir, table, day), (e["checkName"], day)


def start_dagster_dev(
    root: Path, home: Path, data_dir: Path, env: dict[str, str]
) -> tuple[subprocess.Popen, DagsterUI]:
    """`make ui`'s command (webserver + daemon) on a free 127.0.0.1 port, its log in `root`;
    the caller waits for it to load (`_wait_until_loaded`) and stops it."""
    port = free_port()
    log = root / "dagster_dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)]
            + ["-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, DagsterUI(f"http://127.0.0.1:{port}", home, data_dir, env, log)


def _wait_until_loaded(ui: DagsterUI, proc: subprocess.Popen, timeout: float) -> None:
    """Until the webserver answers and the code location has loaded without error."""
    deadline = time.monotonic() + timeout
    query = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
                 locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"`dagster dev` exited with {proc.returncode}:\n{ui.tail()}")
        try:
            entries = ui.graphql(query, timeout=10)["workspaceOrError"]["locationEntries"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
            continue
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            errors = [e for e in entries if e["locationOrLoadError"]["__typename"] != "Repository"]
            errors = [e for e in errors if e["locationOrLoadError"]["__typename"] == "PythonError"]
            assert not errors, f"code location failed to load: {errors}"
            return
        time.sleep(1)
    raise AssertionError(f"the UI did not come up within {timeout:.0f} s:\n{ui.tail()}")


@pytest.fixture(scope="package")  # stopped once the UI tests are done
def dagster_ui(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path
) -> Iterator[DagsterUI]:
    """`make ui`'s command (`dagster dev`: webserver + daemon) on a free 127.0.0.1 port."""
    root = tmp_path_factory.mktemp("ui")
    home, data_dir = root / "dagster_home", root / "data"
    home.mkdir()
    (data_dir / "raw").mkdir(parents=True)
    shutil.copyfile(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = dagster_env(home, data_dir, tiny_model_dir)
    # As `make setup` does: create the SQLite storage before webserver and daemon race to.
    subprocess.run(
        [str(BIN / "dagster"), "instance", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    proc, ui = start_dagster_dev(root, home, data_dir, env)
    try:
        _wait_until_loaded(ui, proc, timeout=180)
        yield ui
    finally:
        # `dagster dev` stops its webserver, daemon and code server on SIGINT/SIGTERM; its
        # process group is ours (start_new_session), so nothing it started outlives the tests.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
