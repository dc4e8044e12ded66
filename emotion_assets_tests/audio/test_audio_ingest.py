"""Partition-level ingest on a day folder full of real and hostile files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf
import torch

from emotion_assets.audio import ingest
from emotion_assets.audio.ffmpeg_tools import ffmpeg_binary
from emotion_assets.audio.vad import VadParams
from emotion_assets.foundation.layout import DataLayout
from emotion_assets_tests.audio.helpers import DAY, fingerprint, make_day, shared

torch.set_num_threads(1)
FF = ffmpeg_binary()
ODD_NAME = "it's a $(test) ünïcode ;rm.wav"

# The column lists of docs/CONTRACTS.md, written out here rather than imported from the code.
CONTRACT = {
    "raw_recordings": "recording_date recording_id file_name source_path container codec duration_s "
    "sample_rate channels bytes sha256 status duplicate_of reason speaker team compare_with "
    "metadata_json has_rttm channel_map_json",
    "normalized_audio": "recording_date recording_id track channel_mode speaker audio_path "
    "sample_rate n_samples duration_s source_duration_s peak rms clipped_fraction",
    "speech_segments": "recording_date recording_id track segment_idx t_start t_end duration_s",
    "speaker_turns": "recording_date recording_id track turn_idx speaker t_start t_end "
    "duration_s source",
    "quarantine": "recording_date recording_id file_name stage problem_idx reason detail",
}
INT32 = {"track", "segment_idx", "turn_idx", "problem_idx"}
INT64 = {"sample_rate", "channels", "bytes", "n_samples"}


def assert_contract(df: pl.DataFrame, table: str) -> None:
    columns = CONTRACT[table].split()
    assert df.columns[: len(columns)] == columns, table
    assert df.schema["recording_date"] == pl.Date
    for name in columns:
        if name in INT32:
            assert df.schema[name] == pl.Int32, name
        elif name in INT64:
            assert df.schema[name] == pl.Int64, name
        elif name.startswith("t_") or name.endswith("_s") or name in ("peak", "rms"):
            assert df.schema[name] == pl.Float64, name


@pytest.fixture(scope="module")
def day_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One hostile day, run through every stage once (the stages are what we test)."""
    root = tmp_path_factory.mktemp("data")
    outside = tmp_path_factory.mktemp("outside") / "secret.wav"
    outside.write_bytes(shared("formats/test4.wav").read_bytes())
    mp3 = shared("formats/test1.mp3").read_bytes()
    day_dir = make_day(
        root,
        {
            "two_speakers.wav": shared("speech/two_speakers.wav"),
            "two_speakers.rttm": shared("speech/two_speakers.rttm"),
            "call.mp3": shared("formats/test1.mp3"),
            "call.json": json.dumps({"channels": {"0": "agent", "1": "customer"}, "team": "blue"}),
            "read.ogg": shared("speech/librispeech_198-209-0000.ogg"),
            "read.json": json.dumps(
                {
                    "speaker": "heather",
                    "teams": {"heather": "narrators"},
                    "compare_with": "../../../etc/passwd",
                }
            ),
            "copy of read.ogg": shared("speech/librispeech_198-209-0000.ogg"),
            "whale.ogg": shared("nonspeech/humpback_whale.ogg"),
            "whale.json": "{this is not json",
            "whale.rttm": "SPEAKER whale 1 1.0 2.0 <NA> <NA> w <NA> <NA>\nSPEAKER whale 1 x\n",
            "party.mp3": shared("formats/party.mp3"),
            ODD_NAME: shared("formats/test4.wav"),
            "noise.wav": np.random.default_rng(7).bytes(30_000),
            "half.mp3": mp3[: len(mp3) // 2],
            "zero.wav": b"",
            "empty_samples.wav": shared("formats/test1_empty.wav"),
            "mislabelled.aac": shared("formats/wrong_extension.aac"),
            ".hidden.wav": shared("formats/test4.wav"),
            "incoming.wav.part": shared("formats/test4.wav"),
            "lonely.rttm": "SPEAKER lonely 1 0 1 <NA> <NA> a <NA> <NA>\n",
        },
    )
    (day_dir / "x.wav").mkdir()
    (day_dir / "escape.wav").symlink_to(outside)
    (day_dir / "party.json").symlink_to(outside.with_name("secret.json"))  # sidecar leaving
    elsewhere = root / "library" / "take2.ogg"  # inside the data dir, outside raw/<day>/
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(shared("speech/librispeech_5703-47212-0000.ogg").read_bytes())
    (day_dir / "inner.ogg").symlink_to(os.path.relpath(elsewhere, day_dir))  # stays inside
    # A stale WAV from an earlier run, and a file we do not own that must survive.
    processed = root / "processed" / DAY
    processed.mkdir(parents=True)
    (processed / "0123456789abcdef_t0.wav").write_bytes(b"stale")
    (processed / "notes.txt").write_text("keep me")

    before = fingerprint(root / "raw")
    layout = DataLayout(root)
    raw = ingest.probe_day(layout, DAY, ffmpeg_binary=FF, max_duration_s=600)
    normalized, decode_problems = ingest.normalize_day(layout, DAY, raw, ffmpeg_binary=FF)
    segments = ingest.segment_tracks(layout, normalized)
    turns, sidecar_problems = ingest.turns_of_day(layout, DAY, raw, normalized, segments=segments)
    quarantine = ingest.quarantine_table(raw, decode_problems, sidecar_problems)
    return {
        "root": root,
        "layout": layout,
        "before": before,
        "after": fingerprint(root / "raw"),
        "raw": raw,
        "normalized": normalized,
        "segments": segments,
        "turns": turns,
        "quarantine": quarantine,
        "processed": processed,
    }


def _row(raw: pl.DataFrame, name: str) -> dict:
    rows = raw.filter(pl.col("file_name") == name).to_dicts()
    assert len(rows) == 1, name
    return rows[0]


def test_raw_files_are_untouched(day_run: dict) -> None:
    assert day_run["after"] == day_run["before"]


def test_tables_follow_the_contract(day_run: dict) -> None:
    for table, key in [
        ("raw_recordings", "raw"),
        ("normalized_audio", "normalized"),
        ("speech_segments", "segments"),
        ("speaker_turns", "turns"),
        ("quarantine", "quarantine"),
    ]:
        assert_contract(day_run[key], table)


def test_candidates_and_order(day_run: dict) -> None:
    names = day_run["raw"]["file_name"].to_list()
    assert names == sorted(names)
    assert ".hidden.wav" not in names and "incoming.wav.part" not in names
    assert not any(n.endswith((".rttm", ".json")) for n in names)
    assert {ODD_NAME, "x.wav", "escape.wav", "inner.ogg", "zero.wav"} <= set(names)


@pytest.mark.parametrize(
    "name,words",
    [
        ("noise.wav", "not an audio file"),
        ("zero.wav", "empty"),
        ("empty_samples.wav", "no audio samples"),
        ("x.wav", "folder"),
        ("escape.wav", "outside the data directory"),
    ],
)
def test_hostile_files_are_quarantined_with_a_reason(day_run: dict, name: str, words: str) -> None:
    row = _row(day_run["raw"], name)
    assert row["status"] == "quarantined" and words in row["reason"]
    q = day_run["quarantine"].filter(pl.col("file_name") == name)
    assert q["stage"].to_list() == ["probe"] and words in q["reason"][0]


def test_usable_files_are_ok(day_run: dict) -> None:
    raw = day_run["raw"]
    for name in (
        "two_speakers.wav",
        "call.mp3",
        "read.ogg",
        "whale.ogg",
        ODD_NAME,
        "half.mp3",
        "mislabelled.aac",
        "inner.ogg",
        "party.mp3",
    ):
        assert _row(raw, name)["status"] in ("ok", "duplicate"), name
    odd = _row(raw, ODD_NAME)
    assert odd["status"] == "ok" and abs(odd["duration_s"] - 8.0) < 0.01
    assert _row(raw, "mislabelled.aac")["codec"] == "aac"
    link = _row(raw, "inner.ogg")  # a link that stays inside the data dir is followed
    assert link["status"] == "ok" and link["source_path"] == f"raw/{DAY}/inner.ogg"


def test_duplicates_by_content(day_run: dict) -> None:
    raw = day_run["raw"]
    copy, first = _row(raw, "read.ogg"), _row(raw, "copy of read.ogg")
    # "copy of read.ogg" sorts first, so it is the one processed.
    assert first["status"] == "ok" and first["duplicate_of"] is None
    assert copy["status"] == "duplicate" and copy["duplicate_of"] == "copy of read.ogg"
    assert copy["recording_id"] == first["recording_id"]
    # Duplicates are not decoded twice.
    assert day_run["normalized"].filter(pl.col("recording_id") == copy["recording_id"]).height == 1


def test_sidecar_columns(day_run: dict) -> None:
    raw = day_run["raw"]
    call = _row(raw, "call.mp3")
    assert json.loads(call["channel_map_json"]) == {"0": "agent", "1": "customer"}
    assert call["team"] == "blue"
    read = _row(raw, "read.ogg")
    assert read["speaker"] == "heather" and read["team"] == "narrators"
    assert read["compare_with"] is None  # the ../ path was refused
    assert json.loads(read["metadata_json"])["speaker"] == "heather"
    assert _row(raw, "two_speakers.wav")["has_rttm"] and not _row(raw, "call.mp3")["has_rttm"]
    party = _row(raw, "party.mp3")  # its sidecar is a link leaving the data dir: not read
    assert party["metadata_json"] is None and party["speaker"] is None


def test_stereo_with_channel_map_gives_two_tracks(day_run: dict) -> None:
    rid = _row(day_run["raw"], "call.mp3")["recording_id"]
    tracks = day_run["normalized"].filter(pl.col("recording_id") == rid).sort("track")
    assert tracks["track"].to_list() == [0, 1]
    assert tracks["channel_mode"].to_list() == ["channel", "channel"]
    assert tracks["speaker"].to_list() == ["agent", "customer"]
    left = sf.read(str(day_run["root"] / tracks["audio_path"][0]), dtype="float32")[0]
    right = sf.read(str(day_run["root"] / tracks["audio_path"][1]), dtype="float32")[0]
    assert left.shape == right.shape and not np.allclose(left, right)
    turns = day_run["turns"].filter(pl.col("recording_id") == rid)
    assert sorted(turns["speaker"].to_list()) == ["agent", "customer"]
    assert set(turns["source"]) == {"channel_map"}


def test_normalized_wavs(day_run: dict) -> None:
    norm = day_run["normalized"]
    assert set(norm["sample_rate"]) == {16000}
    for r in norm.iter_rows(named=True):
        path = day_run["root"] / r["audio_path"]
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "FLOAT")
        assert info.frames == r["n_samples"]
        assert abs(r["duration_s"] - r["source_duration_s"]) < 0.01
        assert path.name == f"{r['recording_id']}_t{r['track']}.wav"
    modes = dict(zip(norm["recording_id"], norm["channel_mode"], strict=True))
    assert modes[_row(day_run["raw"], "party.mp3")["recording_id"]] == "mono"


