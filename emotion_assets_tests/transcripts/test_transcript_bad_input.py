"""Every kind of bad transcript gets one quarantine row with a reason; good cues still land."""

from __future__ import annotations

import json

import polars as pl
import pytest

from emotion_assets.transcripts.partition import transcripts_partition
from emotion_assets_tests.transcripts.helpers import DAY, digests, make_day

GOOD_CUE = "00:00:01.000 --> 00:00:02.000\nThis one is fine.\n"
CASES = {
    "malformed cue": (
        "call.vtt",
        f"WEBVTT\n\n00:00:03.000 -> 00:00:04.000\nbad arrow\n\n{GOOD_CUE}",
        ["Cue 1 (line 3) could not be read"],
    ),
    "overlapping cues": (
        "call.vtt",
        f"WEBVTT\n\n{GOOD_CUE}\n00:00:01.500 --> 00:00:03.000\noverlaps the first\n",
        ["1 cue (cue 2) starts before the previous cue", "overlapping", "kept"],
    ),
    "beyond the end": (
        "call.vtt",
        f"WEBVTT\n\n{GOOD_CUE}\n00:00:09.000 --> 00:00:12.000\nruns past the end\n\n"
        "00:00:11.000 --> 00:00:12.000\nafter the end\n",
        [
            "1 cue (cue 2) reaches past the end of the recording (10.00 s); cut at the end",
            "1 cue (cue 3) starts after the recording ends",
        ],
    ),
    "negative time": (
        "call.transcript.json",
        json.dumps(
            {
                "segments": [
                    {"start": -0.5, "end": 1.0, "text": "too early"},
                    {"start": 1.0, "end": 2.0, "text": "This one is fine."},
                ]
            }
        ),
        ["1 cue (cue 1) has a negative time; not used"],
    ),
    "reversed times": (
        "call.srt",
        "1\n00:00:05,000 --> 00:00:04,000\nbackwards\n\n2\n00:00:01,000 --> 00:00:02,000\nThis one is fine.\n",
        ["1 cue (cue 1) ends before it starts (reversed times); not used"],
    ),
    "empty text": (
        "call.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nThis one is fine.\n\n2\n00:00:03,000 --> 00:00:04,000\n<i> </i>\n",
        ["1 cue (cue 2) has no text; not used"],
    ),
    "unknown encoding": (
        "call.srt",
        bytes(range(256)) * 4,
        ["text encoding of call.srt could not be recognised"],
    ),
    "not a transcript": (
        "call.transcript.json",
        json.dumps({"hello": "world"}),
        ["neither whisperX/faster-whisper output"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_transcript_is_quarantined_with_its_reason(tmp_path, case):
    name, content, phrases = CASES[case]
    layout, raw, norm, turns = make_day(tmp_path, {"call.wav": 10.0}, {name: content})
    before = digests(layout.raw_day(DAY))
    out = transcripts_partition(layout, DAY, raw, norm, turns)
    assert digests(layout.raw_day(DAY)) == before
    (row,) = out.problems.rows(named=True)
    assert row["file_name"] == name and row["stage"] == "transcript"
    for phrase in phrases:
        assert phrase in row["reason"], row["reason"]
    if case not in ("unknown encoding", "not a transcript"):
        assert "This one is fine." in out.segments["text"].to_list()


def test_clipped_cue_ends_at_the_end_and_is_marked(tmp_path):
    name, content, _ = CASES["beyond the end"]
    layout, raw, norm, turns = make_day(tmp_path, {"call.wav": 10.0}, {name: content})
    seg = transcripts_partition(layout, DAY, raw, norm, turns).segments
    assert seg.select("t_start", "t_end", "clipped").rows() == [
        (1.0, 2.0, False),
        (9.0, 10.0, True),
    ]


def test_transcript_of_a_recording_that_does_not_exist(tmp_path):
    layout, raw, norm, turns = make_day(
        tmp_path, {"call.wav": 10.0}, {"ghost.vtt": f"WEBVTT\n\n{GOOD_CUE}"}
    )
    out = transcripts_partition(layout, DAY, raw, norm, turns)
    (row,) = out.problems.rows(named=True)
    assert row["file_name"] == "ghost.vtt" and row["recording_id"] is None
    assert "no recording named ghost beside it" in row["reason"]
    assert out.segments.is_empty()


def test_sidecar_naming_a_missing_transcript(tmp_path):
    layout, raw, norm, turns = make_day(
        tmp_path, {"call.wav": 10.0}, {"call.json": json.dumps({"transcript": "missing.srt"})}
    )
    (row,) = transcripts_partition(layout, DAY, raw, norm, turns).problems.rows(named=True)
    assert row["file_name"] == "missing.srt" and "which is not in the folder" in row["reason"]


def test_bad_sidecar_transcript_key(tmp_path):
    layout, raw, norm, turns = make_day(
        tmp_path, {"call.wav": 10.0}, {"call.json": json.dumps({"transcript": "../x.srt"})}
    )
    (row,) = transcripts_partition(layout, DAY, raw, norm, turns).problems.rows(named=True)
    assert row["file_name"] == "call.json" and '"transcript" must be a file name' in row["reason"]


def test_transcript_of_a_quarantined_recording(tmp_path):
    layout, raw, norm, turns = make_day(
        tmp_path, {"call.wav": 10.0}, {"call.vtt": f"WEBVTT\n\n{GOOD_CUE}"}
    )
    raw = raw.with_columns(pl.lit("quarantined").alias("status"))
    out = transcripts_partition(layout, DAY, raw, norm.clear(), turns)
    (row,) = out.problems.rows(named=True)
    assert "could not be used" in row["reason"] and out.segments.is_empty()
