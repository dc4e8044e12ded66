"""python -m bench.gpu_check --out DIR: the engine and funasr on one GPU (bench/gpu_check.sh).

On the full-size random model (bench.run's `_build_model`) and one synthetic 10-minute input:
the engine under bf16 autocast with equal windows batched (a batch-size sweep), funasr's
`generate(granularity="frame")` on the same input, their ratio, and how close their scores are.
Then the cross-track sweep: many synthetic calls (2 minutes each, pause-aligned windows from their
known speech, as the pipeline plans them) scored one track at a time and together
(EmotionEngine.score_tracks, whose batches span tracks), for each batch size and track count.
`--dry-run` runs the same code on the CPU with the tiny model and a short input, so the test
suite keeps the script working on machines without a GPU (its numbers mean nothing).
Results: DIR/gpu_check.json and DIR/gpu_check.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.run import _build_model, funasr_memory_estimate
from bench.worker import WARMUP_S
from emotion_assets.engine.core import EngineConfig, TrackInput, build_engine, softmax
from emotion_assets.foundation.labels import SAMPLE_RATE, n_frames

# docs/performance.md: the large model costs ≈ 23.7 GFLOP per second of audio; an H200 multiplies
# bf16 matrices at ≈ 790 TFLOP/s (measured here: /work/.library/device/KINDS.md), so 10 % of that
# limit is ≈ 3,300x real time.
GFLOP_PER_AUDIO_S = 23.7
TARGET_X_REAL_TIME = 3300.0
TARGET_VS_FUNASR = 3.0
CHUNK_S = 30.0  # funasr's input when the whole recording does not fit the GPU
TIME_BUDGET_S = 360.0  # stop the sweep early rather than outrun the 8-minute slot
CROSS_MODES = ("per track", "across tracks", "across tracks, fixed windows")
CROSS_BUDGET_S = 420.0  # the cross-track sweep's last start (gpu_check.sh stops all at 470 s)


def synthetic_speech(seconds: float, seed: int = 0) -> np.ndarray:
    """Seeded noise with a 4 Hz syllable envelope and 0.3–1.5 s pauses: speech-like loudness.

    A random model's cost does not depend on what is said, and the device machine has no
    shared recordings and no ffmpeg, so the input is made here rather than decoded.
    """
    return _synthetic(seconds, seed)[0]


def synthetic_call(seconds: float, seed: int) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """synthetic_speech and its speech segments (s): the stretches between its pauses."""
    wave, sounding = _synthetic(seconds, seed)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], sounding.astype(np.int8), [0]])))
    return wave, [(a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in edges.reshape(-1, 2)]


def _synthetic(seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4.0 * t))
    pauses = np.ones(n, dtype=bool)
    start = 0
    while start < n:
        start += int(rng.uniform(2.0, 8.0) * SAMPLE_RATE)
        pauses[start : start + int(rng.uniform(0.3, 1.5) * SAMPLE_RATE)] = False
    wave = 0.1 * rng.standard_normal(n) * envelope * pauses
    return wave.astype(np.float32), pauses


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _gpu_peak_reset(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()


def _gpu_peak_mb(device: str) -> float | None:
    if device.startswith("cuda"):
        import torch

        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return None


def _timed(fn, device: str, repeats: int) -> tuple[float, list[float], Any]:
    walls, out = [], None
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        out = fn()
        _sync(device)
        walls.append(time.perf_counter() - t0)
    return min(walls), walls, out


def engine_sweep(
    model_dir: Path, wave: np.ndarray, device: str, batch_sizes: list[int], repeats: int, t0: float
) -> tuple[list[dict], Any]:
    """The engine (bf16 autocast on CUDA) at each batch size; one model load for all."""
    audio_s = len(wave) / SAMPLE_RATE
    load0 = time.perf_counter()
    engine = build_engine(EngineConfig(model=str(model_dir), device=device, threads=os.cpu_count()))
    load_s = time.perf_counter() - load0
    rows, first = [], None
    for batch in batch_sizes:
        if time.perf_counter() - t0 > TIME_BUDGET_S:
            rows.append({"batch_size": batch, "skipped": "time budget spent"})
            continue
        engine.config = replace(engine.config, batch_size=batch)
        engine.score(wave[: int(WARMUP_S * SAMPLE_RATE)], with_features=False)  # first-call costs
        _gpu_peak_reset(device)
        best, walls, res = _timed(lambda: engine.score(wave, with_features=False), device, repeats)
        first = first if first is not None else res
        x = audio_s / best
        rows.append(
            {
                "batch_size": batch,
                "wall_s": round(best, 4),
                "walls_s": [round(w, 4) for w in walls],
                "x_real_time": round(x, 1),
                "tflops_effective": round(x * GFLOP_PER_AUDIO_S / 1000, 2),
                "gpu_peak_mb": _gpu_peak_mb(device),
            }
        )
        print(f"engine batch {batch}: {x:.1f}x real time", flush=True)
    return [{"load_s": round(load_s, 2)}, *rows], (engine, first)


def cross_track_sweep(
    engine, track_counts: list[int], batch_sizes: list[int], track_s: float, t0: float
) -> list[dict]:
    """Tracks scored one at a time (batches within a track) and together (batches across
    tracks, score_tracks) at each batch size: wall time and windows per forward pass."""
    device = engine.device
    rows = []
    for count in track_counts:
        calls = [synthetic_call(track_s, seed=100 + i) for i in range(count)]
        audio_s = count * track_s
        for batch in batch_sizes:
            engine.config = replace(engine.config, batch_size=batch)
            for mode in CROSS_MODES:
                if time.perf_counter() - t0 > CROSS_BUDGET_S:
                    skipped = "time budget spent"
                    rows.append(
                        {"tracks": count, "batch_size": batch, "mode": mode, "skipped": skipped}
                    )
                    continue
                # fixed windows (no speech given): every window window_s long, batches fill up
                tracks = [(w, None if "fixed" in mode else s) for w, s in calls]
                groups = [[t] for t in tracks] if mode == "per track" else [tracks]

                def run(groups=groups):
                    for group in groups:
                        for _ in engine.score_tracks(TrackInput(w, s) for w, s in group):
                            pass

                passes = engine.forward_passes
                wall, _, _ = _timed(run, device, 1)
                passes = engine.forward_passes - passes
                windows = sum(len(engine.plan(n_frames(len(w)), s)) for w, s in tracks)
                rows.append(
                    {
                        "tracks": count,
                        "batch_size": batch,
                        "mode": mode,
                        "audio_s": audio_s,
                        "wall_s": round(wall, 4),
                        "x_real_time": round(audio_s / wall, 1),
                        "windows": windows,
                        "forward_passes": passes,
                        "windows_per_pass": round(windows / max(passes, 1), 2),
                    }
                )
                print(f"{count} tracks, batch {batch}, {mode}: {audio_s / wall:.1f}x", flush=True)
    return rows


def funasr_case(model_dir: Path, wave: np.ndarray, device: str, repeats: int) -> dict:
    """funasr's own generate() on the same input: whole when it fits, else in 30 s pieces."""
    from funasr import AutoModel

    load0 = time.perf_counter()
    model = AutoModel(model=str(model_dir), disable_update=True, device=device, log_level="ERROR")
    load_s = time.perf_counter() - load0
    need = funasr_memory_estimate(len(wave), model_dir, base_mb=0.0)
    free_gb = _free_gb(device)
    whole = need["estimate_gb"] <= 0.8 * free_gb
    step = int(CHUNK_S * SAMPLE_RATE)
    pieces = [wave] if whole else [wave[i : i + step] for i in range(0, len(wave), step)]
    model.generate(input=pieces[0][: 5 * SAMPLE_RATE], granularity="frame", disable_pbar=True)

    def run():
        return [model.generate(input=p, granularity="frame", disable_pbar=True)[0] for p in pieces]

    _gpu_peak_reset(device)
    best, walls, _ = _timed(run, device, repeats)
    first = wave[: int(CHUNK_S * SAMPLE_RATE)]  # for the deviation: the same 30 s as the engine
    ref = model.generate(input=first, granularity="frame", disable_pbar=True)[0]["scores"]
    x = len(wave) / SAMPLE_RATE / best
    print(f"funasr ({'whole' if whole else f'{CHUNK_S:.0f} s pieces'}): {x:.1f}x", flush=True)
    return {
        "load_s": round(load_s, 2),
        "input": "whole recording" if whole else f"{len(pieces)} pieces of {CHUNK_S:.0f} s",
        "whole_would_need_gb": need["estimate_gb"],
        "free_gb": round(free_gb, 1),
        "wall_s": round(best, 4),
        "walls_s": [round(w, 4) for w in walls],
        "x_real_time": round(x, 1),
        "gpu_peak_mb": _gpu_peak_mb(device),
        "first_piece_scores": np.asarray(ref, dtype=np.float64).tolist(),
    }


