"""Data-quality core: pure checks (polars) returning CheckOutcome, plus a GX 1.x adapter.

No Dagster here; the wiring wraps these in @asset_check (see registry.all_checks). GX is heavy
to import, so gx_adapter / suites are not imported by this package's __init__.
"""

from emotion_assets.quality.audio_checks import (
    check_audio_durations,
    check_audio_levels,
    check_intervals,
    check_quarantine_reasons,
    check_raw_status,
    check_speaker_turns,
    check_speech_segments,
    check_unique_ok_recordings,
)
from emotion_assets.quality.frame_checks import (
    check_frame_counts,
    check_frame_timeline,
    check_overlap_has_no_speaker,
    check_scores_in_range,
    check_scores_not_null,
    check_scores_sum_to_one,
    check_top_emotion,
)
from emotion_assets.quality.outcome import CheckOutcome, Severity
from emotion_assets.quality.table_checks import (
    check_allowed_values,
    check_fractions,
    check_not_null_keys,
    check_schema,
    check_unique_keys,
)
from emotion_assets.quality.utterance_checks import (
    check_utterance_scores,
    check_utterances_match_frames,
)

__all__ = [
    "CheckOutcome",
    "Severity",
    "check_allowed_values",
    "check_audio_durations",
    "check_audio_levels",
    "check_fractions",
    "check_frame_counts",
    "check_frame_timeline",
    "check_intervals",
    "check_not_null_keys",
    "check_overlap_has_no_speaker",
    "check_quarantine_reasons",
    "check_raw_status",
    "check_schema",
    "check_scores_in_range",
    "check_scores_not_null",
    "check_scores_sum_to_one",
    "check_speaker_turns",
    "check_speech_segments",
    "check_top_emotion",
    "check_unique_keys",
    "check_unique_ok_recordings",
    "check_utterance_scores",
    "check_utterances_match_frames",
]
