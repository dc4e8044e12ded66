"""RTTM and JSON sidecars: good files parse, bad ones give problems instead of crashes."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from emotion_assets.audio.sidecars import read_metadata, read_rttm
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.pipeline.ingest_day import ingest_day
from emotion_assets.settings import AudioSettings
from emotion_assets_tests.audio.helpers import DAY, make_day, shared


def test_two_speakers_rttm() -> None:
    turns, problems = read_rttm(shared("speech/two_speakers.rttm"))
    assert problems == []
    assert {t.speaker for t in turns} == {"speaker90", "speaker91"}
    lines = shared("speech/two_speakers.rttm").read_text().split("\n")
    assert len(turns) == sum(line.startswith("SPEAKER") for line in lines)
    assert all(t.t_end > t.t_start >= 0 for t in turns)
    assert turns == sorted(turns, key=lambda t: t.t_start)


def test_malformed_rttm_lines_are_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.rttm"
    path.write_text(
        ";; a comment\n"
        "SPEAKER x 1 0.50 1.00 <NA> <NA> alice <NA> <NA>\n"
        "SPEAKER x 1 abc 1.00 <NA> <NA> bob <NA> <NA>\n"
        "SPEAKER x 1 2.0\n"
        "SPEAKER x 1 3.0 -1 <NA> <NA> bob <NA> <NA>\n"
        "complete garbage here\n"
        "SPKR-INFO x 1 <NA> <NA> <NA> unknown bob <NA> <NA>\n"
        "\n"
        "SPEAKER x 1 4.0 0.5 <NA> <NA> bob <NA> <NA>\n"
    )
    turns, problems = read_rttm(path)
    assert [(t.speaker, t.t_start, t.t_end) for t in turns] == [
        ("alice", 0.5, 1.5),
        ("bob", 4.0, 4.5),
    ]
    assert len(problems) == 4
    for line_no, problem in zip((3, 4, 5, 6), problems, strict=True):
        assert f"line {line_no}" in problem


def test_unreadable_rttm_bytes(tmp_path: Path) -> None:
    path = tmp_path / "x.rttm"
    path.write_bytes(b"\xff\xfe\x00garbage\x80\x81")
    turns, problems = read_rttm(path)
    assert turns == [] and len(problems) == 1


def test_metadata_fields(tmp_path: Path) -> None:
    (tmp_path / "other.wav").write_bytes(b"x")
    path = tmp_path / "call.json"
    path.write_text(
        json.dumps(
            {
                "speaker": "ann",
                "teams": {"ann": "red", "bo": "blue"},
                "team": "green",
                "channels": {"0": "ann", "1": "bo"},
                "compare_with": "other.wav",
                "site": "Oslo",
            }
        )
    )
    meta, problems = read_metadata(path)
    assert problems == []
    assert meta.speaker == "ann" and meta.team_of("ann") == "red" and meta.team_of("x") == "green"
    assert meta.channels == {0: "ann", 1: "bo"}
    assert meta.compare_with == "other.wav" and meta.extra == {"site": "Oslo"}
    assert json.loads(meta.raw_json)["site"] == "Oslo"
    assert json.loads(meta.channel_map_json) == {"0": "ann", "1": "bo"}


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", '"just a string"'])
def test_metadata_that_is_not_an_object(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    meta, problems = read_metadata(path)
    assert meta.speaker is None and meta.channels == {} and meta.raw_json is None
    assert len(problems) == 1 and "bad.json" in problems[0]


@pytest.mark.parametrize(
    "value", ["../secret.wav", "/etc/passwd", "sub/x.wav", "..", "..\\x.wav", "C:\\x.wav"]
)
def test_compare_with_must_be_a_bare_name(tmp_path: Path, value: str) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"speaker": "ann", "compare_with": value}))
    meta, problems = read_metadata(path)
    assert meta.compare_with is None and meta.speaker == "ann"
    assert any("compare_with" in p for p in problems)


def test_wrong_types_are_dropped_with_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(
        json.dumps(
            {"speaker": 7, "team": "red", "channels": {"left": "x", "1": "y"}, "teams": ["red"]}
        )
    )
    meta, problems = read_metadata(path)
    assert meta.speaker is None and meta.team == "red" and meta.teams == {}
    assert meta.channels == {1: "y"}
    assert len(problems) == 3


def _ingest(root: Path, files: dict[str, Path | str]) -> dict[str, pl.DataFrame]:
    """The day's ingest, as the pipeline runs it (probe, decode, turns, transcripts)."""
    make_day(root, files)
    return ingest_day(DataLayout(root), DAY, AudioSettings()).tables


