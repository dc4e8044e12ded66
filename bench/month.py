"""A synthetic month for the warehouse benchmark: every lake table of a call-centre day.

Frame scores come from a cheap seeded generator instead of the model: per emotion an AR(1)
random walk of logits (scores drift over seconds, as real ones do, so bursts and highlights
exist), softmax per frame (rows sum to one). Everything downstream is the project's own code:
`engine.tables.frame_table` / `utterance_table`, the analytics builders, `contracts.conform`,
and `warehouse.lake.write_partitions` — so sizes, sort order and row groups are the real ones.
The cookbook's example day is built in full; the other days are derived from it (write_month):
new ids, fresh frame scores and smoothed curves, the small tables moved. One day is written at a
time, so memory holds two days' tables (the template and the day being written), not the month.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy.signal import lfilter

from emotion_assets.analytics import (
    cluster_embeddings,
    compare_recordings,
    emotion_timeline,
    find_bursts,
    find_highlights,
    recording_summary,
    smooth_frames,
    team_health,
)
from emotion_assets.analytics.segment_emotions import segment_emotions
from emotion_assets.contracts import TABLE_SCHEMAS, conform
from emotion_assets.engine.core import FrameScores
from emotion_assets.engine.tables import frame_table, utterance_table
from emotion_assets.foundation.labels import EMOTIONS, SAMPLE_RATE
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.warehouse.lake import write_partitions

# The cookbook's example ids and day (docs/analytics.md): the month holds them, so every recipe
# answers something instead of scanning for nothing.
EXAMPLE_DAY = dt.date(2024, 3, 5)
EXAMPLE_ID = "0123456789abcdef"
EXAMPLE_TAKE = "fedcba9876543210"
FRAME_TABLES = ("frame_emotion_scores", "smoothed_emotion_curves")
MODEL_ID = "synthetic-random"
AGENTS = [f"agent_{i:02d}" for i in range(24)]
TEAMS = ["billing", "support", "sales", "retention"]
WORDS = [
    "hello",
    "thanks",
    "please",
    "refund",
    "order",
    "account",
    "payment",
    "delivery",
    "late",
    "again",
    "sorry",
    "help",
    "problem",
    "today",
    "card",
    "number",
    "waiting",
    "week",
    "cancel",
    "manager",
    "yes",
    "no",
    "maybe",
    "fine",
    "okay",
    "really",
    "terrible",
    "great",
    "understand",
    "check",
    "system",
    "moment",
]
EMBEDDING_DIM = 1024
CALL_MINUTES = (3.0, 9.0)  # call lengths, uniform
SPEECH_S = (1.0, 8.0)  # one turn of speech
PAUSE_S = (0.2, 2.0)  # between turns
AR_COEF = 0.995  # logits drift over ~4 s
AR_STEP = 0.22
BIAS = {"neutral": 1.8, "happy": 0.3, "angry": -0.2}


@dataclass(frozen=True)
class Call:
    day: dt.date
    index: int
    recording_id: str
    file_name: str
    agent: str
    seconds: float
    compare_with: str | None = None


def month_days(days: int, start: dt.date | None = None) -> list[dt.date]:
    """`days` consecutive days that include the cookbook's example day."""
    first = start or EXAMPLE_DAY - dt.timedelta(days=min(4, days - 1))
    return [first + dt.timedelta(days=i) for i in range(days)]


def plan_calls(day: dt.date, hours: float, rng: np.random.Generator) -> list[Call]:
    """Calls of 3–9 minutes until the day holds `hours` of audio (the last one is cut)."""
    calls: list[Call] = []
    left = hours * 3600.0
    while left > 1.0:
        seconds = min(left, rng.uniform(*CALL_MINUTES) * 60.0)
        i = len(calls)
        rid = hashlib.sha256(f"{day}/{i}".encode()).hexdigest()[:16]
        compare_with = None
        if day == EXAMPLE_DAY and i in (0, 1):
            rid = (EXAMPLE_ID, EXAMPLE_TAKE)[i]
            seconds = min(left, calls[0].seconds) if i == 1 else seconds
            compare_with = "call_0000.wav" if i == 1 else None
        agent = AGENTS[int(rng.integers(len(AGENTS)))]
        calls.append(Call(day, i, rid, f"call_{i:04d}.wav", agent, seconds, compare_with))
        left -= seconds
    return calls


