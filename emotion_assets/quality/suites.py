"""Great Expectations suites: the value rules of the contract tables that no polars check has.

Each rule has one home. The contract's structure (columns, dtypes, keys, allowed values,
fractions; emotion_assets/contracts.py) is checked by quality/table_checks.py for every table,
and the computed rules (frame counts, timelines, softmax of mean logits, intervals, levels) by
the other polars modules; GX holds the per-value expectations below (identifier formats, a
partition that is not empty, required fields, positive lengths). Each function returns a fresh
list of GX 1.x expectations for `gx_adapter.run_suite`.
"""

from __future__ import annotations

from collections.abc import Callable

from emotion_assets.quality._gx import gx

E = gx.expectations
Expectation = gx.expectations.Expectation

HEX16 = r"^[0-9a-f]{16}$"
HEX64 = r"^[0-9a-f]{64}$"


def _non_empty() -> Expectation:
    return E.ExpectTableRowCountToBeBetween(min_value=1)


def _required(*columns: str) -> list[Expectation]:
    return [E.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def _positive(*columns: str) -> list[Expectation]:
    return [
        E.ExpectColumnValuesToBeBetween(column=c, min_value=0, strict_min=True) for c in columns
    ]


def raw_recordings_suite() -> list[Expectation]:
    return [
        _non_empty(),  # a partition exists because files arrived that day
        E.ExpectColumnValuesToMatchRegex(column="recording_id", regex=HEX16),
        E.ExpectColumnValuesToMatchRegex(column="sha256", regex=HEX64),
        *_required("has_rttm", "status"),
    ]


def normalized_audio_suite() -> list[Expectation]:
    return [*_positive("n_samples", "duration_s"), *_required("audio_path")]


def speech_segments_suite() -> list[Expectation]:
    return _positive("duration_s")


def speaker_turns_suite() -> list[Expectation]:
    return [*_required("speaker", "source"), *_positive("duration_s")]


def quarantine_suite() -> list[Expectation]:
    return _required("stage")


def frame_emotion_scores_suite() -> list[Expectation]:
    return [_non_empty(), *_required("model_id", "is_speech")]


def utterance_emotion_scores_suite() -> list[Expectation]:
    return [_non_empty(), *_required("model_id")]


def emotion_embeddings_suite() -> list[Expectation]:
    return [
        *_required("embedding", "model_id"),
        E.ExpectColumnValuesToBeBetween(column="t_start", min_value=0),
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="t_end", column_B="t_start"),
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
