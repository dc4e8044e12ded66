"""python -m bench.flops: what each way of windowing a call day computes, in FLOPs.

Wall-clock ratios on this shared 2-core machine move with its load; the arithmetic a plan asks
for does not. A window's cost depends only on its length T (frames): the convolutions, the
projections and the feed-forward layers grow with T, attention with T². So `FlopModel` counts
the forward pass of a few lengths once (torch's FlopCounterMode, on the plain attention path so
that attention's matrix products are counted too), fits GFLOP = a + b·T + c·T², and prices
every plan without running it. The report gives, for the call day (bench.inputs.call_day) and
the clips, GFLOP per audio second in each mode and the ratio to the clips: the throughput
ratio the engine would reach if it ran every plan at the same FLOP rate (an upper bound that
the timed call day in `make bench` then checks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from emotion_assets.engine.core import EngineConfig, plan_track
from emotion_assets.engine.windows import Window, speech_mask, window_frames
from emotion_assets.foundation.labels import SAMPLE_RATE

REPO = Path(__file__).resolve().parents[1]
CALIBRATION_S = (1.0, 5.0, 10.0, 20.0, 30.0)


@dataclass(frozen=True)
class FlopModel:
    """GFLOP of one forward pass over a window of T frames: a + b·T + c·T²."""

    a: float
    b: float
    c: float
    max_rel_residual: float  # worst misfit over the calibration lengths

    def window_gflop(self, frames: int) -> float:
        return self.a + self.b * frames + self.c * frames * frames

    def plan_gflop(self, windows: Iterable[Window]) -> float:
        return sum(self.window_gflop(w.length) for w in windows)

    @classmethod
    def fit(cls, frames: Sequence[int], gflop: Sequence[float]) -> FlopModel:
        t = np.asarray(frames, dtype=float)
        y = np.asarray(gflop, dtype=float)
        coef, *_ = np.linalg.lstsq(np.stack([np.ones_like(t), t, t * t], axis=1), y, rcond=None)
        model = cls(float(coef[0]), float(coef[1]), float(coef[2]), 0.0)
        worst = max(abs(model.window_gflop(int(n)) - g) / g for n, g in zip(t, y, strict=True))
        return replace(model, max_rel_residual=float(worst))


def count_gflop(engine: Any, seconds: float) -> float:
    """FLOPs torch counts for engine.score on `seconds` of audio (one window)."""
    from torch.utils.flop_counter import FlopCounterMode

    wave = (np.random.default_rng(0).standard_normal(int(seconds * SAMPLE_RATE)) * 0.1).astype(
        np.float32
    )
    with FlopCounterMode(display=False) as counter:
        engine.score(wave, with_features=False)
    return counter.get_total_flops() / 1e9


def calibrate(model_dir: Path, seconds: Sequence[float] = CALIBRATION_S) -> FlopModel:
    """Count a few window lengths on the model in `model_dir` and fit the FlopModel."""
    from emotion_assets.engine.config import EngineConfig
    from emotion_assets.engine.core import load_engine

    # fused attention hides its products from the counter; the plain path counts them
    engine = load_engine(EngineConfig(model=str(model_dir), device="cpu", fast_attention=False))
    frames = [window_frames(s) for s in seconds]
    return FlopModel.fit(frames, [count_gflop(engine, s) for s in seconds])


def price_call_day(
    flops: FlopModel,
    clips: dict[str, np.ndarray],
    wave: np.ndarray,
    segments: list[tuple[float, float]],
    plans: dict[str, EngineConfig],
) -> dict[str, Any]:
    """GFLOP per audio second of the clips and of the call day under each config's plan."""
    clip_s = sum(len(c) for c in clips.values()) / SAMPLE_RATE
    clip_gflop = sum(
        flops.window_gflop(window_frames(len(c) / SAMPLE_RATE)) for c in clips.values()
    )
    per_s_clips = clip_gflop / clip_s
    audio_s = len(wave) / SAMPLE_RATE
    total = window_frames(audio_s)
    out: dict[str, Any] = {
        "audio_s": round(audio_s, 1),
        "speech_s": round(float(speech_mask(segments, total).sum()) * 0.02, 1),
        "clips": {"audio_s": round(clip_s, 1), "gflop_per_audio_s": round(per_s_clips, 3)},
    }
    for name, config in plans.items():
        windows = plan_track(config, total, segments)
        per_s = flops.plan_gflop(windows) / audio_s
        out[name] = {
            "windows": len(windows),
            "mean_window_s": round(sum(w.length for w in windows) * 0.02 / len(windows), 1),
            "computed_frames": int(sum(w.length for w in windows)),
            "frames": total,
            "gflop_per_audio_s": round(per_s, 3),
            "compute_vs_clips": round(per_s_clips / per_s, 3),
        }
    return out


