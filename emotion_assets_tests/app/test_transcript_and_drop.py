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
from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets.foundation.layout import DataLayout

PARTITIONS = ("2024-01-01", "2025-12-31")  # first and last partition key

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

    dropped = add_to_warehouse(
        layout, "2024-06-03", rec, "call.mp3", [rttm, meta], partitions=PARTITIONS
    )
    folder = layout.raw_day("2024-06-03")
    assert dropped.recording == folder / "call.mp3" and not dropped.already_there
    assert sorted(p.name for p in folder.iterdir()) == ["call.json", "call.mp3", "call.rttm"]
    assert (folder / "call.rttm").read_text() == rttm.read_text()

    again = add_to_warehouse(layout, "2024-06-03", rec, "call.mp3", partitions=PARTITIONS)
    assert again.already_there and again.recording == folder / "call.mp3"
    other = tmp_path / "other.mp3"
    other.write_bytes(b"different bytes")
    renamed = add_to_warehouse(layout, "2024-06-03", other, "call.mp3", partitions=PARTITIONS)
    assert renamed.recording.name == "call-2.mp3"
    assert (folder / "call.mp3").read_bytes() == rec.read_bytes()  # never overwritten


@pytest.mark.parametrize(
    ("day", "sidecars", "words"),
    [
        ("03.06.2024", [], "must look like 2024-06-03"),
        ("2024-02-30", [], "must look like 2024-06-03"),
        ("2024-06-03", ["notes.txt"], "not a sidecar"),
        ("2024-06-03", ["a.json", "b.json"], "at most one sidecar of each kind"),
        ("1999-01-01", [], "1999-01-01 is before the first partition"),
        ("2999-12-31", [], "2999-12-31 is after the last partition"),
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
        add_to_warehouse(layout, day, rec, "call.wav", paths, partitions=PARTITIONS)
    assert not layout.raw.exists()


def test_names_cannot_leave_the_day_folder(tmp_path: Path):
    layout = DataLayout(tmp_path / "data")
    rec = tmp_path / "x.wav"
    rec.write_bytes(b"RIFF")
    dropped = add_to_warehouse(
        layout, "2024-06-03", rec, "../../etc/pass wd.wav", partitions=PARTITIONS
    )
    assert dropped.recording == layout.raw_day("2024-06-03") / "pass wd.wav"
    assert safe_file_name("..") == "recording"
    with pytest.raises(DropRefused, match="not a name the pipeline reads"):
        add_to_warehouse(layout, "2024-06-03", rec, "meta.json", partitions=PARTITIONS)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_recording_and_its_sidecars_get_one_free_stem(tmp_path: Path):
    """The issue's day: anna's call.mp3, call.json and call.rttm are there; another call.wav
    with its own sidecars lands as call-2.* and anna's files stay as they were."""
    layout = DataLayout(tmp_path / "data")
    folder = layout.raw_day("2024-06-03")
    folder.mkdir(parents=True)
    anna = {
        "call.mp3": b"ID3 anna",
        "call.json": b'{"speaker": "anna"}',
        "call.rttm": b"SPEAKER call 1 0.0 1.0 <NA> <NA> anna <NA> <NA>\n",
    }
    for name, data in anna.items():
        (folder / name).write_bytes(data)
    bob = {"call.wav": b"RIFF bob", "bob.json": b'{"speaker": "bob"}', "b.rttm": b"SPEAKER bob"}
    for name, data in bob.items():
        (tmp_path / name).write_bytes(data)

    sidecars = [tmp_path / "bob.json", tmp_path / "b.rttm"]
    dropped = add_to_warehouse(
        layout, "2024-06-03", tmp_path / "call.wav", "call.wav", sidecars, partitions=PARTITIONS
    )
    assert dropped.recording == folder / "call-2.wav" and not dropped.already_there
    assert _files(folder) == {
        **anna,
        "call-2.wav": bob["call.wav"],
        "call-2.json": bob["bob.json"],
        "call-2.rttm": bob["b.rttm"],
    }


def test_a_stem_is_taken_by_any_file_of_it(tmp_path: Path):
    """A sidecar alone (in another case, or a transcript) holds its stem too: a recording
    beside it would inherit it."""
    layout = DataLayout(tmp_path / "data")
    folder = layout.raw_day("2024-06-03")
    folder.mkdir(parents=True)
    (folder / "Talk.JSON").write_text('{"speaker": "anna"}')
    (folder / "talk-2.transcript.json").write_text("{}")
    rec = tmp_path / "talk.flac"
    rec.write_bytes(b"fLaC")
    vtt = tmp_path / "x.vtt"
    vtt.write_text("WEBVTT\n")
    words = tmp_path / "w.transcript.json"
    words.write_text('{"segments": []}')
    dropped = add_to_warehouse(
        layout, "2024-06-03", rec, "talk.flac", [vtt, words], partitions=PARTITIONS
    )
    assert dropped.recording.name == "talk-3.flac"
    assert sorted(p.name for p in dropped.sidecars) == ["talk-3.transcript.json", "talk-3.vtt"]


def test_the_same_recording_twice_replaces_nothing(tmp_path: Path):
    layout = DataLayout(tmp_path / "data")
    folder = layout.raw_day("2024-06-03")
    rec = tmp_path / "call.mp3"
    rec.write_bytes(b"ID3 anna")
    meta = tmp_path / "meta.json"
    meta.write_text('{"speaker": "anna"}')
    first = add_to_warehouse(layout, "2024-06-03", rec, "call.mp3", [meta], partitions=PARTITIONS)
    before = _files(folder)

    # Same bytes, same sidecar (under any name given to the upload): already there.
    again = add_to_warehouse(
        layout, "2024-06-03", rec, "renamed.mp3", [meta], partitions=PARTITIONS
    )
    assert again.already_there and again.recording == first.recording
    assert again.sidecars == first.sidecars

    # Same recording with another sidecar: refused, anna's sidecar is not replaced.
    other = tmp_path / "other.json"
    other.write_text('{"speaker": "bob"}')
    with pytest.raises(DropRefused, match="already in raw/2024-06-03/ as call.mp3 with other"):
        add_to_warehouse(layout, "2024-06-03", rec, "call.mp3", [other], partitions=PARTITIONS)
    assert _files(folder) == before


def test_a_name_taken_while_adding_undoes_the_add(tmp_path: Path, monkeypatch):
    """Another writer (a second server, a person) creates the chosen name between the check
    and the write: its file stays, ours are removed, one sentence."""
    from emotion_assets.app import warehouse_drop

    layout = DataLayout(tmp_path / "data")
    folder = layout.raw_day("2024-06-03")
    rec = tmp_path / "call.wav"
    rec.write_bytes(b"RIFF ours")
    meta = tmp_path / "m.json"
    meta.write_text('{"speaker": "bob"}')
    real = warehouse_drop._free_stem

    def racing(names, stem):
        chosen = real(names, stem)
        (folder / f"{chosen}.wav").write_bytes(b"RIFF theirs")
        return chosen

    monkeypatch.setattr(warehouse_drop, "_free_stem", racing)
    with pytest.raises(DropRefused, match="appeared in raw/2024-06-03/ while call.wav"):
        add_to_warehouse(layout, "2024-06-03", rec, "call.wav", [meta], partitions=PARTITIONS)
    assert _files(folder) == {"call.wav": b"RIFF theirs"}


def test_dagster_link_filters_the_day():
    url = dagster_runs_url("http://127.0.0.1:3000/", "2024-06-03")
    assert url == "http://127.0.0.1:3000/runs?q%5B0%5D=tag%3Adagster%2Fpartition%3D2024-06-03"
