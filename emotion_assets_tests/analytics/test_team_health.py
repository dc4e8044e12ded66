from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from emotion_assets.analytics.bursts import find_bursts
from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets.analytics.team_health import TEAM_HEALTH_SCHEMA, team_health
from emotion_assets.settings import AnalyticsSettings
from emotion_assets_tests.analytics.frames import DAY, build_frames, raw_recordings, steps

A, B, C, D = ("a" * 16, "b" * 16, "c" * 16, "d" * 16)
SETTINGS = AnalyticsSettings(smoothing_window=1)  # smoothed top = raw top: easy to count by hand


def day_tables() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    # A: alice frames 0–499 (angry 0.9 on 100–299), bob 500–999, both at once on 480–519.
    speakers_a = ["alice"] * 500 + ["bob"] * 500
    overlap_a = [False] * 480 + [True] * 40 + [False] * 480
    rec_a = build_frames(
        1000,
        {"angry": steps((100, 0.0), (200, 0.9), (700, 0.0))},
        recording_id=A,
        speaker=speakers_a,
        overlap=overlap_a,
    )
    # B: alice alone, happy flickering 0 / 0.4 (neutral stays on top).
    rec_b = build_frames(500, {"happy": np.tile([0.0, 0.4], 250)}, recording_id=B, speaker="alice")
    rec_c = build_frames(100, recording_id=C, speaker=["carol"] * 50 + ["erin"] * 50)
    rec_d = build_frames(50, recording_id=D, speaker="frank")
    frames = pl.concat([rec_a, rec_b, rec_c, rec_d])
    recordings = raw_recordings(
        [
            {
                "recording_id": A,
                "file_name": "a.wav",
                "team": "ops",
                "has_rttm": True,
                "metadata_json": json.dumps(
                    {"team": "ops", "teams": {"alice": "support", "bob": "sales"}}
                ),
            },
            {"recording_id": B, "file_name": "b.wav", "speaker": "alice", "team": "support"},
            {"recording_id": C, "file_name": "c.wav", "speaker": "carol", "team": "ops"},
            {"recording_id": D, "file_name": "d.wav", "team": "ops"},
        ]
    )
    turns = pl.DataFrame(
        {
            "recording_date": [DAY, DAY],
            "recording_id": [A, A],
            "track": pl.Series([0, 0], dtype=pl.Int32),
            "turn_idx": pl.Series([0, 1], dtype=pl.Int32),
            "speaker": ["alice", "bob"],
            "t_start": [0.0, 9.6],
            "t_end": [10.4, 20.0],
            "duration_s": [10.4, 10.4],
            "source": ["rttm", "rttm"],
        }
    )
    return frames, recordings, turns


def rows() -> dict[str, dict]:
    frames, recordings, turns = day_tables()
    bursts = find_bursts(smooth_frames(frames, window=1))
    table = team_health(frames, None, bursts, recordings, turns, SETTINGS)
    assert dict(table.schema) == TEAM_HEALTH_SCHEMA
    return {r["speaker"]: r for r in table.iter_rows(named=True)}


def test_speakers_are_attributed_across_recordings_and_overlap_goes_to_neither():
    out = rows()
    assert sorted(out) == ["alice", "bob", "carol", "erin", "frank"]
    alice, bob = out["alice"], out["bob"]
    assert alice["recording_id"] == "ALL" and alice["recording_ids"] == [A, B]
    assert (alice["n_recordings"], bob["n_recordings"]) == (2, 1)
    assert alice["speech_s"] == pytest.approx((480 + 500) * 0.02)  # 20 overlap frames excluded
    assert bob["speech_s"] == pytest.approx(480 * 0.02)
    # The 40 overlap frames lie inside both turns: both were in the overlap for 0.8 s.
    assert alice["overlap_s"] == pytest.approx(0.8) and bob["overlap_s"] == pytest.approx(0.8)
    assert (alice["anger_burst_count"], bob["anger_burst_count"]) == (1, 0)


def test_teams_come_from_the_sidecar_map_then_the_sidecar_team():
    out = rows()
    assert out["alice"]["team"] == "support"  # map in A, sidecar speaker in B
    assert out["bob"]["team"] == "sales"
    assert out["carol"]["team"] == "ops"  # the sidecar names carol
    assert out["erin"]["team"] is None  # ...and not erin
    assert out["frank"]["team"] == "ops"  # a sidecar without a speaker: its team for everyone


def test_health_score_follows_the_documented_formula():
    out = rows()
    alice, bob = out["alice"], out["bob"]
    assert alice["neutral_share"] == pytest.approx((280 + 500) / 980)
    happy = np.concatenate([np.zeros(480), np.tile([0.0, 0.4], 250)])
    assert alice["happy_volatility"] == pytest.approx(happy.std(), abs=1e-6)
    # 1 burst in 19.6 s of speech = 184 per hour: the anger penalty hits its cap of 50.
    assert alice["anger_bursts_per_hour"] == pytest.approx(3600 / 19.6)
    assert alice["health_score"] == pytest.approx(100 - 50 - 100 * (happy.std() - 0.15), abs=1e-4)
    # Bob: always neutral (share 1.0 > 0.9 costs 10 points), steady, calm.
    assert bob["neutral_share"] == 1.0 and bob["happy_volatility"] == 0.0
    assert bob["health_score"] == pytest.approx(90.0)


def test_empty_and_missing_inputs():
    frames, _, _ = day_tables()
    table = team_health(frames, None, None, None, None, SETTINGS)
    assert table["anger_burst_count"].sum() == 0 and table["overlap_s"].sum() == 0
    assert table["team"].null_count() == table.height
    empty = team_health(build_frames(0), None, None, None)
    assert empty.is_empty() and dict(empty.schema) == TEAM_HEALTH_SCHEMA
