"""A day's transcript sidecars -> transcript_segments, transcript_words and quarantine rows.

Pure (no Dagster). Which file is whose transcript, per recording, first wins per track:
1. files named by the metadata sidecar's "transcript" key (a name, {"file": ..., "channel": n},
   or a list of these), 2. <name>.transcript.json, 3. <name>.vtt, 4. <name>.srt beside it.
A transcript not bound to a channel goes to track 0 (a mono or downmixed recording's only
track); on a recording split by its channel map, a cue whose speaker label is a channel's
speaker goes to that channel's track. Speakers: the transcript's own label wins, else the
speaker the frames of the cue are attributed to (RTTM / channel map / sidecar; more than half
of the frames whose centre lies in the cue, as for utterances). Raw files are only read.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from emotion_assets.audio.sidecars import (
    MAX_NAME_CHARS,
    MAX_SIDECAR_BYTES,
    FolderNames,
    read_metadata,
    shared_stem_reason,
    shared_stems,
)
from emotion_assets.contracts import CONTRACT_SCHEMAS, TRANSCRIPT_SCHEMAS
from emotion_assets.engine.tables import frame_centres, frame_speakers
from emotion_assets.foundation.labels import n_frames
from emotion_assets.foundation.layout import DataLayout, UnsafePathError
from emotion_assets.foundation.transcript_names import (
    TRANSCRIPT_SUFFIXES,
    is_transcript_name,
    recording_stem,
)
from emotion_assets.transcripts.formats import (
    Cue,
    Parsed,
    UnreadableTranscript,
    parse_transcript,
)
from emotion_assets.transcripts.validate import CleanCue, clean_cues, cue_list

log = logging.getLogger(__name__)

SEGMENTS_SCHEMA = TRANSCRIPT_SCHEMAS["transcript_segments"]
WORDS_SCHEMA = TRANSCRIPT_SCHEMAS["transcript_words"]
QUARANTINE_SCHEMA = CONTRACT_SCHEMAS["quarantine"]
STAGE = "transcript"
SIDECAR_KEY = "transcript"
_MAX_LISTED = 3


@dataclass(frozen=True)
class TranscriptTables:
    segments: pl.DataFrame
    words: pl.DataFrame
    problems: pl.DataFrame


@dataclass(frozen=True)
class _Track:
    track: int
    duration: float
    channel_speaker: str | None  # the channel map's speaker of a split track
    frame_speakers: list[str | None]
    speaker_source: str | None


def _frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _named_transcripts(
    meta_extra: dict, json_name: str
) -> tuple[list[tuple[str, int | None]], str | None]:
    """(file, channel or None) pairs from the sidecar's "transcript" key, or a problem."""
    value = meta_extra.get(SIDECAR_KEY)
    if value is None:
        return [], None
    items = value if isinstance(value, list) else [value]
    out: list[tuple[str, int | None]] = []
    for item in items:
        name, channel = (item, None) if isinstance(item, str) else (None, None)
        if isinstance(item, dict):
            name = item.get("file")
            channel = item.get("channel", item.get("track"))
        bare = isinstance(name, str) and name == Path(name).name and not name.startswith(".")
        if not bare or not (channel is None or (isinstance(channel, int) and channel >= 0)):
            return [], (
                f'{json_name}: "transcript" must be a file name in the same folder, '
                '{"file": name, "channel": n}, or a list of these; it was ignored.'
            )
        out.append((name, channel))
    return out, None


def _tracks(normalized: pl.DataFrame, turns: pl.DataFrame, rid: str) -> dict[int, _Track]:
    tracks: dict[int, _Track] = {}
    for t in normalized.filter(pl.col("recording_id") == rid).iter_rows(named=True):
        mine = turns.filter((pl.col("recording_id") == rid) & (pl.col("track") == t["track"]))
        spans = list(zip(mine["speaker"], mine["t_start"], mine["t_end"], strict=True))
        speakers, _ = frame_speakers(n_frames(int(t["n_samples"])), spans)
        tracks[int(t["track"])] = _Track(
            track=int(t["track"]),
            duration=float(t["duration_s"]),
            channel_speaker=t["speaker"] if t["channel_mode"] == "channel" else None,
            frame_speakers=speakers,
            speaker_source=mine["source"][0] if mine.height else None,
        )
    return tracks


def _frames_speaker(track: _Track, start: float, end: float) -> str | None:
    """The speaker of more than half of the frames whose centre lies in [start, end)."""
    centres = frame_centres(len(track.frame_speakers))
    lo, hi = np.searchsorted(centres, [start, end], side="left")
    inside = track.frame_speakers[lo:hi]
    if not inside:
        return None
    names, counts = np.unique([s or "" for s in inside], return_counts=True)
    best = int(np.argmax(counts))
    return names[best] or None if 2 * counts[best] > len(inside) else None


