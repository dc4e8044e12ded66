"""Every asset materialized in-process on the shared recordings (issue 2's acceptance list)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance

from emotion_assets.defs.in_process import run_day
from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets_tests.pipeline.warehouse import warehouse_table

pytestmark = pytest.mark.slow  # a whole partition of the shared recordings: ~1-2 min

DAY = "2024-06-03"


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def materialized(tmp_path_factory, shared_audio: Path, tiny_model_dir: Path):
    """One run over speech/, formats/ and nonspeech/ (plus the RTTM), shared by the tests below."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("pipeline") / "data"
    raw = root / "raw" / DAY
    raw.mkdir(parents=True)
    for sub in ("speech", "formats", "nonspeech"):
        for src in (shared_audio / sub).iterdir():
            shutil.copyfile(src, raw / src.name)
    before = _digest(raw)
    mp.setenv("EMOTION_DATA_DIR", str(root))
    mp.setenv("EMOTION_MODEL", str(tiny_model_dir))
    mp.setenv("EMOTION_THREADS", "1")
    instance = DagsterInstance.ephemeral()
    first = run_day(root, DAY, instance=instance)
    counts_first = _row_counts(root)
    second = run_day(root, DAY, instance=instance)  # a repeated run changes nothing
    yield {
        "root": root,
        "raw_before": before,
        "raw_after": _digest(raw),
        "first": first,
        "second": second,
        "counts_first": counts_first,
        "counts_second": _row_counts(root),
    }
    mp.undo()


def _row_counts(root: Path) -> dict[str, int]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        ]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def test_the_run_succeeds_with_every_check_passing(materialized) -> None:
    assert materialized["first"]["success"] and materialized["second"]["success"]
    failed = [name for name, passed in materialized["first"]["checks"] if not passed]
    assert materialized["first"]["checks"], "no asset check ran"
    assert failed == []


def test_raw_files_are_never_modified(materialized) -> None:
    assert materialized["raw_after"] == materialized["raw_before"]


def test_rematerializing_leaves_identical_row_counts(materialized) -> None:
    assert materialized["counts_first"] == materialized["counts_second"]
    assert materialized["counts_first"]["frame_emotion_scores"] > 0


def test_everything_decodes_but_the_empty_wav_which_is_quarantined(materialized) -> None:
    raw = warehouse_table(materialized["root"], "raw_recordings")
    recordings = {p for p in materialized["raw_before"] if not p.endswith((".rttm", ".json"))}
    assert set(raw["file_name"]) == recordings
    bad = raw.filter(pl.col("status") == "quarantined")
    assert bad["file_name"].to_list() == ["test1_empty.wav"]
    quarantine = warehouse_table(materialized["root"], "quarantine")
    row = quarantine.filter(pl.col("file_name") == "test1_empty.wav").row(0, named=True)
    assert "sample" in row["reason"].lower()  # says it holds no samples, in words
    normalized = warehouse_table(materialized["root"], "normalized_audio")
    ok_ids = set(raw.filter(pl.col("status") == "ok")["recording_id"])
    assert set(normalized["recording_id"]) == ok_ids


def test_wrong_extension_decodes_by_content(materialized) -> None:
    raw = warehouse_table(materialized["root"], "raw_recordings")
    row = raw.filter(pl.col("file_name") == "wrong_extension.aac").row(0, named=True)
    # Same bytes as format_test.m4a: probed (by content, as MP4/AAC), then noticed as a duplicate.
    assert row["codec"].lower().startswith("aac") and row["duration_s"] > 9.0
    twin = raw.filter(pl.col("file_name") == "format_test.m4a").row(0, named=True)
    assert row["recording_id"] == twin["recording_id"]
    assert {row["status"], twin["status"]} == {"ok", "duplicate"}


def test_the_192khz_flac_keeps_its_duration(materialized) -> None:
    import soundfile as sf

    src = materialized["root"] / "raw" / DAY / "test-192khz-32bit.flac"
    truth = sf.info(str(src)).frames / sf.info(str(src)).samplerate
    raw = warehouse_table(materialized["root"], "raw_recordings")
    normalized = warehouse_table(materialized["root"], "normalized_audio")
    rid = raw.filter(pl.col("file_name") == src.name)["recording_id"][0]
    track = normalized.filter(pl.col("recording_id") == rid).row(0, named=True)
    assert abs(track["duration_s"] - truth) <= 0.020
    assert raw.filter(pl.col("file_name") == src.name)["sample_rate"][0] == 192_000


def test_two_speakers_with_rttm_yields_turns_and_frames_for_both(materialized) -> None:
    raw = warehouse_table(materialized["root"], "raw_recordings")
    rid = raw.filter(pl.col("file_name") == "two_speakers.wav")["recording_id"][0]
    turns = warehouse_table(materialized["root"], "speaker_turns").filter(
        pl.col("recording_id") == rid
    )
    assert set(turns["speaker"]) == {"speaker90", "speaker91"}
    frames = warehouse_table(materialized["root"], "frame_emotion_scores").filter(
        pl.col("recording_id") == rid
    )
    assert set(frames["speaker"].drop_nulls()) == {"speaker90", "speaker91"}
    overlap = frames.filter(pl.col("is_overlap"))
    assert overlap.height > 0 and overlap["speaker"].null_count() == overlap.height
    # Where the RTTM itself has two turns at once (read here, independently of the pipeline).
    turns_by_speaker: dict[str, list[tuple[float, float]]] = {}
    for line in (materialized["root"] / "raw" / DAY / "two_speakers.rttm").read_text().splitlines():
        f = line.split()
        turns_by_speaker.setdefault(f[7], []).append((float(f[3]), float(f[3]) + float(f[4])))

    def speakers_at(t: float) -> int:
        return sum(any(a <= t < b for a, b in spans) for spans in turns_by_speaker.values())

    centres = (frames["t_start"] + 0.0125).to_list()
    expected = [speakers_at(t) >= 2 for t in centres]
    assert frames["is_overlap"].to_list() == expected


