"""Incremental days (issue 27, item 3): a recording whose audio, segments and model settings are
unchanged is not decoded nor scored again. A day of 20 recordings, then a 21st dropped in and the day run
with `make run`'s command (`dagster job execute`), then one deleted: each run scores exactly what
changed (metadata `tracks_scored` / `tracks_kept`), and the tables equal a from-scratch run.

The model step is split into work units of at most EMOTION_UNIT_AUDIO_HOURS (here ~6 s, so the
day is several units, one step each, in-process).
"""

from __future__ import annotations

import subprocess

import numpy as np
import polars as pl
import pytest
import soundfile as sf
from dagster import AssetKey, DagsterInstance
from dagster._core.instance.ref import InstanceRef

from emotion_assets.defs.in_process import run_day
from emotion_assets.engine.units import scored_key
from emotion_assets.storage import Storage
from emotion_assets_tests.clips import distinct_clips
from emotion_assets_tests.faults.helpers import REPO, instance_home, materialize_cmd, pipeline_env
from emotion_assets_tests.pipeline.warehouse import warehouse_table

pytestmark = pytest.mark.slow  # five runs of a 20-recording day: ~3 min

DAY = "2024-08-05"
N = 20
UNIT_HOURS = 6 / 3600  # three 2 s recordings a unit
TABLES = (
    "normalized_audio",
    "speech_segments",
    "frame_emotion_scores",
    "emotion_embeddings",
    "utterance_emotion_scores",
    "recording_summary",
)
KEYS = ["recording_id", "track"]


def _meta(instance: DagsterInstance) -> dict:
    """The latest metadata of the model step's table, with the ingest's and the reports' unit
    counts (`ingest_units`, `report_units`)."""

    def latest(table: str) -> dict:
        event = instance.get_latest_materialization_event(AssetKey(table))
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}

    ingest, reports = latest("raw_recordings"), latest("emotion_reports")
    return {
        **latest("frame_emotion_scores"),
        "recordings_decoded": ingest["recordings_decoded"],
        "recordings_kept": ingest["recordings_kept"],
        "ingest_units": ingest["work_units"],
        "report_units": reports["work_units"],
    }


def _tables(root) -> dict[str, pl.DataFrame]:
    out = {}
    for name in TABLES:
        df = warehouse_table(root, name)
        keys = [c for c in df.columns if c in (*KEYS, "frame_idx", "segment_idx", "scope")]
        out[name] = df.sort([*keys, *(["speaker"] if "speaker" in df.columns else [])])
    return out


