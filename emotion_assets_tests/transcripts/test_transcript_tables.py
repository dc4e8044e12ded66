"""Transcript sidecars of the shared recordings -> transcript_segments / transcript_words."""

from __future__ import annotations

import json

import polars as pl
import pytest

from emotion_assets.audio.ingest import is_candidate_name
from emotion_assets.transcripts.day import transcripts_of_day
from emotion_assets_tests.transcripts.helpers import DATA, DAY, digests, make_day, rid_of

LIBRI = "librispeech_198-209-0000.ogg"
TWO = "two_speakers.wav"


def _run(tmp_path, shared_audio, recordings, sidecars, **kw):
    rec = {
        n: (shared_audio / "speech" / n if isinstance(v, str) else v) for n, v in recordings.items()
    }
    layout, raw, norm, turns = make_day(tmp_path, rec, sidecars, **kw)
    before = digests(layout.raw_day(DAY))
    out = transcripts_of_day(layout, DAY, raw, norm, turns)
    assert digests(layout.raw_day(DAY)) == before  # raw files stay byte-identical
    return out


def test_transcripts_are_sidecars_not_recordings():
    for name in ("call.vtt", "call.SRT", "call.transcript.json"):
        assert not is_candidate_name(name)


def test_webvtt_with_voice_tags(tmp_path, shared_audio):
    out = _run(
        tmp_path,
        shared_audio,
        {LIBRI: "x"},
        {"librispeech_198-209-0000.vtt": DATA / "librispeech_198-209-0000.vtt"},
    )
    seg = out.segments
    assert seg.select("segment_idx", "t_start", "t_end").rows() == [(0, 0.4, 5.2), (1, 5.6, 13.5)]
    assert seg["text"][0] == "Elinor saw, with great uneasiness the low spirits of her friend."
    assert seg["text"][1].endswith("while his own enjoyment in it appeared so imperfect.")
    assert set(seg["speaker"]) == {"Heather"} and set(seg["speaker_source"]) == {"transcript"}
    assert set(seg["source_format"]) == {"webvtt"}
    assert seg["source_file"][0] == f"raw/{DAY}/librispeech_198-209-0000.vtt"
    assert out.words.is_empty() and out.problems.is_empty()


def test_whisperx_json_segments_and_words(tmp_path, shared_audio):
    name = "librispeech_198-209-0000.transcript.json"
    out = _run(tmp_path, shared_audio, {LIBRI: "x"}, {name: DATA / name})
    assert (
        out.segments["text"][0]
        == "Elinor saw, with great uneasiness the low spirits of her friend."
    )
    assert set(out.segments["source_format"]) == {"whisper_json"}
    words = out.words
    assert words.height == 15
    row = words.filter(pl.col("word") == "uneasiness").row(0, named=True)
    assert (row["segment_idx"], row["word_idx"], row["t_start"], row["t_end"], row["score"]) == (
        0,
        4,
        2.15,
        3.0,
        0.9,
    )
    assert words.filter(pl.col("segment_idx") == 1)["word"].to_list() == [
        "His",
        "visit",
        "afforded",
        "her",
    ]


def test_srt_without_labels_takes_the_rttm_speakers(tmp_path, shared_audio):
    out = _run(tmp_path, shared_audio, {TWO: "x"}, {"two_speakers.srt": DATA / "two_speakers.srt"})
    seg = out.segments
    assert seg.height == 8
    # RTTM: speaker90 6.69-7.12 and 10.57-14.70, speaker91 7.55-8.35 and 21.78-28.50.
    by_idx = dict(zip(seg["segment_idx"], seg["speaker"], strict=True))
    assert (by_idx[0], by_idx[1], by_idx[4], by_idx[6]) == (
        "speaker90",
        "speaker91",
        "speaker90",
        "speaker91",
    )
    assert set(seg.filter(pl.col("speaker").is_not_null())["speaker_source"]) == {"rttm"}
    assert seg["text"][3] == "I want a refund for my order."
    # Its cues 4, 6 and 8 start before the previous one ends: kept, and reported.
    (reason,) = out.problems["reason"].to_list()
    assert "3 cues (cues 4, 6, 8)" in reason and "overlapping" in reason and "kept" in reason


def test_chinese_srt_in_gbk(tmp_path, shared_audio):
    name = "librispeech_5703-47212-0000.srt"
    out = _run(
        tmp_path, shared_audio, {"librispeech_5703-47212-0000.ogg": "x"}, {name: DATA / name}
    )
    assert out.segments["text"].to_list() == ["你好，我想申请退款。", "这个问题让我非常生气！"]
    assert out.segments.select("t_start", "t_end").rows() == [(0.5, 3.0), (3.5, 7.0)]
    assert out.segments["encoding"][0] in ("gb18030", "gbk")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "gb18030"])
