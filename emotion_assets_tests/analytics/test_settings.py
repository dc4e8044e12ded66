from __future__ import annotations

import pytest

from emotion_assets.analytics.settings import AnalyticsSettings, parse_burst_rules


def test_defaults_follow_the_seed():
    s = AnalyticsSettings()
    assert s.burst_rules == {"angry": (0.7, 3.0)}
    assert s.smoothing_window == 5
    assert (s.highlight_top_n, s.highlight_window_s) == (5, 3.0)
    assert s.timeline_bucket_s == 60.0 and s.compare_max_lag_s == 2.0 and s.cluster_k == 4


def test_from_env_reads_every_kind_of_field():
    s = AnalyticsSettings.from_env(
        {
            "EMOTION_BURST_RULES": "angry:0.7:3, sad:0.6:5",
            "EMOTION_SMOOTHING_WINDOW": "7",
            "EMOTION_TIMELINE_BUCKET_S": "30",
            "EMOTION_HIGHLIGHT_RANKINGS": "variance",
            "EMOTION_CLUSTER_NORMALIZE": "false",
            "EMOTION_CLUSTER_K": "",  # empty keeps the default
        }
    )
    assert s.burst_rules == {"angry": (0.7, 3.0), "sad": (0.6, 5.0)}
    assert s.smoothing_window == 7 and s.timeline_bucket_s == 30.0
    assert s.highlight_rankings == ("variance",)
    assert s.cluster_normalize is False and s.cluster_k == 4


@pytest.mark.parametrize("text", ["angry:0.7", "rage:0.7:3", "angry:1.5:3", "angry:0.7:0"])
def test_bad_burst_rules_are_refused(text):
    with pytest.raises(ValueError):
        parse_burst_rules(text)


def test_bad_values_are_refused():
    with pytest.raises(ValueError):
        AnalyticsSettings(highlight_rankings=("loudness",))
    with pytest.raises(ValueError):
        AnalyticsSettings(health_neutral_low=0.9, health_neutral_high=0.4)