def random_probs(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 9) float32 scores: softmax of AR(1) logit walks, rows sum to one."""
    noise = rng.normal(0.0, AR_STEP, size=(n, len(EMOTIONS)))
    logits = lfilter([1.0], [1.0, -AR_COEF], noise, axis=0)
    logits += np.array([BIAS.get(e, 0.0) for e in EMOTIONS])
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def conversation(seconds: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Speech segments: turns of 1–8 s separated by pauses of 0.2–2 s."""
    segments, t = [], rng.uniform(*PAUSE_S)
    while t < seconds - 0.5:
        end = min(seconds, t + rng.uniform(*SPEECH_S))
        segments.append((round(t, 3), round(end, 3)))
        t = end + rng.uniform(*PAUSE_S)
    return segments


def _call_tables(call: Call, rng: np.random.Generator, probs: np.ndarray | None) -> dict:
    n_samples = int(call.seconds * SAMPLE_RATE)
    segments = conversation(call.seconds, rng)
    speakers = [call.agent if i % 2 == 0 else "customer" for i in range(len(segments))]
    # a turn ends where the next one starts, with an occasional 0.3 s talk-over
    turns = [
        (
            spk,
            s,
            (segments[i + 1][0] + (0.3 if rng.random() < 0.1 else 0.0))
            if i + 1 < len(segments)
            else e,
        )
        for i, (spk, (s, e)) in enumerate(zip(speakers, segments, strict=True))
    ]
    n = (n_samples - 400) // 320 + 1
    probs = random_probs(n, rng) if probs is None else probs
    scores = FrameScores(np.log(probs), probs, None, n_samples)
    key = {"recording_date": call.day, "recording_id": call.recording_id, "track": 0}
    frames = frame_table(
        scores,
        recording_id=call.recording_id,
        recording_date=call.day,
        track=0,
        model_id=MODEL_ID,
        speech_segments=segments,
        turns=turns,
    )
    seg_df = pl.DataFrame(
        {
            **{k: [v] * len(segments) for k, v in key.items()},
            "segment_idx": list(range(len(segments))),
            "t_start": [s for s, _ in segments],
            "t_end": [e for _, e in segments],
        }
    ).with_columns((pl.col("t_end") - pl.col("t_start")).alias("duration_s"))
    turn_df = pl.DataFrame(
        {
            **{k: [v] * len(turns) for k, v in key.items()},
            "turn_idx": list(range(len(turns))),
            "speaker": [t[0] for t in turns],
            "t_start": [t[1] for t in turns],
            "t_end": [t[2] for t in turns],
            "source": ["rttm"] * len(turns),
        }
    ).with_columns((pl.col("t_end") - pl.col("t_start")).alias("duration_s"))
    return {"frames": frames, "segments": seg_df, "turns": turn_df, "speakers": speakers}


def _transcript(call: Call, segments: pl.DataFrame, speakers: list[str], rng) -> tuple:
    sentences, words = [], []
    for idx, (t0, t1) in enumerate(segments.select("t_start", "t_end").iter_rows()):
        n_words = max(1, int((t1 - t0) * 2.5))
        tokens = [WORDS[int(j)] for j in rng.integers(len(WORDS), size=n_words)]
        base = {"recording_date": call.day, "recording_id": call.recording_id, "track": 0}
        sentences.append(
            {
                **base,
                "segment_idx": idx,
                "speaker": speakers[idx],
                "speaker_source": "rttm",
                "t_start": t0,
                "t_end": t1,
                "text": " ".join(tokens).capitalize() + ".",
                "clipped": False,
                "source_file": f"raw/{call.day}/{call.file_name[:-4]}.json",
                "source_format": "whisper_json",
                "encoding": "utf_8",
            }
        )
        step = (t1 - t0) / n_words
        words.extend(
            {
                **base,
                "segment_idx": idx,
                "word_idx": i,
                "speaker": speakers[idx],
                "t_start": t0 + i * step,
                "t_end": t0 + (i + 1) * step,
                "word": token,
                "score": 0.9,
                "source_file": f"raw/{call.day}/{call.file_name[:-4]}.json",
            }
            for i, token in enumerate(tokens)
        )
    return sentences, words


