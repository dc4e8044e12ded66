"""Partition-level ingest: one day folder of raw recordings -> the tables of docs/CONTRACTS.md.

Pure functions (no Dagster). raw/ is only ever read; processed/<date>/ is ours and is kept in step
with the table (stale WAVs removed).
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import soundfile as sf

from emotion_assets.audio.decode import TEMP_PREFIX, DecodeError, TrackStats, decode_to_wav
from emotion_assets.audio.probe import DEFAULT_MAX_DURATION_S, ProbeResult, probe_file, sha256_file
from emotion_assets.audio.sidecars import (
    SIDECAR_SUFFIXES,
    FolderNames,
    RecordingMetadata,
    Turn,
    read_metadata,
    read_rttm,
    shared_stem_reason,
    shared_stems,
)
from emotion_assets.audio.vad import VadParams, speech_regions
from emotion_assets.contracts import CONTRACT_SCHEMAS
from emotion_assets.foundation.atomic_files import remove_stale_temps
from emotion_assets.foundation.labels import SAMPLE_RATE
from emotion_assets.foundation.layout import DataLayout, UnsafePathError
from emotion_assets.foundation.transcript_names import is_transcript_name

log = logging.getLogger(__name__)

# Names of files still being written by a copy tool (or by us); never recordings.
TEMP_SUFFIXES: tuple[str, ...] = (".tmp", ".part", ".partial", ".crdownload", ".download", "~")
_OUR_WAV = re.compile(r"^[0-9a-f]{16}_t\d+\.wav$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# RTTM turns may overshoot the end by a rounding step before we call it a problem.
_END_TOLERANCE_S = 0.05

# --- schemas (docs/CONTRACTS.md, spelled out in emotion_assets/contracts.py) ---------------------
RAW_SCHEMA = CONTRACT_SCHEMAS["raw_recordings"]
NORMALIZED_SCHEMA = CONTRACT_SCHEMAS["normalized_audio"]
SEGMENTS_SCHEMA = CONTRACT_SCHEMAS["speech_segments"]
TURNS_SCHEMA = CONTRACT_SCHEMAS["speaker_turns"]
QUARANTINE_SCHEMA = CONTRACT_SCHEMAS["quarantine"]
# Problems as the stages find them; quarantine_table numbers them (problem_idx).
PROBLEM_SCHEMA = {c: t for c, t in QUARANTINE_SCHEMA.items() if c != "problem_idx"}


def _frame(rows: list[dict], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _day(day: str) -> date:
    if not _DAY.match(day):
        raise ValueError(f"partition must be YYYY-MM-DD, got {day!r}")
    return date.fromisoformat(day)


def _problem_row(
    day: date,
    recording_id: str | None,
    file_name: str,
    stage: str,
    reason: str,
    detail: str | None = None,
) -> dict:
    return {
        "recording_date": day,
        "recording_id": recording_id,
        "file_name": file_name,
        "stage": stage,
        "reason": reason,
        "detail": detail,
    }


# --- raw_recordings --------------------------------------------------------------------------
def is_candidate_name(name: str) -> bool:
    """Hidden files, temp files and sidecars are not recordings."""
    lower = name.lower()
    return not (
        name.startswith(".") or lower.endswith(TEMP_SUFFIXES) or lower.endswith(SIDECAR_SUFFIXES)
    )


def _sidecar(
    layout: DataLayout, recording: Path, suffix: str, folder: FolderNames | None = None
) -> Path | None:
    """<name><suffix> (suffix in any case) beside the recording, if it is a regular file inside
    the data dir. `folder`: the names in the recording's folder, when the caller listed it."""
    folder = folder or FolderNames(os.listdir(recording.parent))
    found = folder.sidecars(Path(recording.name).stem, suffix)
    if not found:
        return None
    candidate = recording.with_name(found[0])
    try:
        resolved = layout.resolve_inside(candidate.name, base=recording.parent)
    except UnsafePathError:
        log.warning("sidecar %s points outside the data directory; not read", candidate.name)
        return None
    return resolved if resolved.is_file() else None


