"""python -m bench.pack_fidelity: how far pause-aligned scoring moves from the fixed stitching,
for each packing length (EMOTION_WINDOW_PACK_S), on a call day's speech frames.

Random weights: the figures bound what windowing does to a model of the published architecture,
not how the trained model behaves across pauses (docs/engine.md, Fidelity).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CUT_DISTANCE_FRAMES = 50  # "far from a cut": at least 1 s away


def compare(reference: Any, other: Any, windows: list, mask: np.ndarray) -> dict[str, float]:
    """Deviation of `other` from `reference` (FrameScores) on the frames in `mask`."""
    diff = np.abs(reference.probs - other.probs).max(axis=1)
    cuts = np.array([w.start for w in windows[1:]] or [-(10**9)])
    frames = np.arange(reference.n_frames)
    far = mask & (np.abs(frames[:, None] - cuts[None, :]).min(axis=1) >= CUT_DISTANCE_FRAMES)
    same = reference.probs[mask].argmax(1) == other.probs[mask].argmax(1)
    return {
        "windows": len(windows),
        "same_top_emotion": round(float(same.mean()), 4),
        "mean_abs_dp": round(float(diff[mask].mean()), 4),
        "max_abs_dp": round(float(diff[mask].max()), 3),
        "max_abs_dp_far_from_cuts": round(float(diff[far].max()), 3) if far.any() else None,
        "utterance_max_abs_dp": round(
            float(np.abs(reference.utterance() - other.utterance()).max()), 4
        ),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from bench.flops import add_call_day_options, report_header
    from bench.inputs import call_day, nonspeech_clips, speech_clips
    from emotion_assets.audio.vad import speech_regions
    from emotion_assets.engine.config import EngineConfig
    from emotion_assets.engine.core import load_engine
    from emotion_assets.engine.model_builder import cached_model_dir
    from emotion_assets.engine.windows import speech_mask

    p = argparse.ArgumentParser(prog="python -m bench.pack_fidelity")
    add_call_day_options(p, minutes=2.0, seed=3)  # the fidelity test's call day
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    model = str(cached_model_dir(args.workdir / "models", size=args.model_size, seed=0))
    clips = speech_clips()
    wave, made = call_day(clips, nonspeech_clips(), args.minutes, args.seed)
    segments = speech_regions(wave)
    base = EngineConfig(model=model, threads=args.threads, device="cpu")
    reference = load_engine(replace(base, pause_s=0.0)).score(
        wave, with_features=False, speech=segments
    )
    mask = speech_mask(segments, reference.n_frames)
    rows = {}
    for pack in (float(x) for x in args.pack.split(",")):
        engine = load_engine(replace(base, pack_s=pack))
        scores = engine.score(wave, with_features=False, speech=segments)
        rows[f"{pack:g}"] = compare(
            reference, scores, engine.plan(reference.n_frames, segments), mask
        )
        print(f"pack {pack:g} s: {rows[f'{pack:g}']}", flush=True)
    report = {
        **report_header(args, made),
        "speech_frames": int(mask.sum()),
        "reference": "fixed 30 s windows with 4 s context (EMOTION_WINDOW_PAUSE_S=0)",
        "by_pack_s": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{report['date']}-pack-fidelity-{args.model_size}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
