"""Transcript files -> cues: WebVTT, SubRip, whisperX / faster-whisper JSON, funasr JSON.

Parsers never raise for bad content: a cue they cannot read is left out and described in
`problems`; times are checked later (emotion_assets.transcripts.validate), against the recording.
WebVTT and SubRip cues are read by webvtt-py and srt one block at a time, so one malformed cue
costs only itself.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass, field

import srt
import webvtt
from charset_normalizer import from_bytes
from webvtt.errors import MalformedCaptionError, MalformedFileError

from emotion_assets.audio.sidecars import MAX_NAME_CHARS

FORMATS = ("webvtt", "srt", "whisper_json", "funasr_json")

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")  # HTML-ish tags in SRT (<i>) and ASS overrides ({\an8})
_SRT_SPEAKER = re.compile(r"^\[([^\]\n]{1,80})\]:?\s*")  # whisperX's SRT: "[SPEAKER_00]: text"
_VTT_SKIP = ("NOTE", "STYLE", "REGION")
# A JSON integer longer than this cannot be a float (1.8e308 has 309 digits); int() of one is
# slow and, past 4300 digits, refused by Python.
_MAX_INT_DIGITS = 310
_SHOWN_CHARS = 40  # of a bad value quoted in a problem sentence


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    score: float | None = None
    speaker: str | None = None


@dataclass(frozen=True)
class Cue:
    number: int  # 1-based position in the file, for messages
    start: float
    end: float
    text: str
    speaker: str | None = None
    words: tuple[Word, ...] = ()


@dataclass
class Parsed:
    format: str | None
    encoding: str | None = None
    cues: list[Cue] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    words_dropped: int = 0  # word timings that were not numbers
    long_speakers: list[int] = field(default_factory=list)  # cues whose speaker name was dropped


class UnreadableTranscript(ValueError):
    """The whole file is unusable (encoding, not the format its name says); one sentence."""


def _utf8(data: bytes) -> str | None:
    """The text when `data` is valid UTF-8 (BOM or not), else None.

    UTF-16/32 without a BOM is valid UTF-8 too when it is mostly ASCII (a NUL beside every
    character), so bytes that are more than a tenth NUL are left to detection.
    """
    if data.count(0) * 10 > len(data):
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding): valid UTF-8 is UTF-8 (control characters, bidi marks and emoji
    included); anything else (UTF-16, GB18030/GBK, ...) is detected by charset-normalizer."""
    if not data.strip():
        raise UnreadableTranscript(f"The transcript {name} is empty.")
    text = _utf8(data)
    encoding = "utf_8"
    if text is None:
        best = from_bytes(data).best()
        if best is None:
            raise UnreadableTranscript(
                f"The text encoding of {name} could not be recognised (not UTF-8, UTF-16 or "
                "GB18030/GBK text); save it as UTF-8."
            )
        text, encoding = str(best), best.encoding
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"), encoding


def _clean(text: str) -> str:
    return " ".join(_TAG.sub("", text).split())


def _blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, block) for every blank-line separated block."""
    out, line = [], 1
    pos = 0
    for match in _BLANK_LINE.finditer(text + "\n\n"):
        block = text[pos : match.start()]
        if block.strip():
            lead = len(block) - len(block.lstrip("\n"))
            out.append((line + block[:lead].count("\n"), block.strip("\n")))
        line += text[pos : match.end()].count("\n")
        pos = match.end()
    return out


def _speaker(value: object, out: Parsed, number: int, prefix: str = "") -> str | None:
    """A speaker label, None when absent or longer than MAX_NAME_CHARS (noted in `out`)."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if len(text) > MAX_NAME_CHARS:
        if number not in out.long_speakers:
            out.long_speakers.append(number)
        return None
    return f"{prefix}{text}" if text else None


def _ts(stamp) -> float:
    return stamp.hours * 3600 + stamp.minutes * 60 + stamp.seconds + stamp.milliseconds / 1000


def parse_webvtt(text: str, name: str) -> Parsed:
    out = Parsed("webvtt")
    blocks = _blocks(text)
    if not blocks or not blocks[0][1].startswith("WEBVTT"):
        raise UnreadableTranscript(
            f"{name} does not start with WEBVTT, so it is not a WebVTT file."
        )
    for line, block in blocks[1:]:
        if block.split(maxsplit=1)[0] in _VTT_SKIP:
            continue
        number = len(out.cues) + len(out.problems) + 1
        try:
            captions = list(webvtt.from_buffer(io.StringIO("WEBVTT\n\n" + block + "\n")))
        except (MalformedCaptionError, MalformedFileError) as exc:
            captions, why = [], str(exc)
        else:
            why = "its timing line is not 'start --> end' with valid times"
        if len(captions) != 1:
            out.problems.append(f"cue {number} (line {line}) could not be read: {why}")
            continue
        c = captions[0]
        speaker = _speaker(c.voice, out, number)
        out.cues.append(Cue(number, _ts(c.start_time), _ts(c.end_time), _clean(c.text), speaker))
    return out