def _metadata(
    layout: DataLayout, recording: Path, folder: FolderNames | None = None
) -> tuple[RecordingMetadata, list[str]]:
    path = _sidecar(layout, recording, ".json", folder)
    if path is None:
        return RecordingMetadata(), []
    return read_metadata(path, recording_name=recording.name)


def _classify(layout: DataLayout, day_dir: Path, name: str) -> tuple[Path | None, str | None]:
    """(path to read, None) for a regular file inside the data dir, else (None, why not)."""
    entry = day_dir / name
    try:
        target = layout.resolve_inside(name, base=day_dir)
    except UnsafePathError:
        return (
            None,
            "The file is a link that points outside the data directory; it was not followed.",
        )
    try:
        st = os.stat(target)
    except OSError:
        return None, "The file is a link to something that does not exist."
    if stat.S_ISDIR(st.st_mode):
        return None, "This is a folder, not a recording; folders inside a day folder are not read."
    if not stat.S_ISREG(st.st_mode):
        return None, "This is not a regular file (a pipe, socket or device); it was not read."
    if entry.is_symlink():
        log.info("%s is a link inside the data directory; following it", name)
    return target, None


def probe_day(
    layout: DataLayout,
    day: str,
    *,
    ffmpeg_binary: str | None = None,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
) -> pl.DataFrame:
    """raw_recordings for raw/<day>/: every candidate probed, duplicates by content marked."""
    rec_date = _day(day)
    day_dir = layout.raw_day(day)
    if not day_dir.exists():
        log.warning("no folder %s; the partition is empty", day_dir)
        return _frame([], RAW_SCHEMA)
    layout.resolve_inside(day_dir.relative_to(layout.root))  # the day folder itself must be ours
    folder = FolderNames(os.listdir(day_dir))
    names = sorted(n for n in folder.names if is_candidate_name(n))
    rows: list[dict] = []
    first_by_sha: dict[str, tuple[str, ProbeResult]] = {}
    for name in names:
        row = dict.fromkeys(RAW_SCHEMA)
        row.update(
            recording_date=rec_date, file_name=name, has_rttm=False, source_path=f"raw/{day}/{name}"
        )
        target, why_not = _classify(layout, day_dir, name)
        if target is None:
            row.update(status="quarantined", reason=why_not)
            log.warning("%s/%s quarantined: %s", day, name, why_not)
            rows.append(row)
            continue
        try:
            digest = sha256_file(target)
        except OSError as exc:
            row.update(
                status="quarantined",
                reason="The file could not be read.",
                detail=f"{type(exc).__name__}: {exc}",
            )
            rows.append(row)
            continue
        if digest in first_by_sha:
            original, probe = first_by_sha[digest]
            status, duplicate_of = "duplicate", original
            reason = f"Same content as {original}; only that copy is processed."
            log.info("%s/%s is a duplicate of %s", day, name, original)
        else:
            probe = probe_file(
                target, ffmpeg_binary=ffmpeg_binary, max_duration_s=max_duration_s, sha256=digest
            )
            first_by_sha[digest] = (name, probe)
            status = "ok" if probe.ok else "quarantined"
            duplicate_of, reason = None, probe.problem
        row.update(
            recording_id=probe.recording_id,
            container=probe.container,
            codec=probe.codec,
            duration_s=probe.duration_s,
            sample_rate=probe.sample_rate,
            channels=probe.channels,
            bytes=probe.bytes,
            sha256=probe.sha256,
            status=status,
            duplicate_of=duplicate_of,
            reason=reason,
            detail=probe.detail if status == "quarantined" else None,
        )
        # sidecars sit beside the name, not a target
        meta, _ = _metadata(layout, day_dir / name, folder)
        row.update(
            speaker=meta.speaker,
            team=meta.team_of(meta.speaker),
            compare_with=meta.compare_with,
            metadata_json=meta.raw_json,
            channel_map_json=meta.channel_map_json,
            has_rttm=_sidecar(layout, day_dir / name, ".rttm", folder) is not None,
        )
        log.info("%s/%s: %s%s", day, name, status, f" ({reason})" if reason else "")
        rows.append(row)
    # Recordings sharing a name share no sidecar (turns_of_day says why, once per file).
    shared = shared_stems(r["file_name"] for r in rows if r["status"] == "ok")
    for row in rows:
        if row["status"] == "ok" and Path(row["file_name"]).stem in shared:
            row.update(
                speaker=None,
                team=None,
                compare_with=None,
                metadata_json=None,
                channel_map_json=None,
                has_rttm=False,
            )
    return _frame(rows, RAW_SCHEMA)


