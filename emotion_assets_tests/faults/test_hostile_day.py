"""Issue 11 end to end: a day full of hostile inputs succeeds with no NaN in any table, and a
truncated partition of that day takes neither the next day's run nor the analysts down."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from deltalake import DeltaTable

from emotion_assets.defs.in_process import run_day
from emotion_assets.warehouse import delta, delta_upkeep
from emotion_assets_tests.faults.helpers import digest, read_view

pytestmark = pytest.mark.slow
DAY, NEXT_DAY = "2024-06-03", "2024-06-04"


def _float_wav(path: Path, x: np.ndarray) -> None:
    sf.write(path, x, 16_000, subtype="FLOAT", format="WAV")


def _no_nan_anywhere(root: Path) -> dict[str, int]:
    """Non-finite values per view (float columns and float arrays), over every table."""
    views = read_view(root, "SELECT view_name FROM duckdb_views() WHERE NOT internal")
    bad: dict[str, int] = {}
    for view in views["view_name"]:
        df = read_view(root, f'SELECT * FROM "{view}"')
        for name, dtype in df.schema.items():
            if dtype.is_float():
                col = df[name].drop_nulls()
            elif hasattr(dtype, "inner") and dtype.inner.is_float():
                col = df[name].drop_nulls().explode().drop_nulls()
            else:
                continue
            if n := int((~col.is_finite()).sum()):
                bad[f"{view}.{name}"] = n
    return bad


def test_a_hostile_day_succeeds_and_a_damaged_partition_spares_the_next_day(
    pipeline_env: Path, shared_audio: Path
) -> None:
    raw = pipeline_env / "raw" / DAY
    raw.mkdir(parents=True)
    good = shared_audio / "speech" / "librispeech_198-209-0000.ogg"
    shutil.copyfile(good, raw / "good.ogg")
    speech, _ = sf.read(shared_audio / "speech" / "two_speakers.wav", dtype="float32")
    speech = speech[: 16_000 * 6] if speech.ndim == 1 else speech[: 16_000 * 6, 0]
    with_nan = speech.copy()
    with_nan[16_000 * 2] = np.nan  # one NaN sample in the middle of speech
    with_nan[16_000 * 3 : 16_000 * 3 + 50] = np.inf
    _float_wav(raw / "nan.wav", with_nan)
    huge = speech.copy() * 0.9
    huge[16_000 : 16_000 + 200] = 1e30
    _float_wav(raw / "huge.wav", huge)
    sf.write(raw / "one_hz.wav", np.zeros(9000, np.int16), 1, subtype="PCM_16")
    (raw / "nan.json").write_text("[" * 1000 + "]" * 1000)
    (raw / "huge.rttm").write_text(
        "SPEAKER huge 1 0.5 2.0 <NA> <NA> alice <NA> <NA>\n"
        "SPEAKER huge 1 1_0 1.0 <NA> <NA> bob <NA> <NA>\n"
        "SPEAKER huge 1 3.0 nan <NA> <NA> bob <NA> <NA>\n"
    )
    before = digest(raw)

    outcome = run_day(pipeline_env, DAY)
    assert outcome["success"]
    failed = [name for name, passed in outcome["checks"] if not passed]
    assert failed == []  # blocking checks and the quarantine's unique key included
    assert digest(raw) == before
    assert _no_nan_anywhere(pipeline_env) == {}
    quarantine = read_view(pipeline_env, "SELECT file_name, reason FROM quarantine")
    reasons: dict[str, list[str]] = {}
    for name, reason in quarantine.iter_rows():
        reasons.setdefault(name, []).append(reason)
    assert "1 Hz" in reasons["one_hz.wav"][0]
    assert "nested 1000 levels" in reasons["nan.json"][0]
    assert len(reasons["huge.rttm"]) == 2
    assert any("NaN or infinite" in r for r in reasons["nan.wav"])
    assert any("clipped" in r for r in reasons["huge.wav"])
    recordings = read_view(pipeline_env, "SELECT DISTINCT recording_id FROM frame_emotion_scores")
    assert recordings.height == 3  # good, nan and huge were all scored
    clusters = read_view(pipeline_env, "SELECT count(*) AS n FROM emotion_clusters")
    assert clusters["n"][0] > 0

    # A disk fault truncates that day's frame scores (the data files its Delta version names);
    # the next day must still run and be read.
    table = delta.location(pipeline_env / "lake", "frame_emotion_scores")
    lake_files = [
        Path(uri.removeprefix("file://"))
        for uri in DeltaTable(table.uri).file_uris()
        if f"recording_date={DAY}/" in uri
    ]
    assert lake_files
    for lake_file in lake_files:
        with open(lake_file, "r+b") as fh:
            fh.truncate(lake_file.stat().st_size // 2)
    (pipeline_env / "raw" / NEXT_DAY).mkdir()
    shutil.copyfile(good, pipeline_env / "raw" / NEXT_DAY / "good.ogg")
    outcome = run_day(pipeline_env, NEXT_DAY)
    assert outcome["success"]
    per_day = read_view(
        pipeline_env,
        "SELECT strftime(recording_date, '%Y-%m-%d') AS day, count(*) AS n "
        "FROM frame_emotion_scores GROUP BY 1",
    )
    assert per_day["day"].to_list() == [NEXT_DAY]  # the damaged day is out, the rest answers
    aside = pipeline_env / "lake" / delta_upkeep.DAMAGED_FOLDER / "frame_emotion_scores"
    assert sorted(p.name for p in aside.glob(f"recording_date={DAY}/*")) == sorted(
        p.name for p in lake_files
    )  # moved aside, kept
    others = read_view(
        pipeline_env, "SELECT count(DISTINCT recording_date) AS n FROM raw_recordings"
    )
    assert others["n"][0] == 2
