"""One benchmark case in a fresh process, so each case's peak RSS is its own.

Run as `python -m bench.worker SPEC.json`; writes the result JSON to spec["result_path"] and,
when spec["outputs_path"] is set, the per-clip outputs (.npz) that the parent compares.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.inputs import load_clips, looped
from emotion_assets.foundation.labels import SAMPLE_RATE

WARMUP_S = 5.0  # a short first call pays one-off costs (allocator, lazy init) outside the timing


def _status_mb(field: str) -> float | None:
    """A memory line of /proc/self/status (Linux), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    """Peak RSS of this process image: VmHWM. ru_maxrss is a fallback only: after a vfork+exec it
    also reports the parent's peak, which would leak the harness's memory into every case."""
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds (user + system) this process has used, on every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _reset_peak_rss() -> bool:
    """Restart VmHWM from the current RSS (Linux >= 4.0: clear_refs 5), to see one phase's peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _inputs(spec: dict[str, Any]) -> dict[str, np.ndarray]:
    clips = load_clips(Path(spec["clips_path"]))
    if spec.get("looped_minutes"):
        minutes = float(spec["looped_minutes"])
        return {f"looped_{minutes:g}min": looped(clips, minutes)}
    names = spec.get("clip_names") or list(clips)
    return {name: clips[name] for name in names}


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


class EngineRunner:
    """The project's engine: scores = softmax(mean frame logits); frame probs and features."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from emotion_assets.engine.config import EngineConfig
        from emotion_assets.engine.core import load_engine

        options = dict(spec.get("engine_options") or {})
        self.config = EngineConfig(
            model=spec["model_dir"],
            device=spec["device"],
            threads=spec["threads"],
            quantize=spec.get("quantize", "none"),
            **options,
        )
        self.engine = load_engine(self.config)
        self.with_features = bool(spec.get("with_features", True))

    def run(self, wave: np.ndarray) -> dict[str, np.ndarray]:
        res = self.engine.score(wave, with_features=self.with_features)
        logits = np.asarray(res.logits, dtype=np.float64)
        out = {
            "scores": _softmax(logits.mean(axis=0)),
            "probs": np.asarray(res.probs, dtype=np.float32),
        }
        if self.with_features and getattr(res, "features", None) is not None:
            out["features"] = np.asarray(res.features, dtype=np.float32)
        return out

    def torch_module(self) -> Any:
        return find_torch_module(self.engine)

    def timed_functions(self) -> list[tuple[Any, str, str | None]]:
        """Engine functions that replace a module's forward (timed whole by the profile)."""
        from emotion_assets.engine import accel

        names = [("local_features_gemm", "conv_feature_extractor"), ("features_forward", None)]
        return [(accel, name, fam) for name, fam in names if hasattr(accel, name)]