# --- normalized_audio ------------------------------------------------------------------------
def _channel_map(raw_row: dict) -> dict[int, str]:
    text = raw_row.get("channel_map_json")
    return {int(k): v for k, v in json.loads(text).items()} if text else {}


def wav_path(layout: DataLayout, day: str, recording_id: str, track: int) -> Path:
    return layout.processed_day(day) / f"{recording_id}_t{track}.wav"


def normalize_day(
    layout: DataLayout,
    day: str,
    raw: pl.DataFrame,
    *,
    ffmpeg_binary: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """16 kHz mono float32 WAVs for the day's usable recordings, and decode problems; WAVs of
    recordings the day no longer has are removed."""
    normalized, problems = normalize_recordings(layout, day, raw, ffmpeg_binary=ffmpeg_binary)
    remove_stale(layout.processed_day(day), {Path(p).name for p in normalized["audio_path"]})
    return normalized, problems


def normalize_recordings(
    layout: DataLayout,
    day: str,
    raw: pl.DataFrame,
    *,
    ffmpeg_binary: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """16 kHz mono float32 WAVs for the usable recordings of `raw` (some or all of a day's),
    and decode problems; other WAVs of the day are left as they are.

    A multi-channel file whose sidecar maps channels to speakers keeps one track per channel;
    anything else is downmixed (the mean of the channels) to track 0.
    """
    rec_date = _day(day)
    out_dir = layout.processed_day(day)
    layout.resolve_inside(out_dir.relative_to(layout.root))
    rows: list[dict] = []
    problems: list[dict] = []
    for r in raw.filter(pl.col("status") == "ok").sort("file_name").iter_rows(named=True):
        rid, name = r["recording_id"], r["file_name"]
        channel_map = _channel_map(r)
        n_channels = r["channels"] or 1
        split = bool(channel_map) and n_channels >= 2

        def problem(reason: str, detail: str | None = None, rid: str = rid, name: str = name):
            problems.append(_problem_row(rec_date, rid, name, "decode", reason, detail))

        # One track at a time, streamed from ffmpeg to the WAV: memory does not grow with the
        # length or the channel count (docs/audio.md, "Memory").
        channels = list(range(n_channels)) if split else [None]
        written: list[tuple[int, Path, TrackStats]] = []
        try:
            source = layout.resolve_inside(r["source_path"])
            for track, channel in enumerate(channels):
                target = wav_path(layout, day, rid, track)
                stats = decode_to_wav(source, target, channel=channel, ffmpeg_binary=ffmpeg_binary)
                if not split and stats.audio_streams > 1:
                    stats = _loudest_first(source, target, stats, ffmpeg_binary, problem)
                written.append((track, target, stats))
        except (DecodeError, UnsafePathError) as exc:
            for _, target, _ in written:
                target.unlink(missing_ok=True)
            problem(
                "The audio could not be decoded to 16 kHz.",
                getattr(exc, "detail", None) or str(exc),
            )
            log.warning("%s/%s: decode failed: %s", day, name, exc)
            continue
        if any(stats.n_samples == 0 for _, _, stats in written):
            for _, target, _ in written:
                target.unlink(missing_ok=True)
            problem("Decoding at 16 kHz produced no samples.")
            continue
        _report_repairs(written, problem)
        for track, target, stats in written:
            if split:
                mode, speaker = "channel", channel_map.get(track)
            else:
                mode, speaker = ("mono" if n_channels == 1 else "downmix"), r["speaker"]
            rows.append(
                {
                    "recording_date": rec_date,
                    "recording_id": rid,
                    "track": track,
                    "channel_mode": mode,
                    "speaker": speaker,
                    "audio_path": layout.relative(target),
                    "sample_rate": SAMPLE_RATE,
                    "n_samples": stats.n_samples,
                    "duration_s": stats.n_samples / SAMPLE_RATE,
                    "source_duration_s": r["duration_s"],
                    **stats.levels(),
                }
            )
        log.info(
            "%s/%s: %d track(s) %s, %.2f s",
            day,
            name,
            len(written),
            "per channel" if split else "mono",
            written[0][2].n_samples / SAMPLE_RATE,
        )
    return _frame(rows, NORMALIZED_SCHEMA), _frame(problems, PROBLEM_SCHEMA)


# A float WAV may overshoot full scale a little after resampling; beyond this it is broken data.
_BROKEN_LEVEL = 2.0


def _report_repairs(written: list[tuple[int, Path, TrackStats]], problem: Callable) -> None:
    """A note for every track whose samples had to be repaired (the recording is still used)."""
    for track, _, stats in written:
        which = f"track {track}: " if len(written) > 1 else ""
        if stats.non_finite:
            problem(
                f"{which}{stats.non_finite} sample(s) were not numbers (NaN or infinite); they "
                "were replaced by silence and the rest of the recording was used.",
                f"non_finite={stats.non_finite}",
            )
        if stats.max_abs_before_clip > _BROKEN_LEVEL:
            problem(
                f"{which}{stats.over_full_scale} sample(s) were far beyond full scale (up to "
                f"{stats.max_abs_before_clip:.3g}); they were clipped to ±1 and the rest of the "
                "recording was used.",
                f"over_full_scale={stats.over_full_scale}",
            )


def _loudest_first(
    source: Path, target: Path, first: TrackStats, ffmpeg_binary: str | None, problem: Callable
) -> TrackStats:
    """With several audio streams: keep the first unless it is silent, then the first with sound.

    The choice is reported either way, so nobody wonders which stream was analysed.
    """
    used, stats = 0, first
    if first.peak == 0.0:
        for stream in range(1, first.audio_streams):
            try:
                candidate = decode_to_wav(
                    source, target, stream=stream, ffmpeg_binary=ffmpeg_binary
                )
            except DecodeError:
                continue
            if candidate.peak > 0.0:
                used, stats = stream, candidate
                break
        else:  # every stream silent: put the first one back
            stats = decode_to_wav(source, target, stream=0, ffmpeg_binary=ffmpeg_binary)
    why = "the first one is silent" if used else "the first one"
    problem(
        f"The file has {first.audio_streams} audio streams; only audio stream {used} was used "
        f"({why}).",
        f"audio_streams={first.audio_streams}; used={used}",
    )
    return stats


def remove_stale(out_dir: Path, keep: set[str]) -> list[str]:
    """Delete our WAVs (and leftover temp files) that no row points to any more."""
    removed: list[str] = []
    if not out_dir.is_dir():
        return removed
    remove_stale_temps(out_dir)  # temp WAVs of writers that died (atomic_path's names)
    for entry in sorted(os.listdir(out_dir)):
        ours = _OUR_WAV.match(entry) or entry.startswith(TEMP_PREFIX)
        path = out_dir / entry
        if ours and entry not in keep and path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(entry)
            log.info("removed stale %s", path.name)
    return removed


# --- speech_segments -------------------------------------------------------------------------
def segment_tracks(
    layout: DataLayout,
    normalized: pl.DataFrame,
    *,
    params: VadParams | None = None,
) -> pl.DataFrame:
    """speech_segments: silero-vad regions of every normalized track (`params`: AudioSettings)."""
    params = params or VadParams()
    rows: list[dict] = []
    for r in normalized.sort("recording_id", "track").iter_rows(named=True):
        wave, rate = sf.read(layout.resolve_inside(r["audio_path"]), dtype="float32")
        if rate != SAMPLE_RATE:
            raise ValueError(f"{r['audio_path']} is {rate} Hz, expected {SAMPLE_RATE}")
        regions = speech_regions(
            wave,
            threshold=params.threshold,
            min_speech_ms=params.min_speech_ms,
            min_silence_ms=params.min_silence_ms,
            speech_pad_ms=params.speech_pad_ms,
            backend=params.backend,
        )
        for idx, (t0, t1) in enumerate(regions):
            rows.append(
                {
                    "recording_date": r["recording_date"],
                    "recording_id": r["recording_id"],
                    "track": r["track"],
                    "segment_idx": idx,
                    "t_start": t0,
                    "t_end": t1,
                    "duration_s": t1 - t0,
                }
            )
        log.info(
            "%s t%d: %d speech segment(s), %.1f s of %.1f s",
            r["recording_id"],
            r["track"],
            len(regions),
            sum(b - a for a, b in regions),
            r["duration_s"],
        )
    return _frame(rows, SEGMENTS_SCHEMA)


# --- speaker_turns ---------------------------------------------------------------------------
def _turn_rows(rec_date: date, rid: str, track: int, turns: list[Turn], source: str) -> list[dict]:
    ordered = sorted(turns, key=lambda t: (t.t_start, t.t_end, t.speaker))
    return [
        {
            "recording_date": rec_date,
            "recording_id": rid,
            "track": track,
            "turn_idx": i,
            "speaker": t.speaker,
            "t_start": t.t_start,
            "t_end": t.t_end,
            "duration_s": t.t_end - t.t_start,
            "source": source,
        }
        for i, t in enumerate(ordered)
    ]


def turns_of_day(
    layout: DataLayout,
    day: str,
    raw: pl.DataFrame,
    normalized: pl.DataFrame,
    *,
    segments: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """speaker_turns from the sidecars, and the sidecar problems as quarantine rows.

    Per recording, first match wins: channel map (split tracks: one turn per channel, spanning
    its speech when `segments` is given, else the whole track), RTTM (its times on every track),
    sidecar `speaker` (one turn over the whole track).
    """
    rec_date = _day(day)
    day_dir = layout.raw_day(day)
    folder = FolderNames(os.listdir(day_dir) if day_dir.is_dir() else [])
    shared = shared_stems(raw.filter(pl.col("status") == "ok")["file_name"])
    rows: list[dict] = []
    problems: list[dict] = []
    tracks_of = (
        {
            rid: list(g.sort("track").iter_rows(named=True))
            for (rid,), g in normalized.group_by("recording_id")
        }
        if normalized.height
        else {}
    )
    speech = (
        {(rid, tr): g for (rid, tr), g in segments.group_by("recording_id", "track")}
        if segments is not None and segments.height
        else {}
    )

    for r in raw.filter(pl.col("status") == "ok").sort("file_name").iter_rows(named=True):
        rid, name = r["recording_id"], r["file_name"]
        recording = day_dir / name

        def problem(file_name: str, reason: str, rid: str = rid) -> None:
            problems.append(
                _problem_row(rec_date, rid, file_name, "sidecar", reason, f"raw/{day}/{file_name}")
            )

        if Path(name).stem in shared:  # whose sidecar it is is unknown: said below
            meta, meta_problems, rttm_path = RecordingMetadata(), [], None
        else:
            meta, meta_problems = _metadata(layout, recording, folder)
            rttm_path = _sidecar(layout, recording, ".rttm", folder)
        stem = Path(name).stem
        json_name = (folder.sidecars(stem, ".json") or [stem + ".json"])[0]
        for text in meta_problems:
            problem(json_name, text)
        rttm_name = (folder.sidecars(stem, ".rttm") or [stem + ".rttm"])[0]
        rttm_turns: list[Turn] = []
        if rttm_path is not None:
            rttm_turns, rttm_problems = read_rttm(rttm_path)
            for text in rttm_problems:
                problem(rttm_name, text)
        n_channels = r["channels"] or 1
        if meta.channels:
            if n_channels < 2:
                problem(
                    json_name,
                    f"{json_name} maps channels to speakers but {name} has one "
                    "channel; the map was ignored.",
                )
            for ch in sorted(c for c in meta.channels if c >= n_channels >= 2):
                problem(
                    json_name,
                    f"{json_name} names channel {ch} but {name} has only "
                    f"{n_channels} channels (0-{n_channels - 1}); ignored.",
                )

        for t in tracks_of.get(rid, []):
            track, duration = t["track"], t["duration_s"]
            if t["channel_mode"] == "channel":
                if rttm_path is not None and track == 0:
                    problem(
                        rttm_name,
                        f"{name} is split by its channel map, which decides who "
                        "speaks; the RTTM was not used.",
                    )
                if t["speaker"] is None:
                    continue
                seg = speech.get((rid, track))
                span = (
                    (seg["t_start"].min(), seg["t_end"].max())
                    if seg is not None
                    else (0.0, duration)
                )
                rows += _turn_rows(rec_date, rid, track, [Turn(t["speaker"], *span)], "channel_map")
            elif rttm_turns:
                inside = [
                    Turn(u.speaker, u.t_start, min(u.t_end, duration))
                    for u in rttm_turns
                    if u.t_start < duration
                ]
                late = sum(u.t_end > duration + _END_TOLERANCE_S for u in rttm_turns)
                if late and track == 0:
                    problem(
                        rttm_name,
                        f"{late} RTTM turn(s) reach past the end of {name} "
                        f"({duration:.2f} s); they were cut at the end.",
                    )
                rows += _turn_rows(rec_date, rid, track, inside, "rttm")
            elif meta.speaker:
                rows += _turn_rows(
                    rec_date, rid, track, [Turn(meta.speaker, 0.0, duration)], "sidecar"
                )

    # Sidecars nobody uses are reported too: no recording of that name (a typo, say), a name
    # several recordings share, or a second spelling of the suffix (talk.json beside talk.JSON).
    stems = {Path(n).stem for n in folder.names if is_candidate_name(n)}
    for n in sorted(folder.names):
        if n.startswith(".") or not n.lower().endswith(SIDECAR_SUFFIXES) or is_transcript_name(n):
            continue  # transcripts are reported by the transcript stage
        stem = Path(n).stem
        if stem in shared:
            reason = shared_stem_reason(n, shared[stem])
        elif stem not in stems:
            reason = f"{n} has no recording with the same name beside it."
        elif (first := folder.sidecars(stem, Path(n).suffix.lower())[0]) != n:
            reason = f"{first} is the sidecar of the recording named {stem}; {n} was not used."
        else:
            continue
        problems.append(_problem_row(rec_date, None, n, "sidecar", reason, f"raw/{day}/{n}"))
    return _frame(rows, TURNS_SCHEMA), _frame(problems, PROBLEM_SCHEMA)


# --- quarantine ------------------------------------------------------------------------------
def quarantine_table(raw: pl.DataFrame, *problem_frames: pl.DataFrame) -> pl.DataFrame:
    """Quarantined raw files (stage 'probe') plus the problems of the later stages.

    Rows are numbered per (recording_date, file_name, stage) in the order they were found
    (`problem_idx`), so several problems of one file are several rows with distinct keys.
    """
    columns = [c for c in QUARANTINE_SCHEMA if c != "problem_idx"]
    probe_rows = (
        raw.filter(pl.col("status") == "quarantined")
        .with_columns(
            stage=pl.lit("probe"),
            detail=pl.col("detail") if "detail" in raw.columns else pl.lit(None),
        )
        .select(columns)
    )
    frames = [probe_rows] + [f.select(columns) for f in problem_frames if f is not None]
    schema = {c: QUARANTINE_SCHEMA[c] for c in columns}
    rows = pl.concat([f.cast(schema) for f in frames], how="vertical")
    key = ["recording_date", "file_name", "stage"]
    return (
        rows.sort("file_name", "stage", maintain_order=True)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int32).over(key).alias("problem_idx"))
        .select(list(QUARANTINE_SCHEMA))
    )