def _equal(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns and a.height == b.height
    for col in a.columns:
        if a.schema[col].is_float():
            assert np.allclose(a[col].to_numpy(), b[col].to_numpy(), atol=1e-6, equal_nan=True), col
        elif isinstance(a.schema[col], pl.Array):
            assert np.allclose(np.stack(a[col].to_list()), np.stack(b[col].to_list()), atol=1e-6)
        else:
            assert a[col].equals(b[col]), col


@pytest.fixture(scope="module")
def days(tmp_path_factory, shared_audio, tiny_model_dir):
    base = tmp_path_factory.mktemp("incremental")
    speech, rate = sf.read(shared_audio / "speech" / "librispeech_198-209-0000.ogg")
    clips = distinct_clips(speech, rate, base / "made", N + 1)
    mp = pytest.MonkeyPatch()
    mp.setenv("EMOTION_UNIT_AUDIO_HOURS", str(UNIT_HOURS))
    mp.setenv("EMOTION_MODEL", str(tiny_model_dir))
    mp.setenv("EMOTION_THREADS", "1")
    data = base / "data"
    raw = data / "raw" / DAY
    raw.mkdir(parents=True)
    for clip in clips[:N]:
        (raw / clip.name).write_bytes(clip.read_bytes())
    mp.setenv("EMOTION_DATA_DIR", str(data))
    home = instance_home(data)
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    scored = Storage(str(data), local_root=data)

    first = run_day(data, DAY, instance=instance)
    out = {"first": {**first, "meta": _meta(instance), "tables": _tables(data)}}
    versions = scored.list(scored_key(DAY))

    # A 21st recording arrives; the day is run again as `make run DAY=...` does.
    (raw / clips[N].name).write_bytes(clips[N].read_bytes())
    env = {**pipeline_env(data, tiny_model_dir), "EMOTION_UNIT_AUDIO_HOURS": str(UNIT_HOURS)}
    done = subprocess.run(
        materialize_cmd(DAY), cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out["added"] = {"meta": _meta(instance), "tables": _tables(data)}
    out["versions_before"], out["versions_added"] = versions, scored.list(scored_key(DAY))

    # The same 21 recordings from scratch, in a data folder of their own.
    fresh = base / "fresh"
    (fresh / "raw" / DAY).mkdir(parents=True)
    for clip in raw.iterdir():
        (fresh / "raw" / DAY / clip.name).write_bytes(clip.read_bytes())
    run_day(fresh, DAY, instance=DagsterInstance.ephemeral())
    out["scratch"] = {"tables": _tables(fresh)}

    # One recording is deleted.
    (raw / clips[0].name).unlink()
    run_day(data, DAY, instance=instance)
    out["deleted"] = {"meta": _meta(instance), "tables": _tables(data)}
    out["versions_deleted"] = scored.list(scored_key(DAY))
    yield out
    instance.dispose()
    mp.undo()


def _ids(tables: dict[str, pl.DataFrame]) -> set[str]:
    return set(tables["frame_emotion_scores"]["recording_id"].unique())


def test_the_first_run_scores_every_track_in_several_units(days) -> None:
    meta = days["first"]["meta"]
    assert (meta["tracks_scored"], meta["tracks_kept"]) == (N, 0)
    assert (meta["recordings_decoded"], meta["recordings_kept"]) == (N, 0)
    assert meta["work_units"] > 1 and meta["ingest_units"] > 1 and meta["report_units"] > 1
    assert len(_ids(days["first"]["tables"])) == N


def test_a_new_recording_costs_one_recording(days) -> None:
    meta = days["added"]["meta"]
    assert (meta["tracks_scored"], meta["tracks_kept"]) == (1, N)
    assert (meta["recordings_decoded"], meta["recordings_kept"]) == (1, N)  # decode + VAD too
    assert meta["work_units"] == 1
    # The files kept for the 20 earlier tracks are the same versions: nothing rewrote them.
    before, after = days["versions_before"], days["versions_added"]
    assert {k: after[k].version for k in before} == {k: v.version for k, v in before.items()}
    assert len(after) == len(before) + 2  # the new track's frames and embeddings


def test_the_incremental_day_equals_a_from_scratch_run(days) -> None:
    added, scratch = days["added"]["tables"], days["scratch"]["tables"]
    assert len(_ids(added)) == N + 1
    for name in TABLES:
        _equal(added[name], scratch[name])


def test_a_deleted_recording_leaves_every_table_and_the_others_are_untouched(days) -> None:
    meta = days["deleted"]["meta"]
    assert (meta["tracks_scored"], meta["tracks_kept"]) == (0, N)
    assert (meta["recordings_decoded"], meta["recordings_kept"]) == (0, N)
    deleted, added = days["deleted"]["tables"], days["added"]["tables"]
    gone = _ids(added) - _ids(deleted)
    assert len(gone) == 1
    for name in TABLES:
        assert not set(deleted[name]["recording_id"]) & gone, name
        kept = added[name].filter(~pl.col("recording_id").is_in(list(gone)))
        _equal(deleted[name], kept)
    # Its kept files went with it; the others' stayed as they were.
    left = days["versions_deleted"]
    assert len(left) == len(days["versions_added"]) - 2
    assert all(days["versions_added"][k].version == v.version for k, v in left.items())
