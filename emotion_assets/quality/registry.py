"""Which check guards which table, what it reads, and whether it blocks downstream assets.

The Dagster wiring turns each CheckSpec into an @asset_check on `table` (blocking=True for the
frame-score checks: if they fail, nothing downstream of frame_emotion_scores should run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from emotion_assets.contracts import ALLOWED_VALUES, CONTRACT_SCHEMAS, TABLE_SCHEMAS
from emotion_assets.quality import audio_checks as audio
from emotion_assets.quality import frame_checks as frames
from emotion_assets.quality import table_checks as tables
from emotion_assets.quality import utterance_checks as utterances
from emotion_assets.quality.outcome import CheckOutcome, Severity, combine

FRAMES = "frame_emotion_scores"
UTTS = "utterance_emotion_scores"
NORM = "normalized_audio"

# Tables whose rows grow with the day's audio (a row per frame, utterance or segment). Their
# checks read a group of recordings at a time and combine the groups' outcomes (day_checks.py):
# every rule below holds within a recording, so the day passes when every group passes.
BY_RECORDING = frozenset({FRAMES, UTTS, "smoothed_emotion_curves", "emotion_embeddings"})


@dataclass(frozen=True)
class CheckSpec:
    name: str
    table: str  # the asset the check is attached to (always inputs[0])
    inputs: tuple[str, ...]  # tables passed positionally to `run`
    run: Callable[..., CheckOutcome]
    blocking: bool  # a failure stops the assets downstream of `table`
    description: str
    severity: Severity = "error"  # how a failure is reported (GX suites: "warn")
    # The day's outcome from its groups' outcomes (a table of BY_RECORDING).
    combine: Callable[[Sequence[CheckOutcome]], CheckOutcome] = combine


def _per_table(table: str) -> list[CheckSpec]:
    blocking = table == "frame_emotion_scores"
    generic = [
        ("schema", tables.check_schema, "contract columns present with compatible dtypes"),
        ("unique_keys", tables.check_unique_keys, "no duplicate key"),
        ("not_null_keys", tables.check_not_null_keys, "no null key"),
        ("allowed_values", tables.check_allowed_values, "enumerated columns within their sets"),
        ("fractions", tables.check_fractions, "*_share / *_fraction columns within [0, 1]"),
    ]
    if not ALLOWED_VALUES.get(table):
        generic = [g for g in generic if g[0] != "allowed_values"]
    if not any(c.endswith(("_share", "_fraction")) for c in TABLE_SCHEMAS[table]):
        generic = [g for g in generic if g[0] != "fractions"]
    return [
        CheckSpec(
            f"{table}_{name}",
            table,
            (table,),
            lambda df, fn=fn, table=table: fn(df, table),
            blocking,
            text,
        )
        for name, fn, text in generic
    ]


def _gx(table: str) -> CheckSpec:
    def run(df: pl.DataFrame) -> CheckOutcome:
        # GX is imported on first use only: it costs seconds to import.
        from emotion_assets.quality.gx_adapter import run_suite
        from emotion_assets.quality.suites import suite_for

        return run_suite(df, table, suite_for(table), severity="warn")

    def combined(parts: Sequence[CheckOutcome]) -> CheckOutcome:
        from emotion_assets.quality.gx_adapter import combine_outcomes

        return combine_outcomes(parts)

    return CheckSpec(
        f"{table}_gx_suite",
        table,
        (table,),
        run,
        False,
        "Great Expectations suite",
        "warn",
        combined,
    )


SPECIFIC: tuple[CheckSpec, ...] = (
    CheckSpec(
        "frame_scores_in_range",
        FRAMES,
        (FRAMES,),
        frames.check_scores_in_range,
        True,
        "every score within [0, 1]",
    ),
    CheckSpec(
        "frame_scores_sum_to_one",
        FRAMES,
        (FRAMES,),
        frames.check_scores_sum_to_one,
        True,
        "nine scores sum to 1 ± 1e-4",
    ),
    CheckSpec(
        "frame_scores_not_null",
        FRAMES,
        (FRAMES,),
        frames.check_scores_not_null,
        True,
        "no null/NaN score",
    ),
    CheckSpec(
        "frame_counts",
        FRAMES,
        (FRAMES, NORM),
        frames.check_frame_counts,
        True,
        "floor((N-400)/320)+1 frames per track",
    ),
    CheckSpec(
        "frame_timeline",
        FRAMES,
        (FRAMES,),
        frames.check_frame_timeline,
        True,
        "frame_idx contiguous from 0, times on the 20 ms grid",
    ),
    CheckSpec(
        "frame_top_emotion",
        FRAMES,
        (FRAMES,),
        frames.check_top_emotion,
        True,
        "top_emotion is the argmax",
    ),
    CheckSpec(
        "frame_overlap_speaker",
        FRAMES,
        (FRAMES,),
        frames.check_overlap_has_no_speaker,
        False,
        "overlapping frames have no single speaker",
    ),
    CheckSpec(
        "utterance_matches_frames",
        UTTS,
        (UTTS, FRAMES),
        utterances.check_utterances_match_frames,
        False,
        "scores = softmax(mean frame logits), n_frames = frames covered",
    ),
    CheckSpec(
        "utterance_scores",
        UTTS,
        (UTTS,),
        utterances.check_utterance_scores,
        False,
        "well-formed distributions, confidence/top_emotion/scope consistent",
    ),
    CheckSpec(
        "raw_unique_ok_recordings",
        "raw_recordings",
        ("raw_recordings",),
        audio.check_unique_ok_recordings,
        False,
        "one 'ok' row per recording_id",
    ),
    CheckSpec(
        "raw_status",
        "raw_recordings",
        ("raw_recordings",),
        audio.check_raw_status,
        False,
        "status consistent with duplicate_of / reason / duration",
    ),
    CheckSpec(
        "audio_durations",
        NORM,
        (NORM, "raw_recordings"),
        audio.check_audio_durations,
        False,
        "decoded, source and raw durations agree",
    ),
    CheckSpec(
        "audio_levels",
        NORM,
        (NORM,),
        audio.check_audio_levels,
        False,
        "16 kHz, peak/rms/clipped in [0, 1], rms <= peak",
    ),
    CheckSpec(
        "speech_segment_intervals",
        "speech_segments",
        ("speech_segments", NORM),
        audio.check_speech_segments,
        False,
        "sorted, non-overlapping, inside the track",
    ),
    CheckSpec(
        "speaker_turn_intervals",
        "speaker_turns",
        ("speaker_turns", NORM),
        audio.check_speaker_turns,
        False,
        "sorted, per-speaker non-overlapping, inside",
    ),
    CheckSpec(
        "quarantine_reasons",
        "quarantine",
        ("quarantine",),
        audio.check_quarantine_reasons,
        False,
        "every row has a reason",
    ),
)


def all_checks(with_gx: bool = True) -> list[CheckSpec]:
    specs = [spec for table in TABLE_SCHEMAS for spec in _per_table(table)]
    specs += SPECIFIC
    if with_gx:
        specs += [_gx(table) for table in CONTRACT_SCHEMAS]
    return specs