def _free_gb(device: str) -> float:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.mem_get_info()[0] / 2**30
    import psutil

    return psutil.virtual_memory().available / 2**30


def deviation(engine, wave: np.ndarray, funasr_scores: list[float]) -> float:
    """max |engine − funasr utterance score| on funasr's first piece (bf16 vs fp32 on a GPU)."""
    piece = wave[: int(CHUNK_S * SAMPLE_RATE)]
    res = engine.score(piece, with_features=False)
    ours = softmax(np.asarray(res.logits, dtype=np.float64).mean(axis=0))
    return float(np.abs(ours - np.asarray(funasr_scores)).max())


def environment(device: str) -> dict:
    import torch

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
        "cpu_count": os.cpu_count(),
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info


def targets(engine_rows: list[dict], funasr: dict, dry_run: bool) -> dict:
    timed = [r for r in engine_rows if "x_real_time" in r]
    best = max(timed, key=lambda r: r["x_real_time"])
    ratio = best["x_real_time"] / funasr["x_real_time"]
    verdict = (lambda ok: "not judged (dry run)") if dry_run else (lambda ok: bool(ok))
    return {
        "best_batch_size": best["batch_size"],
        "x_real_time": {
            "measured": best["x_real_time"],
            "goal": TARGET_X_REAL_TIME,
            "pass": verdict(best["x_real_time"] >= TARGET_X_REAL_TIME),
        },
        "vs_funasr": {
            "measured": round(ratio, 2),
            "goal": TARGET_VS_FUNASR,
            "pass": verdict(ratio >= TARGET_VS_FUNASR),
        },
    }