def test_stale_wavs_removed_and_foreign_files_kept(day_run: dict) -> None:
    processed = day_run["processed"]
    assert not (processed / "0123456789abcdef_t0.wav").exists()
    assert (processed / "notes.txt").read_text() == "keep me"
    wavs = sorted(p.name for p in processed.glob("*.wav"))
    expected = sorted(Path(p).name for p in day_run["normalized"]["audio_path"])
    assert wavs == expected
    assert not [p for p in processed.iterdir() if p.name.startswith(".")]


def test_speech_segments(day_run: dict) -> None:
    segs, norm, raw = day_run["segments"], day_run["normalized"], day_run["raw"]

    def speech(name: str) -> float:
        rid = _row(raw, name)["recording_id"]
        total = norm.filter(pl.col("recording_id") == rid)["duration_s"].sum()
        return segs.filter(pl.col("recording_id") == rid)["duration_s"].sum() / total

    assert speech("copy of read.ogg") > 0.6
    assert speech("whale.ogg") < 0.10
    for (_, _), g in segs.group_by("recording_id", "track"):
        assert g.sort("segment_idx")["segment_idx"].to_list() == list(range(g.height))


def test_vad_keywords_override_the_defaults(day_run: dict) -> None:
    rid = _row(day_run["raw"], "two_speakers.wav")["recording_id"]
    norm = day_run["normalized"].filter(pl.col("recording_id") == rid)
    default = day_run["segments"].filter(pl.col("recording_id") == rid)["duration_s"].sum()
    strict = ingest.segment_tracks(day_run["layout"], norm, params=VadParams(threshold=0.95))
    assert strict["duration_s"].sum() < default