def _recordings(calls: list[Call]) -> pl.DataFrame:
    team_of = {a: TEAMS[i % len(TEAMS)] for i, a in enumerate(AGENTS)}
    rows = [
        {
            "recording_date": c.day,
            "recording_id": c.recording_id,
            "file_name": c.file_name,
            "source_path": f"raw/{c.day}/{c.file_name}",
            "container": "wav",
            "codec": "pcm_s16le",
            "duration_s": c.seconds,
            "sample_rate": SAMPLE_RATE,
            "channels": 1,
            "bytes": int(c.seconds * SAMPLE_RATE * 2),
            "sha256": c.recording_id * 4,
            "status": "ok",
            "speaker": c.agent,
            "team": team_of[c.agent],
            "compare_with": c.compare_with,
            "metadata_json": json.dumps({"teams": {c.agent: team_of[c.agent]}}),
            "has_rttm": True,
        }
        for c in calls
    ]
    return pl.DataFrame(rows, schema_overrides={"recording_date": pl.Date})


def _normalized(calls: list[Call]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "recording_date": [c.day for c in calls],
            "recording_id": [c.recording_id for c in calls],
            "track": [0] * len(calls),
            "channel_mode": ["mono"] * len(calls),
            "speaker": [c.agent for c in calls],
            "audio_path": [f"processed/{c.day}/{c.recording_id}_0.wav" for c in calls],
            "sample_rate": [SAMPLE_RATE] * len(calls),
            "n_samples": [int(c.seconds * SAMPLE_RATE) for c in calls],
            "duration_s": [c.seconds for c in calls],
            "source_duration_s": [c.seconds for c in calls],
            "peak": [0.8] * len(calls),
            "rms": [0.1] * len(calls),
            "clipped_fraction": [0.0] * len(calls),
        },
        schema_overrides={"recording_date": pl.Date},
    )


def build_day(day: dt.date, hours: float, seed: int, scratch: Path) -> dict[str, pl.DataFrame]:
    """Every lake table of one synthetic day, conformed to its contract."""
    rng = np.random.default_rng([seed, day.toordinal()])
    calls = plan_calls(day, hours, rng)
    parts: dict[str, list] = {"frames": [], "segments": [], "turns": [], "sent": [], "words": []}
    example_probs = None
    for call in calls:
        tables = _call_tables(call, rng, None)
        if call.recording_id == EXAMPLE_ID:  # the take repeats the original 0.3 s late
            example_probs = tables["frames"].select(EMOTIONS).to_numpy()
        elif call.recording_id == EXAMPLE_TAKE and example_probs is not None:
            tables = _call_tables(call, rng, np.roll(example_probs, 15, axis=0))
        parts["frames"].append(tables["frames"])
        parts["segments"].append(tables["segments"])
        parts["turns"].append(tables["turns"])
        sentences, words = _transcript(call, tables["segments"], tables["speakers"], rng)
        parts["sent"].extend(sentences)
        parts["words"].extend(words)
    frames = pl.concat(parts["frames"])
    segments = conform(pl.concat(parts["segments"]), "speech_segments")
    turns = conform(pl.concat(parts["turns"]), "speaker_turns")
    recordings = conform(_recordings(calls), "raw_recordings")
    sentences = pl.DataFrame(parts["sent"], schema=TABLE_SCHEMAS["transcript_segments"])
    words = pl.DataFrame(parts["words"], schema=TABLE_SCHEMAS["transcript_words"])
    utterances = utterance_table(frames, segments)
    seg_rows = utterances.filter(pl.col("scope") == "segment")
    embeddings = seg_rows.select(
        "recording_date", "recording_id", "track", "segment_idx", "speaker", "t_start", "t_end"
    ).with_columns(
        pl.Series(
            "embedding",
            rng.normal(size=(seg_rows.height, EMBEDDING_DIM)).astype(np.float32),
        ).cast(pl.Array(pl.Float32, EMBEDDING_DIM)),
        pl.lit(MODEL_ID).alias("model_id"),
    )
    smoothed = smooth_frames(frames)
    bursts = find_bursts(smoothed, transcript=sentences)
    tables = {
        "raw_recordings": recordings,
        "normalized_audio": _normalized(calls),
        "speech_segments": segments,
        "speaker_turns": turns,
        "frame_emotion_scores": frames,
        "utterance_emotion_scores": utterances,
        "emotion_embeddings": embeddings,
        "smoothed_emotion_curves": smoothed,
        "recording_summary": recording_summary(frames, smoothed),
        "emotion_bursts": bursts,
        "emotion_highlights": find_highlights(
            smoothed, None, DataLayout(scratch), write_clips=False, transcript=sentences
        ),
        "emotion_timeline": emotion_timeline(frames),
        "team_health": team_health(frames, smoothed, bursts, recordings, turns),
        "emotion_comparisons": compare_recordings(smoothed, recordings),
        "emotion_clusters": cluster_embeddings(embeddings),
        "transcript_segments": sentences,
        "transcript_words": words,
        "segment_emotions": segment_emotions(frames, smoothed, sentences, words),
    }
    return {name: conform(df, name) for name, df in tables.items()}


