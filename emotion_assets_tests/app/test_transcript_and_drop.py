"""The transcript adapter, the lane's frame attribution, and "Add to the warehouse"."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from emotion_assets.app.transcript_lane import TranscriptError, lane, read_cues
from emotion_assets.app.warehouse_drop import (
    DropRefused,
    add_to_warehouse,
    dagster_runs_url,
    safe_file_name,
)
from emotion_assets.labels import EMOTIONS
from emotion_assets.layout import DataLayout

SRT = """1
00:00:01,000 --> 00:00:02,500
Hello <i>there</i>

2
01:00:00,000 --> 01:00:01,000
an hour in
"""


def test_srt_and_vtt_cues(tmp_path: Path):
    srt = tmp_path / "a.srt"
    srt.write_text(SRT, encoding="utf-8")
    cues = read_cues(srt)
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.0, 2.5, "Hello there"),
        (3600.0, 3601.0, "an hour in"),
    ]
    vtt = tmp_path / "a.vtt"
    vtt.write_text(
        "WEBVTT\n\nNOTE a comment\n\nintro\n00:01.000 --> 00:02.000 align:start\n<v.loud Bob>Hi\n",
        encoding="utf-8",
    )
    (cue,) = read_cues(vtt)
    assert (cue.start, cue.end, cue.text, cue.speaker) == (1.0, 2.0, "Hi", "Bob")
    junk = tmp_path / "junk.srt"
    junk.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TranscriptError):
        read_cues(junk)


def test_lane_takes_the_speech_frames_whose_centre_is_inside_the_cue(tmp_path: Path):
    n = 100  # 2 s; frames 0-49 happy, 50-99 sad; frames 40-44 are not speech
    frames = pl.DataFrame(
        {
            "t_start": [i * 0.02 for i in range(n)],
            "is_speech": [not 40 <= i < 45 for i in range(n)],
            **{
                e: [
                    (0.9 if (e == "happy") == (i < 50) and e in ("happy", "sad") else 0.0125)
                    for i in range(n)
                ]
                for e in EMOTIONS
            },
        }
    )
    srt = tmp_path / "t.srt"
    srt.write_text(
        "1\n00:00:00,000 --> 00:00:01,000\nfirst\n\n2\n00:00:01,000 --> 00:00:02,000\nsecond\n",
        encoding="utf-8",
    )
    rows = lane(read_cues(srt), frames).to_dicts()
    assert [r["emotion"] for r in rows] == ["happy", "sad"]
    assert [r["speech_frames"] for r in rows] == [45, 50]
    assert rows[0]["score"] == pytest.approx(0.9)


def test_add_to_warehouse_copies_recording_and_sidecars(tmp_path: Path):
    layout = DataLayout(tmp_path / "data")
    rec = tmp_path / "call.mp3"
    rec.write_bytes(b"ID3 recording bytes")
    rttm = tmp_path / "whatever.rttm"
    rttm.write_text("SPEAKER call 1 0.0 1.0 <NA> <NA> anna <NA> <NA>\n")
    meta = tmp_path / "x.json"
    meta.write_text('{"speaker": "anna"}')

    dropped = add_to_warehouse(layout, "2024-06-03", rec, "call.mp3", [rttm, meta])
    folder = layout.raw_day("2024-06-03")
    assert dropped.recording == folder / "call.mp3" and not dropped.already_there
    assert sorted(p.name for p in folder.iterdir()) == ["call.json", "call.mp3", "call.rttm"]
    assert (folder / "call.rttm").read_text() == rttm.read_text()

    again = add_to_warehouse(layout, "2024-06-03", rec, "call.mp3")
    assert again.already_there and again.recording == folder / "call.mp3"
    other = tmp_path / "other.mp3"
    other.write_bytes(b"different bytes")
    renamed = add_to_warehouse(layout, "2024-06-03", other, "call.mp3")
    assert renamed.recording.name == "call-2.mp3"
    assert (folder / "call.mp3").read_bytes() == rec.read_bytes()  # never overwritten


@pytest.mark.parametrize(
    ("day", "sidecars", "words"),
    [
        ("03.06.2024", [], "must look like 2024-06-03"),
        ("2024-02-30", [], "must look like 2024-06-03"),
        ("2024-06-03", ["notes.txt"], "not a sidecar"),
        ("2024-06-03", ["a.json", "b.json"], "at most one sidecar of each kind"),
    ],
)
def test_refused_drops_write_nothing(tmp_path: Path, day, sidecars, words):
    layout = DataLayout(tmp_path / "data")
    rec = tmp_path / "call.wav"
    rec.write_bytes(b"RIFF")
    paths = []
    for name in sidecars:
        (tmp_path / name).write_text("{}")
        paths.append(tmp_path / name)
    with pytest.raises(DropRefused, match=words):
        add_to_warehouse(layout, day, rec, "call.wav", paths)
    assert not layout.raw.exists()


def test_names_cannot_leave_the_day_folder(tmp_path: Path):
    layout = DataLayout(tmp_path / "data")
    rec = tmp_path / "x.wav"
    rec.write_bytes(b"RIFF")
    dropped = add_to_warehouse(layout, "2024-06-03", rec, "../../etc/pass wd.wav")
    assert dropped.recording == layout.raw_day("2024-06-03") / "pass wd.wav"
    assert safe_file_name("..") == "recording"
    with pytest.raises(DropRefused, match="not a name the pipeline reads"):
        add_to_warehouse(layout, "2024-06-03", rec, "meta.json")


def test_dagster_link_filters_the_day():
    url = dagster_runs_url("http://127.0.0.1:3000/", "2024-06-03")
    assert url == "http://127.0.0.1:3000/runs?q%5B0%5D=tag%3Adagster%2Fpartition%3D2024-06-03"
