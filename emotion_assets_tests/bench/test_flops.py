"""bench.flops: the FLOP model of a window and the pricing of the call day's plans."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.flops import FlopModel, calibrate, price_call_day
from emotion_assets.engine.config import EngineConfig
from emotion_assets.engine.windows import Window


def test_the_fit_recovers_a_quadratic_cost_and_prices_plans_by_window_length() -> None:
    frames = [49, 249, 499, 999, 1499]
    model = FlopModel.fit(frames, [0.5 + 0.02 * t + 3e-6 * t * t for t in frames])
    assert model.max_rel_residual < 1e-9
    assert np.isclose(model.c, 3e-6)
    # one 30 s window costs more than three 10 s windows over the same frames (attention's T²)
    one = model.plan_gflop([Window(0, 1500, 0, 1500)])
    three = model.plan_gflop([Window(500 * i, 500, 500 * i, 500 * (i + 1)) for i in range(3)])
    assert one > three


def test_the_tiny_model_is_priced_within_a_percent_and_stitching_costs_more(
    tiny_model_dir: Path, shared_audio: Path
) -> None:
    from bench.inputs import call_day, nonspeech_clips, speech_clips
    from emotion_assets.audio.vad import speech_regions

    flops = calibrate(tiny_model_dir, seconds=(1.0, 5.0, 15.0, 30.0))
    assert flops.max_rel_residual < 0.01
    clips = speech_clips(shared_audio / "speech")
    wave, _ = call_day(clips, nonspeech_clips(shared_audio / "nonspeech"), minutes=2.0, seed=3)
    base = EngineConfig(model=str(tiny_model_dir))
    plans = {
        "stitched": replace(base, pause_s=0.0),
        "all_frames": base,
        "speech_only": replace(base, speech_only=True),
    }
    day = price_call_day(flops, clips, wave, speech_regions(wave), plans)
    cost = {name: day[name]["gflop_per_audio_s"] for name in plans}
    assert cost["stitched"] > cost["all_frames"] > cost["speech_only"]
    assert day["stitched"]["computed_frames"] > day["all_frames"]["computed_frames"]