def test_encodings(tmp_path, encoding):
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<v 客户>我要退款，马上！\n"
    out = _run(tmp_path, None, {"call.wav": 5.0}, {"call.vtt": text.encode(encoding)})
    assert out.segments.select("speaker", "text").rows() == [("客户", "我要退款，马上！")]


def test_funasr_sentence_info_in_milliseconds(tmp_path, shared_audio):
    name = "librispeech_3436-172162-0000.transcript.json"
    out = _run(
        tmp_path, shared_audio, {"librispeech_3436-172162-0000.ogg": "x"}, {name: DATA / name}
    )
    seg = out.segments
    assert seg.select("t_start", "t_end", "speaker").rows() == [
        (0.5, 4.2, "spk0"),
        (4.6, 9.8, "spk0"),
    ]
    assert set(seg["source_format"]) == {"funasr_json"}


def test_sidecar_binds_transcripts_to_channels(tmp_path):
    sidecar = {
        "transcript": [{"file": "agent.vtt", "channel": 0}, {"file": "customer.srt", "channel": 1}]
    }
    out = _run(
        tmp_path,
        None,
        {"call.wav": 6.0},
        {
            "call.json": json.dumps(sidecar),
            "agent.vtt": "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHow can I help?\n",
            "customer.srt": "1\n00:00:02,000 --> 00:00:03,000\nMy parcel is late.\n",
        },
        channels={"call.wav": {0: "agent_anna", 1: "customer"}},
    )
    seg = out.segments
    assert seg.select("track", "text", "speaker", "speaker_source").rows() == [
        (0, "How can I help?", "agent_anna", "channel_map"),
        (1, "My parcel is late.", "customer", "channel_map"),
    ]
    assert out.problems.is_empty()


def test_an_unbound_transcript_routes_labelled_cues_to_their_channel(tmp_path):
    vtt = (
        "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\n<v agent_anna>Hello.\n\n"
        "00:00:02.000 --> 00:00:03.000\n<v customer>Hi.\n"
    )
    out = _run(
        tmp_path,
        None,
        {"call.wav": 6.0},
        {"call.vtt": vtt},
        channels={"call.wav": {0: "agent_anna", 1: "customer"}},
    )
    assert out.segments.select("track", "text").rows() == [(0, "Hello."), (1, "Hi.")]


def test_only_one_transcript_per_track_is_used(tmp_path):
    out = _run(
        tmp_path,
        None,
        {"call.wav": 6.0},
        {
            "call.vtt": "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nfrom vtt\n",
            "call.srt": "1\n00:00:00,500 --> 00:00:01,500\nfrom srt\n",
        },
    )
    assert out.segments["text"].to_list() == ["from vtt"]
    (row,) = out.problems.rows(named=True)
    assert (
        row["file_name"] == "call.srt" and "call.vtt already gives the transcript" in row["reason"]
    )
    assert row["recording_id"] == rid_of("call.wav") and row["stage"] == "transcript"


def test_faster_whisper_segments_as_a_list(tmp_path):
    segments = [
        {
            "id": 1,
            "seek": 0,
            "start": 0.5,
            "end": 2.0,
            "text": " I want a refund.",
            "words": [
                {"word": " I", "start": 0.5, "end": 0.6, "probability": 0.99},
                {"word": " refund.", "start": 1.4, "end": 2.0, "probability": 0.8},
            ],
        },
    ]
    out = _run(tmp_path, None, {"call.wav": 5.0}, {"call.transcript.json": json.dumps(segments)})
    assert out.segments.select("t_start", "t_end", "text", "source_format").rows() == [
        (0.5, 2.0, "I want a refund.", "whisper_json")
    ]
    assert out.words.select("word", "score").rows() == [("I", 0.99), ("refund.", 0.8)]


@pytest.mark.parametrize(
    "text",
    [
        "Stop \x07 that \u202ereversed\u202c 😀",
        "hi \x07 there \u202eevil\u202c 😀",
        "Stop \x07 that \x1b[0m \u202ereversed\u202c 😀 ça va",
    ],
)
def test_valid_utf8_is_read_as_utf8(tmp_path, text):
    # Control characters, bidi overrides and emoji made charset-normalizer guess shift_jis or
    # iso8859_13 and store the text garbled.
    vtt = f"WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<v Zoë 🎧>{text}\n"
    for data in (vtt.encode("utf-8"), vtt.encode("utf-8-sig")):
        out = _run(tmp_path, None, {"call.wav": 5.0}, {"call.vtt": data})
        assert out.segments.select("speaker", "text", "encoding").rows() == [
            ("Zoë 🎧", text, "utf_8")
        ]
        assert out.problems.is_empty()