def _route(cue: Cue, binding: int | None, tracks: dict[int, _Track]) -> int:
    if binding is not None:
        return binding
    for t in tracks.values():
        if cue.speaker and t.channel_speaker == cue.speaker:
            return t.track
    return min(tracks)


def _listed(sentences: list[str]) -> list[str]:
    shown = [s[0].upper() + s[1:].rstrip(".") + "." for s in sentences[:_MAX_LISTED]]
    if len(sentences) > _MAX_LISTED:
        shown.append(f"…and {len(sentences) - _MAX_LISTED} more cues that could not be read.")
    return shown


class _Day:
    """Collects the rows of one partition."""

    def __init__(self, layout: DataLayout, day: str) -> None:
        self.layout, self.day = layout, day
        self.date = date.fromisoformat(day)
        self.day_dir = layout.raw_day(day)
        self.segments: list[dict] = []
        self.words: list[dict] = []
        self.problems: list[dict] = []

    def problem(self, rid: str | None, file_name: str, sentences: list[str]) -> None:
        self.problems.append(
            {
                "recording_date": self.date,
                "recording_id": rid,
                "file_name": file_name,
                "stage": STAGE,
                "reason": " ".join(sentences),
                "detail": f"raw/{self.day}/{file_name}",
            }
        )
        log.warning("%s/%s: %s", self.day, file_name, " ".join(sentences))

    def read(self, name: str) -> bytes | None:
        """The bytes of a transcript in the day folder, None when it is not a usable file."""
        try:
            path = self.layout.resolve_inside(name, base=self.day_dir)
        except UnsafePathError:
            return None
        if not path.is_file() or path.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        return path.read_bytes()

    def add(
        self,
        rid: str,
        name: str,
        parsed: Parsed,
        binding: int | None,
        tracks: dict[int, _Track],
    ) -> list[str]:
        """Rows for one parsed transcript; returns its problem sentences."""
        problems = _listed(parsed.problems)
        if long := parsed.long_speakers:
            problems.append(
                f"{len(long)} cue{'s' if len(long) > 1 else ''} ({cue_list(long)}) name"
                f"{'' if len(long) > 1 else 's'} a speaker longer than {MAX_NAME_CHARS} "
                "characters; kept without the name."
            )
        by_track: dict[int, list[Cue]] = {}
        for cue in parsed.cues:
            by_track.setdefault(_route(cue, binding, tracks), []).append(cue)
        words_out = 0
        for track_no, cues in sorted(by_track.items()):
            track = tracks[track_no]
            kept, found, dropped = clean_cues(cues, track.duration)
            problems += found
            words_out += dropped
            self._rows(rid, name, parsed, track, kept)
        if words_out:
            problems.append(
                f"{words_out} word timing{'s' if words_out > 1 else ''} (negative, reversed or "
                "after the end) left out."
            )
        return problems

    def _rows(
        self, rid: str, name: str, parsed: Parsed, track: _Track, kept: list[CleanCue]
    ) -> None:
        first = sum(
            1 for r in self.segments if r["recording_id"] == rid and r["track"] == track.track
        )
        for idx, c in enumerate(kept, start=first):
            cue = c.cue
            speaker, source = cue.speaker, "transcript"
            if speaker is None:
                speaker = _frames_speaker(track, cue.start, cue.end)
                source = track.speaker_source if speaker else None
            key = {"recording_date": self.date, "recording_id": rid, "track": track.track}
            self.segments.append(
                {
                    **key,
                    "segment_idx": idx,
                    "speaker": speaker,
                    "speaker_source": source,
                    "t_start": cue.start,
                    "t_end": cue.end,
                    "text": cue.text,
                    "clipped": c.clipped,
                    "source_file": f"raw/{self.day}/{name}",
                    "source_format": parsed.format,
                    "encoding": parsed.encoding,
                }
            )
            for w_idx, w in enumerate(cue.words):
                self.words.append(
                    {
                        **key,
                        "segment_idx": idx,
                        "word_idx": w_idx,
                        "speaker": w.speaker or speaker,
                        "t_start": w.start,
                        "t_end": w.end,
                        "word": w.text,
                        "score": w.score,
                        "source_file": f"raw/{self.day}/{name}",
                    }
                )


def _candidates(
    day: _Day, file_name: str, folder: FolderNames, rid: str | None
) -> list[tuple[str, int | None]]:
    """Its transcripts, in the order they are tried: named by the sidecar, then beside it
    (suffixes in any case: talk.VTT is talk.wav's)."""
    stem = Path(file_name).stem
    named: list[tuple[str, int | None]] = []
    json_name = next(iter(folder.sidecars(stem, ".json")), None)
    # day.read refuses links leaving the data dir; the sidecar's own problems are ingest's rows.
    if json_name is not None and day.read(json_name) is not None:
        meta, _ = read_metadata(day.day_dir / json_name)
        named, why = _named_transcripts(meta.extra, json_name)
        if why:
            day.problem(rid, json_name, [why])
    beside = [(n, None) for s in TRANSCRIPT_SUFFIXES for n in folder.sidecars(stem, s)]
    return named + [b for b in beside if b[0] not in {n for n, _ in named}]


