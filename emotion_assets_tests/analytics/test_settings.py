from __future__ import annotations

import pytest

from emotion_assets.settings import AnalyticsSettings, SettingsError, load_group, parse_burst_rules


def test_every_kind_of_field_is_read_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "EMOTION_BURST_RULES": "angry:0.7:3, sad:0.6:5",
        "EMOTION_SMOOTHING_WINDOW": "7",
        "EMOTION_TIMELINE_BUCKET_S": "30",
        "EMOTION_HIGHLIGHT_RANKINGS": "variance",
        "EMOTION_CLUSTER_NORMALIZE": "false",
        "EMOTION_CLUSTER_K": "",  # empty is unset
    }.items():
        monkeypatch.setenv(name, value)
    s = load_group(AnalyticsSettings)
    assert s.burst_rules == {"angry": (0.7, 3.0), "sad": (0.6, 5.0)}
    assert s.smoothing_window == 7 and s.timeline_bucket_s == 30.0
    assert s.highlight_rankings == ("variance",)
    assert s.cluster_normalize is False and s.cluster_k == AnalyticsSettings().cluster_k


@pytest.mark.parametrize("text", ["angry:0.7", "rage:0.7:3", "angry:1.5:3", "angry:0.7:0"])
def test_bad_burst_rules_name_the_variable(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOTION_BURST_RULES", text)
    with pytest.raises(SettingsError, match=r"^EMOTION_BURST_RULES="):
        load_group(AnalyticsSettings)


def test_burst_rules_round_trip() -> None:
    assert parse_burst_rules("angry:0.7:3,sad:0.6:5") == {"angry": (0.7, 3.0), "sad": (0.6, 5.0)}


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError):
        AnalyticsSettings(highlight_rankings=("loudness",))
    with pytest.raises(ValueError):
        AnalyticsSettings(health_neutral_low=0.9, health_neutral_high=0.4)