def _cross_track_lines(rows: list[dict]) -> list[str]:
    lines = [
        "",
        "Cross-track batching (synthetic calls, pause-aligned windows; windows per forward pass):",
        "",
        "| tracks | batch | mode | wall s | x real time | windows | passes | windows/pass |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "x_real_time" in r:
            lines.append(
                f"| {r['tracks']} | {r['batch_size']} | {r['mode']} | {r['wall_s']} | "
                f"{r['x_real_time']} | {r['windows']} | {r['forward_passes']} | "
                f"{r['windows_per_pass']} |"
            )
    return lines


def markdown(report: dict) -> str:
    env = report["environment"]
    lines = [
        f"# GPU check — {report['date']}{' (DRY RUN: tiny model on the CPU)' if report['dry_run'] else ''}",
        "",
        f"{env.get('gpu', 'CPU')}, torch {env['torch']}, {report['model_size']} random model, "
        f"{report['audio_s']:.0f} s synthetic input; total {report['duration_s']} s.",
        "",
        "| runner | batch | wall s | x real time | effective TFLOP/s | GPU peak MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["engine"][1:]:
        if "x_real_time" in row:
            lines.append(
                f"| engine bf16 | {row['batch_size']} | {row['wall_s']} | {row['x_real_time']} | "
                f"{row['tflops_effective']} | {row['gpu_peak_mb']} |"
            )
    f = report["funasr"]
    lines.append(
        f"| funasr generate ({f['input']}) | – | {f['wall_s']} | {f['x_real_time']} | – | "
        f"{f['gpu_peak_mb']} |"
    )
    t = report["targets"]
    lines += [
        "",
        f"Best engine batch size {t['best_batch_size']}: {t['x_real_time']['measured']}x real "
        f"time (goal ≥ {TARGET_X_REAL_TIME:.0f}x: {t['x_real_time']['pass']}), "
        f"{t['vs_funasr']['measured']}x funasr (goal ≥ {TARGET_VS_FUNASR}x: "
        f"{t['vs_funasr']['pass']}); max |engine − funasr| utterance score on the first "
        f"{CHUNK_S:.0f} s: {report['max_score_deviation']:.2e}.",
    ]
    lines += _cross_track_lines(report["cross_track"])
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_check", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dry-run", action="store_true", help="tiny model on the CPU, 33 s input")
    parser.add_argument("--minutes", type=float, default=None, help="input length (default 10)")
    parser.add_argument("--batch-sizes", default=None, help="default 1,2,4,8,16,32 (dry: 1,2)")
    parser.add_argument("--repeats", type=int, default=None, help="timed passes (default 3)")
    parser.add_argument(
        "--tracks", default=None, help="cross-track sweep: track counts (default 4,16; dry: 3)"
    )
    parser.add_argument(
        "--cross-batch-sizes", default=None, help="cross-track sweep (default 1,8,32; dry: 1,4)"
    )
    parser.add_argument(
        "--track-s", type=float, default=None, help="seconds per track (default 120; dry: 20)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "gpu-check"
    )
    args = parser.parse_args(argv)
    dry = args.dry_run
    args.minutes = args.minutes or (0.55 if dry else 10.0)
    args.batch_sizes = [
        int(b) for b in (args.batch_sizes or ("1,2" if dry else "1,2,4,8,16,32")).split(",")
    ]
    args.repeats = args.repeats or (1 if dry else 3)
    args.tracks = [int(n) for n in (args.tracks or ("3" if dry else "4,16")).split(",")]
    args.cross_batch_sizes = [
        int(b) for b in (args.cross_batch_sizes or ("1,4" if dry else "1,8,32")).split(",")
    ]
    args.track_s = args.track_s or (20.0 if dry else 120.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    device = "cpu" if args.dry_run else "cuda"
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        print(
            "no CUDA device visible to torch: run on a GPU machine, or --dry-run", file=sys.stderr
        )
        return 2
    size = "tiny" if args.dry_run else "large"
    build0 = time.perf_counter()
    model_dir = _build_model(size, args.workdir)
    build_s = time.perf_counter() - build0
    wave = synthetic_speech(args.minutes * 60)
    rows, (engine, _) = engine_sweep(model_dir, wave, device, args.batch_sizes, args.repeats, t0)
    funasr = funasr_case(model_dir, wave, device, min(args.repeats, 2))
    cross = cross_track_sweep(engine, args.tracks, args.cross_batch_sizes, args.track_s, t0)
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "dry_run": args.dry_run,
        "environment": environment(device),
        "model_size": size,
        "model_build_s": round(build_s, 1),
        "audio_s": len(wave) / SAMPLE_RATE,
        "input": "synthetic speech-like noise (bench.gpu_check.synthetic_speech, seed 0)",
        "engine": rows,
        "funasr": funasr,
        "max_score_deviation": deviation(engine, wave, funasr.pop("first_piece_scores")),
        "cross_track": cross,
    }
    report["targets"] = targets(rows, funasr, args.dry_run)
    report["duration_s"] = round(time.perf_counter() - t0, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1))
    text = markdown(report)
    (args.out / "gpu_check.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