def test_rttm_turns_for_two_speakers(day_run: dict) -> None:
    rid = _row(day_run["raw"], "two_speakers.wav")["recording_id"]
    turns = day_run["turns"].filter(pl.col("recording_id") == rid)
    assert set(turns["speaker"]) == {"speaker90", "speaker91"}
    assert set(turns["source"]) == {"rttm"} and turns["t_end"].max() <= 30.0 + 1e-9
    assert turns["turn_idx"].to_list() == list(range(turns.height))


def test_a_duplicates_sidecar_does_not_name_the_processed_copy(day_run: dict) -> None:
    rid = _row(day_run["raw"], "copy of read.ogg")["recording_id"]
    # The sidecar belongs to read.ogg, the duplicate: the processed copy has no speaker.
    assert day_run["turns"].filter(pl.col("recording_id") == rid).height == 0


def test_single_speaker_from_sidecar(tmp_path: Path) -> None:
    day_dir = make_day(
        tmp_path,
        {
            "read.ogg": shared("speech/librispeech_198-209-0000.ogg"),
            "read.json": json.dumps({"speaker": "heather"}),
        },
    )
    layout = DataLayout(tmp_path)
    day = day_dir.name
    raw = ingest.probe_day(layout, day)
    normalized, _ = ingest.normalize_day(layout, day, raw)
    segments = ingest.segment_tracks(layout, normalized)
    turns, problems = ingest.turns_of_day(layout, day, raw, normalized, segments=segments)
    assert problems.height == 0
    assert turns["speaker"].to_list() == ["heather"] and turns["source"].to_list() == ["sidecar"]
    (duration,) = normalized["duration_s"].to_list()
    assert turns["t_start"][0] == 0.0 and turns["t_end"][0] == pytest.approx(duration)