class FunasrRunner:
    """funasr's own inference, exactly as a user of the model card would call it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from funasr import AutoModel

        self.model = AutoModel(
            model=spec["model_dir"],
            disable_update=True,
            device=spec["device"],
            ncpu=spec["threads"],
            log_level="ERROR",
        )

    def run(self, wave: np.ndarray) -> dict[str, np.ndarray]:
        res = self.model.generate(input=wave, granularity="frame", disable_pbar=True)[0]
        return {
            "scores": np.asarray(res["scores"], dtype=np.float64),
            "features": np.asarray(res["feats"], dtype=np.float32),
        }

    def torch_module(self) -> Any:
        return self.model.model

    def timed_functions(self) -> list[tuple[Any, str, str | None]]:
        # inference() calls self.extract_features directly: no module hook sees the forward.
        return [(self.model.model, "extract_features", None)]


def find_torch_module(obj: Any, depth: int = 0) -> Any:
    """The torch.nn.Module inside an engine object (attribute names are the engine's business)."""
    import torch

    if isinstance(obj, torch.nn.Module):
        return obj
    if depth > 3:
        return None
    for value in vars(obj).values() if hasattr(obj, "__dict__") else ():
        found = find_torch_module(value, depth + 1)
        if found is not None:
            return found
    return None


RUNNERS = {"engine": EngineRunner, "funasr": FunasrRunner}


def run_throughput(spec: dict[str, Any]) -> dict[str, Any]:
    _set_threads(spec["threads"])
    inputs = _inputs(spec)
    t0 = time.perf_counter()
    runner = RUNNERS[spec["runner"]](spec)
    load_s = time.perf_counter() - t0
    first = next(iter(inputs.values()))
    runner.run(first[: int(WARMUP_S * SAMPLE_RATE)].copy())
    rss_loaded = _rss_mb()
    load_peak = _peak_rss_mb()  # loading holds the checkpoint and the model at once
    can_reset = _reset_peak_rss()
    items, outputs = [], {}
    # Best of `repeats` per clip: another process stealing a core only ever adds time, so the
    # fastest pass is the closest to the machine's real speed (the same rule for both runners).
    repeats = max(1, int(spec.get("repeats", 1)))
    for name, wave in inputs.items():
        walls = []
        for _ in range(repeats):
            t = time.perf_counter()
            out = runner.run(wave)
            walls.append(time.perf_counter() - t)
        items.append(
            {
                "name": name,
                "audio_s": len(wave) / SAMPLE_RATE,
                "wall_s": min(walls),
                "walls_s": [round(w, 3) for w in walls],
            }
        )
        for key, value in out.items():
            outputs[f"{name}/{key}"] = value
    if spec.get("outputs_path"):
        np.savez(spec["outputs_path"], **outputs)
    audio_s = sum(i["audio_s"] for i in items)
    wall_s = sum(i["wall_s"] for i in items)
    result = {
        "audio_s": audio_s,
        "wall_s": wall_s,
        "x_real_time": audio_s / wall_s,
        "repeats": repeats,
        "load_s": load_s,
        "rss_after_load_mb": rss_loaded,
        "peak_rss_mb": max(load_peak, _peak_rss_mb()),
        "load_peak_rss_mb": load_peak,
        "scoring_peak_rss_mb": _peak_rss_mb() if can_reset else None,
        "items": items,
    }
    if str(spec["device"]).startswith("cuda"):
        import torch

        result["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    module = runner.torch_module()
    if module is not None:
        result["params_m"] = round(sum(p.numel() for p in module.parameters()) / 1e6, 1)
    if spec["runner"] == "engine":
        result["engine_config"] = _config_dict(runner.config)
        result["with_features"] = runner.with_features
    return result


def take_turns(
    runs: dict[str, Callable[[np.ndarray], object]], inputs: dict[str, np.ndarray], repeats: int
) -> dict[str, dict[str, list[float]]]:
    """Every runner on every clip, `repeats` passes, the runners' order rotating each pass;
    the wall seconds of each pass, per runner and clip."""
    names = list(runs)
    walls: dict[str, dict[str, list[float]]] = {n: {clip: [] for clip in inputs} for n in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for clip, wave in inputs.items():
            for name in order:
                t = time.perf_counter()
                runs[name](wave)
                walls[name][clip].append(time.perf_counter() - t)
    return walls


def run_paired(spec: dict[str, Any]) -> dict[str, Any]:
    """Several runners in ONE process, taking turns on every clip (the order rotates each pass).

    Throughput ratios from separate processes compare different minutes of a shared machine;
    here every runner meets the same interference, so their ratio is what the code decides.
    Each runner's time on a clip is its best pass. (Memory is measured by the separate cases.)
    """
    _set_threads(spec["threads"])
    inputs = _inputs(spec)
    runners = {}
    for variant in spec[
        "variants"
    ]:  # e.g. {"name": "int8", "runner": "engine", "quantize": "int8"}
        runners[variant["name"]] = RUNNERS[variant["runner"]]({**spec, **variant})
    first = next(iter(inputs.values()))
    for runner in runners.values():
        runner.run(first[: int(WARMUP_S * SAMPLE_RATE)].copy())
    repeats = max(1, int(spec.get("repeats", 3)))
    walls = take_turns({name: r.run for name, r in runners.items()}, inputs, repeats)
    audio_s = sum(len(w) for w in inputs.values()) / SAMPLE_RATE
    out: dict[str, Any] = {"audio_s": audio_s, "repeats": repeats, "runners": {}}
    for name in runners:
        best = sum(min(v) for v in walls[name].values())
        out["runners"][name] = {
            "wall_s": best,
            "x_real_time": audio_s / best,
            "walls_s": {clip: [round(w, 3) for w in v] for clip, v in walls[name].items()},
        }
    return out


def _config_dict(config: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    raw = asdict(config) if is_dataclass(config) else dict(vars(config))
    return {
        k: (v if isinstance(v, int | float | bool | type(None)) else str(v)) for k, v in raw.items()
    }


def run_profile(spec: dict[str, Any]) -> dict[str, Any]:
    from bench.profiling import ModuleTimer

    _set_threads(spec["threads"])
    wave = _inputs(spec)[spec["clip_names"][0]]
    runner = RUNNERS[spec["runner"]](spec)
    runner.run(wave[: int(WARMUP_S * SAMPLE_RATE)].copy())
    timer = ModuleTimer(runner.torch_module(), runner.timed_functions())
    with timer:
        t = time.perf_counter()
        runner.run(wave)
        total = time.perf_counter() - t
    return {"audio_s": len(wave) / SAMPLE_RATE, **timer.summary(total)}


def run_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """The whole Dagster partition (lead's run_day) over files already in raw/<day>/."""
    try:
        from emotion_assets.defs.in_process import run_day
    except ImportError as exc:
        return {"status": "not available", "reason": f"emotion_assets.defs.in_process: {exc}"}
    _set_threads(spec["threads"])
    t = time.perf_counter()
    # run_day's first act; timed apart so the report can say what importing costs (torch
    # among it, which the engine alone pays inside its load time).
    import emotion_assets.definitions  # noqa: F401

    import_s = time.perf_counter() - t
    summary = run_day(Path(spec["data_dir"]), spec["day"])
    wall = time.perf_counter() - t
    return {
        "status": "ok",
        "wall_s": wall,
        "import_s": import_s,
        "peak_rss_mb": _peak_rss_mb(),
        "summary": json.loads(json.dumps(summary, default=str)),
    }


def run_engine_files(spec: dict[str, Any]) -> dict[str, Any]:
    """The engine alone on the pipeline's tracks: model load + scoring, nothing else.

    spec["tracks"]: [{path, speech}] (each track's VAD segments plan its windows, as in the
    model step); spec["files"]: plain files, scored without segments.
    """
    from bench.inputs import decode

    _set_threads(spec["threads"])
    items = spec.get("tracks") or [{"path": p, "speech": None} for p in spec["files"]]
    waves = [decode(Path(item["path"])) for item in items]
    t, cpu = time.perf_counter(), _cpu_s()
    runner = EngineRunner(spec)
    load_s, load_cpu = time.perf_counter() - t, _cpu_s() - cpu
    t, cpu = time.perf_counter(), _cpu_s()
    for wave, item in zip(waves, items, strict=True):
        speech = item.get("speech")
        runner.engine.score(
            wave,
            with_features=runner.with_features,
            speech=None if speech is None else [(float(a), float(b)) for a, b in speech],
        )
    score_s, score_cpu = time.perf_counter() - t, _cpu_s() - cpu
    return {
        "status": "ok",
        "wall_s": load_s + score_s,
        "load_s": load_s,
        "score_s": score_s,
        # Cores kept busy (CPU seconds / wall seconds): what is left for work beside the engine.
        "load_cores": load_cpu / load_s if load_s > 0 else None,
        "score_cores": score_cpu / score_s if score_s > 0 else None,
        "audio_s": sum(len(w) for w in waves) / SAMPLE_RATE,
        "peak_rss_mb": _peak_rss_mb(),
    }


def run_callday(spec: dict[str, Any]) -> dict[str, Any]:
    """The call day (bench.inputs.call_day) and the clips, taking turns in ONE process.

    One loaded model, three ways of using it: the clips as they are, the call day in
    all-frames mode (windows cut in the VAD's pauses) and in speech-only mode (same plan, only
    speech + margin computed); optionally today's fixed 30 s / 4 s stitching as well, which
    also gives the deviation of pause-aligned scoring on the call day's speech frames.
    """
    import copy
    from dataclasses import replace

    from bench.inputs import call_day, nonspeech_clips
    from emotion_assets.audio.vad import speech_regions
    from emotion_assets.engine.windows import speech_mask

    _set_threads(spec["threads"])
    clips = load_clips(Path(spec["clips_path"]))
    wave, made = call_day(clips, nonspeech_clips(), float(spec["minutes"]), int(spec["seed"]))
    t = time.perf_counter()
    segments = speech_regions(wave)
    vad_s = time.perf_counter() - t
    runner = EngineRunner({**spec, "with_features": False})
    engine = runner.engine
    variants = {"all_frames": engine}
    # the same weights under another plan: shallow copies share the model, only the config differs
    for name, change in (("speech_only", {"speech_only": True}), ("stitched", {"pause_s": 0.0})):
        if name == "stitched" and not spec.get("with_stitched"):
            continue
        variants[name] = copy.copy(engine)
        variants[name].config = replace(engine.config, **change)
    runner.run(wave[: int(WARMUP_S * SAMPLE_RATE)].copy())
    _reset_peak_rss()
    clip_audio = sum(len(w) for w in clips.values()) / SAMPLE_RATE
    names = list(variants)
    walls: dict[str, list[float]] = {n: [] for n in ["clips", *names]}
    outputs: dict[str, np.ndarray] = {}
    for r in range(max(1, int(spec.get("repeats", 1)))):
        # a clips pass (seconds) right before each pass over the day (minutes), so the clips'
        # throughput is sampled throughout the run, not once at its start
        for name in names[r % len(names) :] + names[: r % len(names)]:
            t = time.perf_counter()
            for clip in clips.values():
                engine.score(clip, with_features=False)
            walls["clips"].append(time.perf_counter() - t)
            t = time.perf_counter()
            outputs[name] = variants[name].score(wave, with_features=False, speech=segments)
            walls[name].append(time.perf_counter() - t)
    audio_s = len(wave) / SAMPLE_RATE
    total = len(outputs["all_frames"].probs)
    out: dict[str, Any] = {
        "minutes": float(spec["minutes"]),
        "audio_s": audio_s,
        "made_of_s": made,
        "speech_s": round(float(speech_mask(segments, total).sum()) * 0.02, 1),
        "vad_s": vad_s,
        "clips": {"audio_s": clip_audio, "wall_s": min(walls["clips"]), "walls_s": walls["clips"]},
        "peak_rss_mb": _peak_rss_mb(),
        "engine_config": _config_dict(engine.config),
    }
    out["clips"]["x_real_time"] = clip_audio / out["clips"]["wall_s"]
    for name, variant in variants.items():
        wall = min(walls[name])
        windows = variant.plan(total, segments)
        out[name] = {
            "wall_s": wall,
            "walls_s": [round(w, 2) for w in walls[name]],
            "x_real_time": audio_s / wall,
            "vs_clips": (audio_s / wall) / out["clips"]["x_real_time"],
            "windows": len(windows),
            "computed_frames": int(sum(w.length for w in windows)),
            "frames": total,
        }
    if "stitched" in outputs:
        mask = speech_mask(segments, total)
        a, b = outputs["stitched"].probs[mask], outputs["all_frames"].probs[mask]
        diff = np.abs(a - b)
        out["deviation_pause_vs_stitched"] = {
            "speech_frames": int(mask.sum()),
            "max_abs_dp": float(diff.max()),
            "mean_abs_dp": float(diff.mean()),
            "top_emotion_agreement": float((a.argmax(1) == b.argmax(1)).mean()),
        }
    return out


TASKS = {
    "callday": run_callday,
    "throughput": run_throughput,
    "paired": run_paired,
    "profile": run_profile,
    "pipeline": run_pipeline,
    "engine_files": run_engine_files,
}


def main(argv: list[str] | None = None) -> int:
    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    result = TASKS[spec["task"]](spec)
    Path(spec["result_path"]).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