def _moved(df: pl.DataFrame, day: dt.date, ids: dict[str, str], template: dt.date) -> pl.DataFrame:
    """A template table as another day's: its date, its recording ids, paths naming that day."""
    exprs = [pl.lit(day, pl.Date).alias("recording_date")]
    for col in ("recording_id", "other_recording_id"):
        if col in df.columns:
            exprs.append(pl.col(col).replace(ids))  # unmapped values ('ALL') stay
    if "recording_ids" in df.columns:
        exprs.append(pl.col("recording_ids").list.eval(pl.element().replace(ids)))
    for col in ("source_path", "audio_path", "source_file"):
        if col in df.columns:
            exprs.append(pl.col(col).str.replace(str(template), str(day), literal=True))
    return df.with_columns(exprs)


def derive_day(
    template: dict[str, pl.DataFrame], day: dt.date, seed: int
) -> dict[str, pl.DataFrame]:
    """Another day from the template day: the same calls and conversations under new recording
    ids, fresh random frame scores, smoothed curves recomputed from them (both frame tables
    are the day's own); the small per-segment and per-call tables are the template's, moved."""
    rng = np.random.default_rng([seed, day.toordinal()])
    template_day = template["raw_recordings"]["recording_date"][0]
    ids = {
        rid: hashlib.sha256(f"{day}/{i}".encode()).hexdigest()[:16]
        for i, rid in enumerate(template["raw_recordings"].sort("file_name")["recording_id"])
    }
    tables = {
        name: _moved(df, day, ids, template_day)
        for name, df in template.items()
        if name not in FRAME_TABLES
    }
    frames = template["frame_emotion_scores"]
    probs = random_probs(frames.height, rng)
    frames = _moved(frames, day, ids, template_day).with_columns(
        *[pl.Series(e, probs[:, j]) for j, e in enumerate(EMOTIONS)],
        pl.Series("top_emotion", np.array(EMOTIONS)[probs.argmax(axis=1)]),
    )
    tables["frame_emotion_scores"] = frames
    tables["smoothed_emotion_curves"] = conform(smooth_frames(frames), "smoothed_emotion_curves")
    return tables


def write_month(
    lake: Path, days: list[dt.date], hours: float, seed: int, scratch: Path
) -> Iterator[dict]:
    """Build and write one day at a time; yields per day its rows and seconds spent.

    The cookbook's example day is built in full by the project's code (the template); the
    other days are derived from it (derive_day), which keeps a month affordable on 2 cores.
    """
    template_day = EXAMPLE_DAY if EXAMPLE_DAY in days else days[0]
    t0 = time.perf_counter()
    template = build_day(template_day, hours, seed, scratch)
    template_s = time.perf_counter() - t0
    for day in days:
        t0 = time.perf_counter()
        tables = template if day == template_day else derive_day(template, day, seed)
        built = time.perf_counter() - t0 + (template_s if day == template_day else 0.0)
        t1 = time.perf_counter()
        for name, df in tables.items():
            write_partitions(lake, name, [str(day)], df)
        yield {
            "day": str(day),
            "frames": tables["frame_emotion_scores"].height,
            "audio_h": round(float(tables["normalized_audio"]["duration_s"].sum()) / 3600, 3),
            "build_s": round(built, 2),
            "write_s": round(time.perf_counter() - t1, 2),
            "template": day == template_day,
        }
        del tables


MANIFEST = "month.json"


def generate(root: Path, days: int, hours: float, seed: int, log=print) -> dict:
    """Write the month under root/lake (replacing any earlier one); root/month.json records the
    parameters and each day's rows and seconds, so `--reuse` can measure it again later."""
    lake = root / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    (root / MANIFEST).unlink(missing_ok=True)
    scratch = root / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    per_day = []
    for record in write_month(lake, month_days(days), hours, seed, scratch):
        per_day.append(record)
        log(
            f"  wrote {record['day']}: {record['frames']:,} frames "
            f"(build {record['build_s']} s, write {record['write_s']} s)"
        )
    manifest = {
        "days": days,
        "hours_per_day": hours,
        "seed": seed,
        "audio_h": round(sum(r["audio_h"] for r in per_day), 3),
        "frames": sum(r["frames"] for r in per_day),
        "generate_s": round(time.perf_counter() - t0, 1),
        "per_day": per_day,
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest
