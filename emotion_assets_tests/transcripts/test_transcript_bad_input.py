"""Every kind of bad transcript gets one quarantine row with a reason; good cues still land."""

from __future__ import annotations

import json

import polars as pl
import pytest

from emotion_assets.transcripts.day import transcripts_of_day
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
    out = transcripts_of_day(layout, DAY, raw, norm, turns)
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
    seg = transcripts_of_day(layout, DAY, raw, norm, turns).segments
    assert seg.select("t_start", "t_end", "clipped").rows() == [
        (1.0, 2.0, False),
        (9.0, 10.0, True),
    ]


def test_transcript_of_a_recording_that_does_not_exist(tmp_path):
    layout, raw, norm, turns = make_day(
        tmp_path, {"call.wav": 10.0}, {"ghost.vtt": f"WEBVTT\n\n{GOOD_CUE}"}
    )
    out = transcripts_of_day(layout, DAY, raw, norm, turns)
    (row,) = out.problems.rows(named=True)
    assert row["file_name"] == "ghost.vtt" and row["recording_id"] is None
    assert "no recording named ghost beside it" in row["reason"]
    assert out.segments.is_empty()


def test_sidecar_naming_a_missing_transcript(tmp_path):
    layout, raw, norm, turns = make_day(
        tmp_path, {"call.wav": 10.0}, {"call.json": json.dumps({"transcript": "missing.srt"})}
    )
    (row,) = transcripts_of_day(layout, DAY, raw, norm, turns).problems.rows(named=True)
    assert row["file_name"] == "missing.srt" and "which is not in the folder" in row["reason"]


def test_bad_sidecar_transcript_key(tmp_path):
    layout, raw, norm, turns = make_day(
        tmp_path, {"call.wav": 10.0}, {"call.json": json.dumps({"transcript": "../x.srt"})}
    )
    (row,) = transcripts_of_day(layout, DAY, raw, norm, turns).problems.rows(named=True)
    assert row["file_name"] == "call.json" and '"transcript" must be a file name' in row["reason"]


def test_transcript_of_a_quarantined_recording(tmp_path):
    layout, raw, norm, turns = make_day(
        tmp_path, {"call.wav": 10.0}, {"call.vtt": f"WEBVTT\n\n{GOOD_CUE}"}
    )
    raw = raw.with_columns(pl.lit("quarantined").alias("status"))
    out = transcripts_of_day(layout, DAY, raw, norm.clear(), turns)
    (row,) = out.problems.rows(named=True)
    assert "could not be used" in row["reason"] and out.segments.is_empty()


LONG_NAME = "A" * 100_000
LONG_SPEAKER = {
    "webvtt voice tag": (
        "call.vtt",
        f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v {LONG_NAME}>Who am I?\n",
    ),
    "whisperX speaker": (
        "call.transcript.json",
        json.dumps(
            {
                "segments": [
                    {
                        "start": 1.0,
                        "end": 2.0,
                        "text": "Who am I?",
                        "speaker": LONG_NAME,
                        "words": [{"word": "Who", "start": 1.0, "end": 1.2, "speaker": LONG_NAME}],
                    }
                ]
            }
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(LONG_SPEAKER))
def test_a_speaker_name_is_capped_like_rttm_and_sidecar_names(tmp_path, case):
    name, content = LONG_SPEAKER[case]
    layout, raw, norm, turns = make_day(tmp_path, {"call.wav": 10.0}, {name: content})
    out = transcripts_of_day(layout, DAY, raw, norm, turns)
    assert out.segments.select("text", "speaker").rows() == [("Who am I?", None)]
    assert out.words["speaker"].to_list() == ([None] if "whisperX" in case else [])
    (row,) = out.problems.rows(named=True)
    assert row["file_name"] == name
    assert "1 cue (cue 1) names a speaker longer than 200 characters" in row["reason"]
    assert len(row["reason"]) < 200


@pytest.mark.parametrize("digits", [401, 5001])
def test_a_number_no_float_can_hold_costs_only_its_segment(tmp_path, digits):
    # A 401-digit end overflowed float(); 5001 digits passed Python's int() limit: the whole
    # transcript was lost with a Python message.
    huge = "9" * digits
    doc = (
        '{"segments": [{"start": 1.0, "end": 2.0, "text": "This one is fine.", "words": '
        f'[{{"word": "This", "start": 1.0, "end": {huge}}}]}}, '
        f'{{"start": 3.0, "end": {huge}, "text": "Too long."}}, '
        f'{{"start": 4.0, "end": 5.0, "text": "Fine again.", "speaker": {huge}}}]}}'
    )
    layout, raw, norm, turns = make_day(tmp_path, {"call.wav": 10.0}, {"call.transcript.json": doc})
    out = transcripts_of_day(layout, DAY, raw, norm, turns)
    assert out.segments["text"].to_list() == ["This one is fine.", "Fine again."]
    assert out.words.is_empty()
    (row,) = out.problems.rows(named=True)
    assert row["reason"].startswith("Segment 2 could not be read: start and end must be numbers")
    assert "too large for a float" in row["reason"] and "Error" not in row["reason"]
    assert len(row["reason"]) < 500


def test_a_namesake_that_is_not_a_recording_leaves_the_transcript_to_the_one_that_is(tmp_path):
    # call.txt (notes, quarantined by the probe) beside call.wav: call.vtt is call.wav's, with no
    # row saying it was not used.
    layout, raw, norm, turns = make_day(
        tmp_path, {"call.wav": 10.0, "call.txt": 10.0}, {"call.vtt": f"WEBVTT\n\n{GOOD_CUE}"}
    )
    notes = pl.col("file_name") == "call.txt"
    raw = raw.with_columns(
        pl.when(notes).then(pl.lit("quarantined")).otherwise(pl.col("status")).alias("status")
    )
    norm = norm.filter(pl.col("recording_id") != raw.filter(notes)["recording_id"][0])
    out = transcripts_of_day(layout, DAY, raw, norm, turns)
    assert out.segments["text"].to_list() == ["This one is fine."]
    assert out.problems.is_empty()