def _reasons(tables: dict[str, pl.DataFrame]) -> dict[str, str]:
    q = tables["quarantine"]
    return dict(zip(q["file_name"], q["reason"], strict=True))


def test_sidecars_of_a_name_two_recordings_share_are_used_for_neither(tmp_path: Path) -> None:
    # same.ogg and same.wav: same.json, same.rttm and same.vtt were attached to both, silently.
    tables = _ingest(
        tmp_path,
        {
            "same.ogg": shared("speech/librispeech_198-209-0000.ogg"),
            "same.wav": shared("speech/two_speakers.wav"),
            "same.json": json.dumps({"speaker": "anna", "team": "blue"}),
            "same.rttm": "SPEAKER same 1 0.5 1.0 <NA> <NA> bob <NA> <NA>\n",
            "same.vtt": "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nWhose words are these?\n",
        },
    )
    raw = tables["raw_recordings"]
    assert raw["status"].to_list() == ["ok", "ok"]
    assert raw.select("speaker", "team", "metadata_json", "has_rttm").unique().rows() == [
        (None, None, None, False)
    ]
    assert tables["speaker_turns"].is_empty() and tables["transcript_segments"].is_empty()
    reasons = _reasons(tables)
    assert sorted(reasons) == ["same.json", "same.rttm", "same.vtt"]
    for name, reason in reasons.items():
        assert reason.startswith(f"{name} goes with the name same, which 2 recordings share")
        assert "(same.ogg, same.wav)" in reason and "used for none of them" in reason


def test_sidecar_suffixes_in_another_case_are_read(tmp_path: Path) -> None:
    # talk.VTT was reported as having "no recording named talk beside it"; talk.JSON and
    # pair.RTTM were ignored without a word.
    tables = _ingest(
        tmp_path,
        {
            "talk.ogg": shared("speech/librispeech_198-209-0000.ogg"),
            "talk.JSON": json.dumps({"speaker": "heather"}),
            "talk.VTT": "WEBVTT\n\n00:00:00.400 --> 00:00:05.200\nElinor saw.\n",
            "pair.wav": shared("speech/two_speakers.wav"),
            "pair.RTTM": shared("speech/two_speakers.rttm"),
        },
    )
    assert tables["quarantine"].is_empty()
    raw = {r["file_name"]: r for r in tables["raw_recordings"].iter_rows(named=True)}
    assert raw["talk.ogg"]["speaker"] == "heather" and raw["pair.wav"]["has_rttm"]
    turns = tables["speaker_turns"]
    sources = dict(zip(turns["recording_id"], turns["source"], strict=False))
    assert sources == {
        raw["talk.ogg"]["recording_id"]: "sidecar",
        raw["pair.wav"]["recording_id"]: "rttm",
    }
    seg = tables["transcript_segments"]
    assert seg.select("text", "speaker", "source_file").rows() == [
        ("Elinor saw.", "heather", f"raw/{DAY}/talk.VTT")
    ]


def test_a_sidecar_spelled_twice_is_used_once(tmp_path: Path) -> None:
    tables = _ingest(
        tmp_path,
        {
            "talk.ogg": shared("speech/librispeech_198-209-0000.ogg"),
            "talk.json": json.dumps({"speaker": "heather"}),
            "talk.JSON": json.dumps({"speaker": "someone else"}),
            "talk.vtt": "WEBVTT\n\n00:00:00.400 --> 00:00:05.200\nElinor saw.\n",
            "talk.VTT": "WEBVTT\n\n00:00:00.400 --> 00:00:05.200\nSomeone else.\n",
        },
    )
    assert tables["raw_recordings"]["speaker"].to_list() == ["heather"]
    assert tables["transcript_segments"]["text"].to_list() == ["Elinor saw."]
    assert _reasons(tables) == {
        "talk.JSON": "talk.json is the sidecar of the recording named talk; talk.JSON was not used.",
        "talk.VTT": "talk.vtt already gives the transcript of its recording; talk.VTT was not used.",
    }
