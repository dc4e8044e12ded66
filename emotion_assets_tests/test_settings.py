"""Every documented variable changes behaviour: per group, set it, run what it affects, compare.

Settings are read in one place (emotion_assets.settings.load_settings) and reach the code as the
Dagster resources built from them; a bad value is one sentence naming the variable.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from dagster import materialize

from emotion_assets.analytics.bursts import find_bursts
from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets.audio.ffmpeg_tools import ffmpeg_binary
from emotion_assets.audio.vad import VadParams
from emotion_assets.defs.location import build_resources
from emotion_assets.engine.loading import ModelUnavailableError
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.settings import SettingsError, load_settings
from emotion_assets_tests.analytics.frames import build_frames, steps
from emotion_assets_tests.conftest import REPO, code_location, copy_into_day

DAY = "2024-06-07"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EMOTION_WINDOW_S", "abc"),
        ("EMOTION_TIMEZONE", "Mars/Olympus"),
        ("EMOTION_PARTITION_START", "yesterday"),
        ("EMOTION_VAD_BACKEND", "tensorrt"),
        ("EMOTION_QUANTIZE", "int4"),
        ("EMOTION_THREADS", "0"),
        ("EMOTION_DEVICE", "tpu"),
        ("EMOTION_VAD_THRESHOLD", "1.5"),
        ("EMOTION_CONTEXT_S", "20"),  # with the 30 s window: not valid together
        ("EMOTION_STORAGE_URL", "gs://bucket/lake"),
        ("EMOTION_STORAGE_URL", "s3://"),
        ("AWS_ENDPOINT_URL", "127.0.0.1:8333"),  # an AWS-convention variable: named as is
    ],
)
def test_a_bad_value_is_one_sentence_naming_the_variable(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert message.startswith(f"{variable}={value!r}") or message.startswith(f"{variable}={value}")
    assert "\n" not in message and message.endswith(".")


def test_the_cli_reports_a_bad_setting_without_a_traceback(tmp_path: Path) -> None:
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"")
    env = dict(os.environ, EMOTION_WINDOW_S="abc", EMOTION_DATA_DIR=str(tmp_path / "data"))
    out = subprocess.run(
        [sys.executable, "-m", "emotion_assets.cli", "analyze", str(wav)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode != 0
    assert "EMOTION_WINDOW_S='abc' is not valid" in out.stderr
    assert "Traceback" not in out.stderr


def test_storage_settings_shape_the_code_location(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import json
        from emotion_assets.defs.location import build_definitions
        defs = build_definitions()
        job = defs.resolve_job_def("emotion_pipeline")
        keys = job.partitions_def.get_partition_keys()
        schedule = defs.resolve_schedule_def("daily_emotion_schedule")
        print(json.dumps({
            "first": keys[0],
            "timezone": job.partitions_def.timezone,
            "schedule_tz": schedule.execution_timezone,
            "data_dir": defs.resources["storage"].data_dir,
        }))
        """
    )
    env = dict(
        os.environ,
        EMOTION_PARTITION_START="2025-03-01",
        EMOTION_TIMEZONE="Europe/Berlin",
        EMOTION_DATA_DIR=str(tmp_path / "elsewhere"),
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {
        "first": "2025-03-01",
        "timezone": "Europe/Berlin",
        "schedule_tz": "Europe/Berlin",
        "data_dir": str((tmp_path / "elsewhere").resolve()),
    }


def _ingest(data_dir: Path) -> dict[str, pl.DataFrame]:
    result = materialize(
        # the code location as the environment makes it: its resources come bound
        [code_location().resolve_assets_def("raw_recordings")],
        partition_key=DAY,
    )
    assert result.success
    lake = data_dir / "lake"
    return {
        name: pl.read_parquet(lake / name / f"recording_date={DAY}" / "data.parquet")
        for name in ("raw_recordings", "speech_segments", "quarantine")
    }


def test_audio_settings_change_ingest(
    data_dir: Path,
    shared_audio: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copy_into_day(
        data_dir,
        DAY,
        shared_audio / "speech" / "librispeech_198-209-0000.ogg",
        shared_audio / "speech" / "two_speakers.wav",
    )
    before = _ingest(data_dir)
    assert before["quarantine"].height == 0

    calls = tmp_path / "ffmpeg-calls.txt"
    wrapper = tmp_path / "my-ffmpeg"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {ffmpeg_binary()} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    durations = before["raw_recordings"].select("file_name", "duration_s").rows()
    limit = sum(d for _, d in durations) / 2  # between the two files' durations
    monkeypatch.setenv("FFMPEG_BINARY", str(wrapper))
    monkeypatch.setenv("EMOTION_MAX_DURATION_S", f"{limit:.3f}")
    monkeypatch.setenv("EMOTION_VAD_SPEECH_PAD_MS", "300")
    monkeypatch.setenv("EMOTION_VAD_MIN_SILENCE_MS", "2000")
    monkeypatch.setenv("EMOTION_VAD_BACKEND", "jit")
    after = _ingest(data_dir)

    assert calls.read_text().strip()  # our ffmpeg did the decoding
    too_long = {name for name, seconds in durations if seconds > limit}
    assert set(after["quarantine"]["file_name"]) == too_long
    kept = before["speech_segments"].join(
        after["raw_recordings"].filter(pl.col("status") == "ok").select("recording_id"),
        on="recording_id",
    )
    new = after["speech_segments"]
    # Longer pauses merge regions, padding widens them: fewer, longer segments.
    assert new.height < kept.height
    assert new["t_start"].min() <= kept["t_start"].min()
    assert new["duration_s"].sum() > kept["duration_s"].sum()
    # The backend reaches the VAD call (speech_regions(backend=...) is tested in test_audio_vad).
    audio_settings = code_location().resources["audio"].settings()
    assert VadParams.from_settings(audio_settings).backend == "jit"


def test_model_settings_reach_the_engine(
    tiny_model_dir: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = DataLayout(data_dir)
    monkeypatch.setenv("EMOTION_MODEL", str(tiny_model_dir))
    plain, _ = build_resources(load_settings())["emotion_model"].load(layout)

    for name, value in {
        "EMOTION_DEVICE": "cpu",
        "EMOTION_WINDOW_S": "10",
        "EMOTION_CONTEXT_S": "2",
        "EMOTION_BATCH_SIZE": "2",
        "EMOTION_THREADS": "1",
        "EMOTION_QUANTIZE": "int8",
        "EMOTION_SAVE_FRAME_EMBEDDINGS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    resource = build_resources(load_settings())["emotion_model"]
    tuned, _ = resource.load(layout)
    assert resource.save_frame_embeddings is True
    assert (tuned.config.window_s, tuned.config.context_s, tuned.config.batch_size) == (10, 2, 2)
    assert tuned.config.threads == 1 and tuned.config.quantize == "int8"
    assert any("quantized" in type(m).__module__ for m in tuned.model.modules())
    wave = np.random.default_rng(0).normal(0, 0.1, 16_000 * 25).astype(np.float32)
    a, b = plain.score(wave), tuned.score(wave)
    assert a.n_frames == b.n_frames and not np.allclose(a.probs, b.probs)


def test_the_model_hub_and_the_tiny_fallback(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = DataLayout(data_dir)
    monkeypatch.setenv("EMOTION_MODEL", "emotion2vec/emotion2vec_plus_base")
    monkeypatch.setenv("EMOTION_MODEL_HUB", "hf")
    with pytest.raises(ModelUnavailableError, match="huggingface"):
        build_resources(load_settings())["emotion_model"].load(layout)

    # The fallback is for a user who chose no model; a chosen model that fails stays an error.
    monkeypatch.setenv("EMOTION_ALLOW_TINY_FALLBACK", "1")
    with pytest.raises(ModelUnavailableError):
        build_resources(load_settings())["emotion_model"].load(layout)
    monkeypatch.delenv("EMOTION_MODEL")
    monkeypatch.delenv("EMOTION_MODEL_HUB")
    engine, warning = build_resources(load_settings())["emotion_model"].load(layout)
    assert warning and "TINY RANDOM MODEL" in warning
    assert engine.model_dir.is_relative_to(layout.models)


def test_analytics_settings_change_the_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = build_frames(400, {"sad": steps((100, 0.1), (200, 0.8), (100, 0.1))})

    def analytics():
        return build_resources(load_settings())["analytics"].settings()

    default = analytics()
    assert find_bursts(
        smooth_frames(frames, window=default.smoothing_window), default.burst_rules
    ).is_empty()
    monkeypatch.setenv("EMOTION_BURST_RULES", "sad:0.6:2")
    monkeypatch.setenv("EMOTION_SMOOTHING_WINDOW", "1")
    tuned = analytics()
    smoothed = smooth_frames(frames, window=tuned.smoothing_window)
    np.testing.assert_allclose(smoothed["sad"].to_numpy(), frames["sad"].to_numpy(), rtol=1e-6)
    assert not np.allclose(
        smooth_frames(frames, window=default.smoothing_window)["sad"].to_numpy(),
        frames["sad"].to_numpy(),
    )
    bursts = find_bursts(smoothed, tuned.burst_rules)
    assert bursts["emotion"].to_list() == ["sad"]