def parse_srt(text: str, name: str) -> Parsed:
    out = Parsed("srt")
    for line, block in _blocks(text):
        number = len(out.cues) + len(out.problems) + 1
        try:
            subs = list(srt.parse(block + "\n"))
        except srt.SRTParseError:
            subs = []
        if len(subs) != 1:
            out.problems.append(
                f"cue {number} (line {line}) could not be read: it is not 'index, "
                "start --> end, text' with valid times"
            )
            continue
        sub = subs[0]
        content = sub.content.strip()
        speaker = None
        if m := _SRT_SPEAKER.match(content):
            speaker, content = m.group(1).strip(), content[m.end() :]
        out.cues.append(
            Cue(
                number, sub.start.total_seconds(), sub.end.total_seconds(), _clean(content), speaker
            )
        )
    if not out.cues and not out.problems:
        raise UnreadableTranscript(f"{name} holds no SubRip cues.")
    return out


def _number(value: object, scale: float = 1.0) -> float | None:
    """A finite float, None for anything else (text, null, or a number no float can hold)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        value = float(value) / scale
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _json_int(digits: str) -> int | float:
    # Longer than any float: inf (refused by _number) rather than a slow or refused int().
    return int(digits) if len(digits) <= _MAX_INT_DIGITS else float(digits)


def _shown(value: object) -> str:
    """A bad value quoted in a problem sentence, cut short."""
    if isinstance(value, float) and not math.isfinite(value):
        return "a number too large for a float" if value == value else "NaN"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _words(items: object, out: Parsed, number: int) -> tuple[Word, ...]:
    words = []
    for w in items if isinstance(items, list) else []:
        if not isinstance(w, dict):
            continue
        text = str(w.get("word", w.get("text", ""))).strip()
        start, end = _number(w.get("start")), _number(w.get("end"))
        if start is None or end is None or not text:
            out.words_dropped += 1  # whisperX leaves numbers and symbols without times
            continue
        score = _number(w.get("score", w.get("probability")))
        words.append(Word(text, start, end, score, _speaker(w.get("speaker"), out, number)))
    return tuple(words)


def _timed_items(
    items: list, out: Parsed, *, scale: float, speaker_key: str, prefix: str, words: bool
) -> None:
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            out.problems.append(f"segment {number} could not be read: it is not an object")
            continue
        start, end = _number(item.get("start"), scale), _number(item.get("end"), scale)
        if start is None or end is None:
            out.problems.append(
                f"segment {number} could not be read: start and end must be numbers "
                f"(got {_shown(item.get('start'))}, {_shown(item.get('end'))})"
            )
            continue
        text = item.get("text")
        out.cues.append(
            Cue(
                number,
                start,
                end,
                _clean(text) if isinstance(text, str) else "",
                _speaker(item.get(speaker_key), out, number, prefix),
                _words(item.get("words"), out, number) if words else (),
            )
        )


def parse_json(text: str, name: str) -> Parsed:
    """whisperX / faster-whisper (`segments`, seconds) or funasr (`sentence_info`, ms)."""
    try:
        doc = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise UnreadableTranscript(
            f"{name} is not valid JSON (line {exc.lineno}: {exc.msg})."
        ) from None
    results = doc if isinstance(doc, list) else [doc]
    funasr = [r for r in results if isinstance(r, dict) and "sentence_info" in r]
    if funasr:
        out = Parsed("funasr_json")
        for r in funasr:  # funasr returns one result per input; times in milliseconds
            info = r["sentence_info"]
            if not isinstance(info, list):
                raise UnreadableTranscript(f"{name}: 'sentence_info' must be a list of sentences.")
            _timed_items(info, out, scale=1000.0, speaker_key="spk", prefix="spk", words=False)
        return out
    if isinstance(doc, dict) and isinstance(doc.get("segments"), list):
        segments = doc["segments"]
    elif isinstance(doc, list) and all(isinstance(s, dict) and "start" in s for s in doc):
        segments = doc  # faster-whisper segments dumped as a list
    else:
        raise UnreadableTranscript(
            f"{name} is JSON but neither whisperX/faster-whisper output ('segments') nor "
            "funasr output ('sentence_info')."
        )
    out = Parsed("whisper_json")
    _timed_items(segments, out, scale=1.0, speaker_key="speaker", prefix="", words=True)
    return out


def parse_transcript(data: bytes, name: str) -> Parsed:
    """Decode and parse by content, the name's extension breaking ties (see module doc)."""
    text, encoding = decode_text(data, name)
    lower = name.lower()
    head = text.lstrip()
    if head.startswith("WEBVTT"):
        parsed = parse_webvtt(text, name)
    elif lower.endswith(".json") or head[:1] in "[{":
        parsed = parse_json(text, name)
    elif lower.endswith(".vtt") and "-->" not in head.split("\n\n", 1)[0]:
        raise UnreadableTranscript(
            f"{name} does not start with WEBVTT, so it is not a WebVTT file."
        )
    else:
        parsed = parse_srt(text, name)  # an .srt, or a .vtt that is really SubRip
    parsed.encoding = encoding
    return parsed