def add_call_day_options(p: argparse.ArgumentParser, *, minutes: float, seed: int) -> None:
    """The options every call-day study shares (bench.flops, bench.pack_fidelity)."""
    p.add_argument("--model-size", choices=("tiny", "large"), default="large")
    p.add_argument("--minutes", type=float, default=minutes, help="length of the call day")
    p.add_argument("--seed", type=int, default=seed, help="the call day's seed")
    p.add_argument("--pack", default="30,15,10", help="EMOTION_WINDOW_PACK_S values (seconds)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    p.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "emotion-assets-bench"
    )


def report_header(args: argparse.Namespace, made: dict[str, float]) -> dict[str, Any]:
    return {
        "date": dt.date.today().isoformat(),
        "model_size": args.model_size,
        "minutes": args.minutes,
        "seed": args.seed,
        "made_of_s": made,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.flops", description=__doc__.split("\n")[0])
    add_call_day_options(p, minutes=60.0, seed=17)  # make bench's call day
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from bench.inputs import call_day, nonspeech_clips, speech_clips
    from emotion_assets.audio.vad import speech_regions
    from emotion_assets.engine.model_builder import cached_model_dir

    args = parse_args(argv)
    started = time.perf_counter()
    model_dir = cached_model_dir(args.workdir / "models", size=args.model_size, seed=0)
    flops = calibrate(model_dir)
    clips = speech_clips()
    wave, made = call_day(clips, nonspeech_clips(), args.minutes, args.seed)
    segments = speech_regions(wave)
    base = EngineConfig(model=str(model_dir))
    plans = {"stitched": replace(base, pause_s=0.0)}
    for pack in (float(p) for p in args.pack.split(",")):
        plans[f"all_frames_pack{pack:g}"] = replace(base, pack_s=pack)
        plans[f"speech_only_pack{pack:g}"] = replace(base, pack_s=pack, speech_only=True)
    report = {
        **report_header(args, made),
        "flop_model": flops.__dict__,
        "call_day": price_call_day(flops, clips, wave, segments, plans),
        "duration_s": round(time.perf_counter() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{report['date']}-flops"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    return report


def markdown(report: dict[str, Any]) -> str:
    day, fm = report["call_day"], report["flop_model"]
    lines = [
        f"# FLOPs per audio second, {report['minutes']:g}-minute call day — {report['date']}",
        "",
        f"Model: {report['model_size']} (random weights, published architecture). FLOP model "
        f"GFLOP = {fm['a']:.3f} + {fm['b']:.5f}·T + {fm['c']:.3e}·T² (T frames), worst misfit "
        f"{100 * fm['max_rel_residual']:.2f} % over {', '.join(f'{s:g}' for s in CALIBRATION_S)} s "
        f"windows. Day: {day['audio_s']} s, {day['speech_s']} s of it speech "
        f"(made of {report['made_of_s']}).",
        "",
        f"Clips: {day['clips']['gflop_per_audio_s']} GFLOP per audio second.",
        "",
        "| plan | windows | mean window s | frames computed / frames | GFLOP per audio s "
        "| clips' cost / this cost |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in day.items():
        if not isinstance(row, dict) or "windows" not in row:
            continue
        lines.append(
            f"| {name} | {row['windows']} | {row['mean_window_s']} | "
            f"{row['computed_frames'] / row['frames']:.3f} | {row['gflop_per_audio_s']} | "
            f"{row['compute_vs_clips']}x |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
