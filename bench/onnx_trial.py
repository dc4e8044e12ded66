"""ONNX Runtime trial for the encoder (issue 17, item 3): is ORT faster than the torch engine?

The engine's hot path (normalised window -> conv feature extractor -> positional conv ->
transformer -> proj = frame logits) is exported once per model with torch.onnx.export (dynamic
batch and time axes) and cached beside the model folder as `encoder-fp32.onnx`. The ALiBi bias
is a second graph input (the engine builds it once per window length, accel.AlibiCache), because
a traced bias would freeze the time axis. Then, in ONE process and on the same clips, the torch
fp32 engine, ORT fp32 and the torch int8 engine take turns for several rounds (best pass per
runner: the machine is shared), and each runner's max |Δp| from the torch fp32 engine is
reported. ORT int8 is onnxruntime.quantization's dynamic int8 of the exported graph (cached as
`encoder-int8.onnx`); exporting and quantizing need the `onnx` package.

    python -m bench.onnx_trial                    # full-size random model, shared speech clips
    python -m bench.onnx_trial --size tiny --rounds 1 --out /tmp/x   # seconds: a smoke test
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.inputs import speech_clips
from emotion_assets.engine.core import EngineConfig, build_engine
from emotion_assets.engine.model_builder import cached_model_dir
from emotion_assets.engine.onnx_backend import ONNX_NAME, OrtEncoder
from emotion_assets.foundation.atomic_files import atomic_path

ONNX_INT8_NAME = "encoder-int8.onnx"
RESULTS = Path(__file__).parent / "results"


def quantize_encoder(fp32_path: Path) -> Path:
    """ORT dynamic int8 (MatMul weights per channel) of the exported encoder, made once."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = fp32_path.with_name(ONNX_INT8_NAME)
    if not target.is_file():
        with atomic_path(target) as tmp:
            # MatMul only (the Linear layers, as the torch int8 engine): ORT's ConvInteger on
            # the one-channel first conv layer wrecked the tiny model's scores (max |dp| 1.0)
            quantize_dynamic(
                fp32_path,
                tmp,
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
    return target


def run_trial(
    size: str, rounds: int, threads: int, model_root: Path, n_clips: int = 4
) -> dict[str, Any]:
    torch.set_num_threads(threads)
    model_dir = cached_model_dir(model_root, size)
    clips = dict(list(speech_clips().items())[:n_clips])
    load_start = os.getloadavg()
    base = EngineConfig(model=str(model_dir), device="cpu", threads=threads)
    fp32 = build_engine(base)
    t0 = time.perf_counter()
    fresh = not (model_dir / ONNX_NAME).is_file()
    ort_fp32 = build_engine(replace(base, backend="onnx"))  # exports once, beside the model
    export_s = time.perf_counter() - t0
    onnx_path = model_dir / ONNX_NAME
    ort_int8 = copy.copy(ort_fp32)  # the same model and ALiBi cache, the int8 graph
    ort_int8._ort = OrtEncoder(
        ort_fp32.model, quantize_encoder(onnx_path), ort_fp32._alibi, threads
    )
    int8 = build_engine(replace(base, quantize="int8"))
    runners = {
        "torch fp32 (engine)": lambda w: fp32.score(w, with_features=False).probs,
        "ORT fp32": lambda w: ort_fp32.score(w, with_features=False).probs,
        "torch int8 (engine)": lambda w: int8.score(w, with_features=False).probs,
        "ORT int8": lambda w: ort_int8.score(w, with_features=False).probs,
    }
    audio_s = sum(len(w) for w in clips.values()) / 16000
    passes: dict[str, list[float]] = {name: [] for name in runners}
    reference = {k: fp32.score(w, with_features=False).probs for k, w in clips.items()}
    deviation: dict[str, float] = {}
    for name, run in runners.items():  # warm-up pass, also the deviation
        deviation[name] = max(float(np.abs(run(w) - reference[k]).max()) for k, w in clips.items())
    for r in range(rounds):
        order = list(runners) if r % 2 == 0 else list(reversed(runners))
        for name in order:  # turns alternate direction so no runner always goes first
            t = time.perf_counter()
            for w in clips.values():
                runners[name](w)
            passes[name].append(time.perf_counter() - t)
    best = {name: min(p) for name, p in passes.items()}
    base = best["torch fp32 (engine)"]
    import onnxruntime

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": size,
        "model_dir": str(model_dir),
        "onnx": {"path": str(onnx_path), "exported_now": fresh, "export_s": round(export_s, 1)},
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
        "threads": threads,
        "clips": {k: round(len(w) / 16000, 2) for k, w in clips.items()},
        "audio_s": round(audio_s, 2),
        "rounds": rounds,
        "load_average_at_start": [round(x, 2) for x in load_start],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "passes_s": {k: [round(x, 3) for x in v] for k, v in passes.items()},
        "runners": {
            name: {
                "best_pass_s": round(best[name], 3),
                "x_real_time": round(audio_s / best[name], 2),
                "speed_vs_torch_fp32": round(base / best[name], 3),
                "max_abs_dp_vs_torch_fp32": deviation[name],
            }
            for name in runners
        },
    }


def to_markdown(results: list[dict[str, Any]]) -> str:
    lines = ["# ONNX Runtime trial for the encoder", ""]
    for res in results:
        lines += [
            f"Model **{res['model']}** random, {len(res['clips'])} clips ({res['audio_s']} s), "
            f"{res['threads']} threads, {res['rounds']} rounds taking turns (best pass), "
            f"load average {res['load_average_at_start']} -> {res['load_average_at_end']}, "
            f"torch {res['versions']['torch']}, onnxruntime {res['versions']['onnxruntime']}.",
            "",
            "| runner | best pass (s) | x real time | speed vs torch fp32 | max \\|Δp\\| |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, r in res["runners"].items():
            lines.append(
                f"| {name} | {r['best_pass_s']} | {r['x_real_time']} | "
                f"{r['speed_vs_torch_fp32']}x | {r['max_abs_dp_vs_torch_fp32']:.1e} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=["tiny", "large", "both"], default="both")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--clips", type=int, default=4, help="the first N shared speech clips")
    p.add_argument("--out", type=Path, default=RESULTS / "2026-12-01-onnx")
    p.add_argument(
        "--model-root",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "emotion-assets-bench" / "models",
    )
    args = p.parse_args(argv)
    sizes = ["tiny", "large"] if args.size == "both" else [args.size]
    results = [run_trial(s, args.rounds, args.threads, args.model_root, args.clips) for s in sizes]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(to_markdown(results))
    print(to_markdown(results))
    return results


if __name__ == "__main__":
    main()