def transcripts_of_day(
    layout: DataLayout,
    day: str,
    raw: pl.DataFrame,
    normalized: pl.DataFrame,
    turns: pl.DataFrame,
) -> TranscriptTables:
    """The day's transcript tables and problems (see module doc)."""
    d = _Day(layout, day)
    folder = FolderNames(os.listdir(d.day_dir) if d.day_dir.is_dir() else [])
    names_in_dir = folder.names
    usable = raw.filter(pl.col("status") == "ok")["file_name"]
    usable_stems = {Path(n).stem for n in usable}
    shared = shared_stems(usable)
    claimed: set[str] = set()
    for r in raw.sort("file_name").iter_rows(named=True):
        rid, file_name = r["recording_id"], r["file_name"]
        stem = Path(file_name).stem
        if r["status"] != "ok" and stem in usable_stems:
            continue  # the usable recording of that name owns the transcripts
        if stem in shared:  # same.mp3 and same.flac: same.vtt could be either's
            if file_name == shared[stem][0]:  # said once per transcript, for the whole group
                candidates = _candidates(d, file_name, folder, None)
                claimed.update(n for n, _ in candidates)
                for name, _ in candidates:
                    if name in names_in_dir:
                        d.problem(None, name, [shared_stem_reason(name, shared[stem])])
            continue
        candidates = _candidates(d, file_name, folder, rid)
        claimed.update(n for n, _ in candidates)
        if not candidates:
            continue
        if r["status"] != "ok":
            why = (
                f"its recording {file_name} is a copy of {r['duplicate_of']}; put the "
                f"transcript beside {r['duplicate_of']}."
                if r["status"] == "duplicate"
                else f"its recording {file_name} could not be used (see the recording's row)."
            )
            for name, _ in candidates:
                if name in names_in_dir:
                    d.problem(rid, name, [f"Transcript not used: {why}"])
            continue
        tracks = _tracks(normalized, turns, rid)
        if not tracks:
            continue  # not decoded: the decode stage reports it
        used: dict[int | None, str] = {}
        for name, binding in candidates:
            problems = _one(d, rid, file_name, name, binding, tracks, used, names_in_dir)
            if problems:
                d.problem(rid, name, problems)
    for name in sorted(names_in_dir - claimed):
        if is_transcript_name(name):
            stem = recording_stem(name)
            d.problem(
                None,
                name,
                [
                    f"{name} is a transcript, but there is no recording named {stem} beside it "
                    "and no sidecar names it; it was not used."
                ],
            )
    return TranscriptTables(
        _frame(d.segments, SEGMENTS_SCHEMA).sort("recording_id", "track", "segment_idx"),
        _frame(d.words, WORDS_SCHEMA).sort("recording_id", "track", "segment_idx", "word_idx"),
        _frame(d.problems, QUARANTINE_SCHEMA),
    )


def _one(
    d: _Day,
    rid: str,
    file_name: str,
    name: str,
    binding: int | None,
    tracks: dict[int, _Track],
    used: dict[int | None, str],
    names_in_dir: set[str],
) -> list[str]:
    """Read, parse and add one transcript; its problem sentences (empty when clean)."""
    if name not in names_in_dir:
        return [
            f"The sidecar of {file_name} names the transcript {name}, which is not in the folder."
        ]
    if binding is not None and binding not in tracks:
        return [
            f"{name} is given for channel {binding}, but {file_name} has "
            f"{'only track 0' if len(tracks) == 1 else f'tracks 0-{max(tracks)}'} "
            "(channels are split only with a channel map); it was not used."
        ]
    if binding in used:
        where = "its recording" if binding is None else f"channel {binding}"
        return [f"{used[binding]} already gives the transcript of {where}; {name} was not used."]
    data = d.read(name)
    if data is None:
        return [
            f"{name} is not a readable file inside the data folder, or is larger than "
            f"{MAX_SIDECAR_BYTES // (1024 * 1024)} MB; it was not used."
        ]
    try:
        parsed = parse_transcript(data, name)
    except UnreadableTranscript as exc:
        return [str(exc)]
    except Exception as exc:  # a parser bug must not take the day down: report and go on
        log.exception("parsing %s failed", name)
        return [f"{name} could not be read ({type(exc).__name__}: {exc})."]
    used[binding] = name
    if not parsed.cues and not parsed.problems:
        return [f"{name} holds no cues."]
    return d.add(rid, name, parsed, binding, tracks)