def test_sidecar_problems_are_quarantined(day_run: dict) -> None:
    q = day_run["quarantine"].filter(pl.col("stage") == "sidecar")
    by_file = {f: g["reason"].to_list() for (f,), g in q.group_by("file_name")}
    assert any("not valid JSON" in r for r in by_file["whale.json"])
    assert any("line 2" in r for r in by_file["whale.rttm"])
    assert any("no recording" in r for r in by_file["lonely.rttm"])
    whale_turns = day_run["turns"].filter(
        pl.col("recording_id") == _row(day_run["raw"], "whale.ogg")["recording_id"]
    )
    assert whale_turns["t_start"].to_list() == [1.0]  # the good RTTM line still counts


def test_truncated_mp3_is_processed(day_run: dict) -> None:
    half = _row(day_run["raw"], "half.mp3")
    assert half["status"] == "ok" and 3.0 < half["duration_s"] < 7.0


def test_empty_partition_has_the_schema(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path)
    raw = ingest.probe_day(layout, "2024-01-02", ffmpeg_binary=FF)
    assert raw.height == 0
    assert_contract(raw, "raw_recordings")
    norm, problems = ingest.normalize_day(layout, "2024-01-02", raw, ffmpeg_binary=FF)
    assert_contract(norm, "normalized_audio")
    assert_contract(ingest.segment_tracks(layout, norm), "speech_segments")
    turns, _ = ingest.turns_of_day(layout, "2024-01-02", raw, norm)
    assert_contract(turns, "speaker_turns")
    assert_contract(ingest.quarantine_table(raw, problems), "quarantine")


def test_bad_partition_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ingest.probe_day(DataLayout(tmp_path), "../2024-01-01", ffmpeg_binary=FF)


def test_sole_speaker_and_whole_track_turn(tmp_path: Path) -> None:
    make_day(
        tmp_path,
        {
            "solo.mp3": shared("formats/party.mp3"),
            "solo.json": json.dumps({"speaker": "pat"}),
            "call.wav": shared("formats/test-dc_offset.wav"),
        },
    )
    layout = DataLayout(tmp_path)
    raw = ingest.probe_day(layout, DAY)  # no binary given: the default one
    norm, _ = ingest.normalize_day(layout, DAY, raw)
    turns, problems = ingest.turns_of_day(layout, DAY, raw, norm)
    solo = _row(raw, "solo.mp3")["recording_id"]
    row = turns.filter(pl.col("recording_id") == solo).to_dicts()
    assert len(row) == 1 and row[0]["speaker"] == "pat" and row[0]["source"] == "sidecar"
    assert row[0]["t_start"] == 0.0
    assert row[0]["t_end"] == pytest.approx(
        norm.filter(pl.col("recording_id") == solo)["duration_s"][0]
    )
    stereo = norm.filter(pl.col("recording_id") == _row(raw, "call.wav")["recording_id"])
    assert stereo["channel_mode"].to_list() == ["downmix"] and stereo["track"].to_list() == [0]
    assert problems.height == 0
    # Rerun after a file disappears from raw/: its WAV goes too.
    os.remove(tmp_path / "raw" / DAY / "call.wav")
    raw2 = ingest.probe_day(layout, DAY, ffmpeg_binary=FF)
    norm2, _ = ingest.normalize_day(layout, DAY, raw2, ffmpeg_binary=FF)
    assert sorted(p.name for p in (tmp_path / "processed" / DAY).iterdir()) == [
        Path(p).name for p in norm2["audio_path"]
    ]