def test_the_whale_song_has_little_speech_and_read_speech_a_lot(materialized) -> None:
    raw = warehouse_table(materialized["root"], "raw_recordings")
    segments = warehouse_table(materialized["root"], "speech_segments")
    normalized = warehouse_table(materialized["root"], "normalized_audio")

    def speech_share(name: str) -> float:
        rid = raw.filter(pl.col("file_name") == name)["recording_id"][0]
        speech = segments.filter(pl.col("recording_id") == rid)["duration_s"].sum()
        return speech / normalized.filter(pl.col("recording_id") == rid)["duration_s"].sum()

    assert speech_share("humpback_whale.ogg") < 0.10
    assert speech_share("librispeech_198-209-0000.ogg") > 0.6


def test_frame_scores_are_distributions_with_the_documented_timing(materialized) -> None:
    frames = warehouse_table(materialized["root"], "frame_emotion_scores")
    sums = frames.select(pl.sum_horizontal(EMOTIONS).alias("s"))["s"]
    assert (sums - 1).abs().max() < 1e-4
    assert (frames["t_start"] - frames["frame_idx"] * 0.02).abs().max() < 1e-6
    normalized = warehouse_table(materialized["root"], "normalized_audio")
    per_track = frames.group_by("recording_id", "track").len()
    joined = per_track.join(normalized, on=["recording_id", "track"])
    expected = ((joined["n_samples"] - 400) // 320 + 1).to_list()
    assert joined["len"].to_list() == expected
    assert all("tiny random model" in m for m in frames["model_id"].unique())


def test_every_table_carries_recording_date_and_id(materialized) -> None:
    for name in materialized["counts_first"]:
        columns = warehouse_table(materialized["root"], name).columns
        assert "recording_date" in columns and "recording_id" in columns, name
        assert all(c == c.lower() and " " not in c for c in columns), name


def test_two_speakers_appear_in_team_health_and_get_pictures_and_a_report(materialized) -> None:
    root = materialized["root"]
    raw = warehouse_table(root, "raw_recordings")
    rid = raw.filter(pl.col("file_name") == "two_speakers.wav")["recording_id"][0]
    health = warehouse_table(root, "team_health")
    both = health.filter(pl.col("speaker").is_in(["speaker90", "speaker91"]))
    assert both.height == 2
    assert all(0 <= s <= 100 for s in both["health_score"])
    assert all(s > 3.0 for s in both["speech_s"])  # each speaks for many seconds in the RTTM
    reports = warehouse_table(root, "emotion_reports").filter(pl.col("recording_id") == rid)
    assert reports.height == 1
    row = reports.row(0, named=True)
    from matplotlib.image import imread

    for column in ("curves_png", "heatmap_png"):
        picture = imread(root / row[column])
        assert picture.shape[1] >= 800  # readable width
        assert len({tuple(px) for px in picture.reshape(-1, picture.shape[2])[::97]}) > 50
    html = (root / row["report_html"]).read_text(encoding="utf-8")
    assert "plotly" in html and all(e in html for e in ("angry", "neutral", "surprised"))
    assert 'src="http' not in html  # works offline
    index = (root / "reports" / DAY / "index.html").read_text(encoding="utf-8")
    assert row["report_html"].split("/")[-1] in index


def test_the_demo_summary_runs_its_example_queries(materialized, capsys) -> None:
    from emotion_assets.cli.demo import EXAMPLE_QUERIES, show_results
    from emotion_assets.foundation.layout import DataLayout

    show_results(DataLayout(materialized["root"]), DAY)
    out = capsys.readouterr().out
    assert "frame_emotion_scores" in out and "TINY RANDOM MODEL" in out
    for title, _ in EXAMPLE_QUERIES:
        assert title in out
    assert "speaker90" in out and "two_speakers.wav" in out  # both queries returned rows


def test_the_model_step_reports_the_engines_own_seconds_and_speed(materialized) -> None:
    """The UI shows how long loading and scoring took and how fast the day was scored; the
    benchmark splits the run's time into the engine's and the pipeline's from the same numbers."""
    result = materialized["first"]["result"]
    (event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.path == ["frame_emotion_scores"]
    ]
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    audio = warehouse_table(materialized["root"], "normalized_audio")["duration_s"].sum()
    assert meta["audio_seconds"] == pytest.approx(audio, abs=1e-3)
    unit_steps = {
        step: seconds
        for step, seconds in materialized["first"]["step_seconds"].items()
        if step.startswith("emotion_model_outputs.score_model_unit[")
    }
    assert unit_steps and meta["work_units"] == len(unit_steps)
    assert 0 < meta["scoring_seconds"] < sum(unit_steps.values())
    assert meta["x_real_time"] == pytest.approx(audio / meta["scoring_seconds"], rel=0.01)
    engine = materialized["first"]["engine_seconds"]
    assert engine == pytest.approx(meta["model_load_seconds"] + meta["scoring_seconds"])
    assert engine < materialized["first"]["wall_s"]
