"""Great Expectations suites, one function per lake table, built from quality/schemas.py.

Each function returns a fresh list of GX 1.x expectations for `gx_adapter.run_suite`.
"""

from __future__ import annotations

from collections.abc import Callable

from emotion_assets.labels import EMOTIONS, SAMPLE_RATE
from emotion_assets.quality._gx import gx
from emotion_assets.quality.schemas import (
    ALLOWED_VALUES,
    TABLE_KEYS,
    TABLE_SCHEMAS,
    not_null_keys,
)

E = gx.expectations
Expectation = gx.expectations.Expectation

HEX16 = r"^[0-9a-f]{16}$"
HEX64 = r"^[0-9a-f]{64}$"


def _contract(table: str) -> list[Expectation]:
    """Columns exist, keys not null and jointly unique, enumerated columns within their sets."""
    exps: list[Expectation] = [E.ExpectColumnToExist(column=c) for c in TABLE_SCHEMAS[table]]
    exps += [E.ExpectColumnValuesToNotBeNull(column=c) for c in not_null_keys(table)]
    keys = list(TABLE_KEYS[table])
    # "never": rows with a null key part (track-scope utterances) still count as duplicates.
    exps.append(E.ExpectCompoundColumnsToBeUnique(column_list=keys, ignore_row_if="never"))
    exps += [
        E.ExpectColumnValuesToBeInSet(column=c, value_set=list(values))
        for c, values in ALLOWED_VALUES.get(table, {}).items()
    ]
    return exps


def _unit(*columns: str) -> list[Expectation]:
    return [E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1) for c in columns]


def _interval() -> list[Expectation]:
    return [
        E.ExpectColumnValuesToBeBetween(column="t_start", min_value=0),
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="t_end", column_B="t_start"),
    ]


def _non_empty() -> Expectation:
    return E.ExpectTableRowCountToBeBetween(min_value=1)


def raw_recordings_suite() -> list[Expectation]:
    return [
        *_contract("raw_recordings"),
        _non_empty(),  # a partition exists because files arrived that day
        E.ExpectColumnValuesToMatchRegex(column="recording_id", regex=HEX16),
        E.ExpectColumnValuesToMatchRegex(column="sha256", regex=HEX64),
        E.ExpectColumnValuesToNotBeNull(column="has_rttm"),
    ]


def normalized_audio_suite() -> list[Expectation]:
    return [
        *_contract("normalized_audio"),
        E.ExpectColumnValuesToBeInSet(column="sample_rate", value_set=[SAMPLE_RATE]),
        E.ExpectColumnValuesToBeBetween(column="n_samples", min_value=1),
        E.ExpectColumnValuesToBeBetween(column="duration_s", min_value=0, strict_min=True),
        *_unit("peak", "rms", "clipped_fraction"),
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="peak", column_B="rms", or_equal=True),
    ]


def speech_segments_suite() -> list[Expectation]:
    return [*_contract("speech_segments"), *_interval()]


def speaker_turns_suite() -> list[Expectation]:
    return [
        *_contract("speaker_turns"),
        *_interval(),
        E.ExpectColumnValuesToNotBeNull(column="speaker"),
        E.ExpectColumnValuesToNotBeNull(column="source"),
    ]


def quarantine_suite() -> list[Expectation]:
    return [
        *_contract("quarantine"),
        E.ExpectColumnValuesToNotBeNull(column="reason"),
        E.ExpectColumnValueLengthsToBeBetween(column="reason", min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="stage"),
    ]


def frame_emotion_scores_suite() -> list[Expectation]:
    return [
        *_contract("frame_emotion_scores"),
        _non_empty(),
        *[E.ExpectColumnValuesToNotBeNull(column=e) for e in EMOTIONS],
        *_unit(*EMOTIONS),
        E.ExpectColumnValuesToBeBetween(column="frame_idx", min_value=0),
        E.ExpectColumnValuesToNotBeNull(column="top_emotion"),
        E.ExpectColumnValuesToNotBeNull(column="model_id"),
    ]


def utterance_emotion_scores_suite() -> list[Expectation]:
    return [
        *_contract("utterance_emotion_scores"),
        _non_empty(),
        *[E.ExpectColumnValuesToNotBeNull(column=e) for e in EMOTIONS],
        *_unit(*EMOTIONS, "confidence"),
        E.ExpectColumnValuesToBeBetween(column="n_frames", min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="top_emotion"),
        *_interval(),
    ]


def emotion_embeddings_suite() -> list[Expectation]:
    return [
        *_contract("emotion_embeddings"),
        E.ExpectColumnValuesToNotBeNull(column="embedding"),
        *_interval(),
    ]


SUITES: dict[str, Callable[[], list[Expectation]]] = {
    "raw_recordings": raw_recordings_suite,
    "normalized_audio": normalized_audio_suite,
    "speech_segments": speech_segments_suite,
    "speaker_turns": speaker_turns_suite,
    "quarantine": quarantine_suite,
    "frame_emotion_scores": frame_emotion_scores_suite,
    "utterance_emotion_scores": utterance_emotion_scores_suite,
    "emotion_embeddings": emotion_embeddings_suite,
}


def suite_for(table: str) -> list[Expectation]:
    return SUITES[table]()
