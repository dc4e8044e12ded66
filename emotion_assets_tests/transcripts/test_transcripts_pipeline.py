"""The Dagster wiring: a day with transcripts (good and bad) materializes every table, checks
pass, bad transcripts land in quarantine, and the UI gets the most emotional sentences."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance

from emotion_assets.defs.in_process import run_day
from emotion_assets_tests.conftest import copy_into_day
from emotion_assets_tests.transcripts.helpers import DATA, digests

DAY = "2024-06-04"


def _sql(root, query: str) -> pl.DataFrame:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(query).pl()
    finally:
        con.close()


@pytest.mark.slow
def test_pipeline_with_transcripts(pipeline_env, shared_audio):
    speech = shared_audio / "speech"
    folder = copy_into_day(
        pipeline_env,
        DAY,
        speech / "librispeech_198-209-0000.ogg",
        DATA / "librispeech_198-209-0000.transcript.json",
        speech / "two_speakers.wav",
        speech / "two_speakers.rttm",
        DATA / "two_speakers.srt",
    )
    (folder / "ghost.vtt").write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nnobody\n")
    before = digests(folder)
    run = run_day(pipeline_env, DAY, instance=DagsterInstance.ephemeral())
    assert run["success"]
    failed = [name for name, passed in run["checks"] if not passed]
    assert failed == []
    assert any(name.startswith("segment_emotions_") for name, _ in run["checks"])
    assert digests(folder) == before

    counts = _sql(
        pipeline_env,
        "SELECT scope, count(*) AS n FROM segment_emotions GROUP BY scope ORDER BY scope",
    ).rows()
    assert counts == [("segment", 10), ("word", 15)]
    speakers = _sql(
        pipeline_env,
        "SELECT DISTINCT speaker_source FROM transcript_segments WHERE speaker IS NOT NULL",
    )["speaker_source"].to_list()
    assert speakers == ["rttm"]
    problems = _sql(
        pipeline_env, "SELECT file_name, reason FROM quarantine WHERE stage = 'transcript'"
    )
    assert sorted(problems["file_name"]) == ["ghost.vtt", "two_speakers.srt"]
    # The frames were still scored for every recording.
    tracks = _sql(pipeline_env, "SELECT count(DISTINCT recording_id) FROM frame_emotion_scores")
    assert tracks.item() == 2

    result = run["result"]
    meta = result.asset_materializations_for_node("segment_emotions")[0].metadata
    text = meta["most_emotional_sentences"].value
    assert "two_speakers.wav" in text and "librispeech_198-209-0000.ogg" in text
    # two_speakers: its three most emotional of 8 sentences; the LibriSpeech clip has only 2.
    assert text.count("\n- ") == 5
