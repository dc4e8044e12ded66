"""`make bench`: throughput, peak RSS and deviation of the engine versus funasr, in one run.

    .venv/bin/python -m bench.run                # full run (large model, ~25 min on 2 cores)
    .venv/bin/python -m bench.run --quick        # tiny model, short cases (CI smoke test)
    .venv/bin/python -m bench.run --cases clips,int8,5min --device cuda

Every case runs in a fresh subprocess (bench/worker.py) so its peak RSS is its own. Results go
to bench/results/<date>.json and .md; see bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench import compare, inputs, machine, report
from emotion_assets.foundation.labels import SAMPLE_RATE, n_frames
from emotion_assets.foundation.torch_threads import available_cores

REPO = inputs.REPO
FULL_CASES = ("clips", "int8", "5min", "15min", "60min", "profile", "pipeline", "callday")
QUICK_CASES = ("clips", "int8", "0.5min", "profile", "callday")
CALLDAY_SEED = 17
PIPELINE_DAY = "2024-01-01"
# funasr keeps about this many (H, T+E, T+E) float32 tensors alive at once on long inputs
# (cached ALiBi bias, its padded and scaled copies, attention scores, softmax). Measured on this
# machine with the large random model: peak RSS - RSS after load = 4.47 x at 60 s, 4.29 x at
# 90 s; the 151 s run that took 15.8 GB gives 4.3 x.
FUNASR_TXT_COPIES = 4.5
FUNASR_MEMORY_LIMIT_GB = 20.0


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --- subprocess cases --------------------------------------------------------------------------
class Cases:
    """Runs worker specs in fresh subprocesses and keeps their logs in the work directory."""

    def __init__(self, work: Path, threads: int, device: str, timeout_s: float) -> None:
        self.work, self.threads, self.device, self.timeout_s = work, threads, device, timeout_s
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
        }

    def run(
        self, name: str, spec: dict[str, Any], env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        spec = {"threads": self.threads, "device": self.device, **spec}
        spec["result_path"] = str(self.work / f"{name}.result.json")
        spec_path = self.work / f"{name}.spec.json"
        spec_path.write_text(json.dumps(spec, indent=2))
        log_path = self.work / f"{name}.log"
        started = time.perf_counter()
        try:
            with log_path.open("w") as log_file:
                proc = subprocess.run(
                    [sys.executable, "-m", "bench.worker", str(spec_path)],
                    cwd=REPO,
                    env={**self.env, **(env or {})},
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    timeout=self.timeout_s,
                    check=False,
                )
        except subprocess.TimeoutExpired:
            return {"status": "failed", "reason": f"timed out after {self.timeout_s:.0f} s"}
        if proc.returncode != 0:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            why = (
                "killed (SIGKILL: out of memory?)"
                if proc.returncode == -9
                else f"exit {proc.returncode}"
            )
            return {"status": "failed", "reason": f"{why}: {' | '.join(tail)}"}
        result = json.loads(Path(spec["result_path"]).read_text())
        result.setdefault("status", "ok")
        result["process_wall_s"] = time.perf_counter() - started
        return result


def _describe(name: str, res: dict[str, Any]) -> str:
    if "x_real_time" not in res:
        return f"{name}: {res.get('status')} ({res.get('reason', '')})"
    return (
        f"{name}: {res['audio_s']:.1f} s audio in {res['wall_s']:.1f} s "
        f"({res['x_real_time']:.2f}x real time), peak RSS {res['peak_rss_mb'] / 1024:.2f} GB"
    )


# --- funasr memory guard ---------------------------------------------------------------------------
def funasr_memory_estimate(n_samples: int, model_dir: Path, base_mb: float) -> dict[str, Any]:
    """Peak RSS funasr would need for one input: base + copies x 4 B x H x (T + E)^2."""
    conf = yaml.safe_load((model_dir / "config.yaml").read_text())["model_conf"]
    heads = int(conf["modalities"]["audio"]["num_alibi_heads"])
    extra = int(conf["modalities"]["audio"]["num_extra_tokens"])
    t = n_frames(n_samples)
    gb = (base_mb * 2**20 + FUNASR_TXT_COPIES * 4 * heads * (t + extra) ** 2) / 2**30
    return {
        "estimate_gb": round(gb, 1),
        "formula": f"RSS_after_load + {FUNASR_TXT_COPIES} x 4 B x H x (T+E)^2 with "
        f"H={heads} heads, E={extra} extra tokens, T={t} frames, RSS_after_load={base_mb:.0f} MB",
    }


# --- the run ---------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="tiny model and short cases (CI smoke test)"
    )
    p.add_argument(
        "--cases",
        help=f"comma list; default {','.join(FULL_CASES)} "
        f"(--quick: {','.join(QUICK_CASES)}); long cases are '<minutes>min'",
    )
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument(
        "--threads",
        type=int,
        default=available_cores(),
        help="torch threads per case (default: every core the process may use)",
    )
    p.add_argument("--model-size", choices=("tiny", "large"), help="default large (--quick: tiny)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="results folder")
    p.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "emotion-assets-bench",
        help="scratch space; the random model is cached here between runs",
    )
    p.add_argument(
        "--repeats",
        type=int,
        help="passes over each short clip, best one counted (default 3; --quick: 1)",
    )
    p.add_argument(
        "--long-features",
        action="store_true",
        help="also return frame features on the long recordings (adds T x D x 4 bytes)",
    )
    p.add_argument(
        "--callday-minutes",
        type=float,
        help="length of the call day (default 60; --quick: 1)",
    )
    p.add_argument(
        "--callday-stitched",
        action="store_true",
        help="also score the call day with today's fixed 30 s / 4 s windows (ratio + deviation)",
    )
    p.add_argument(
        "--keep", action="store_true", help="keep this run's scratch files (logs, outputs)"
    )
    return p.parse_args(argv)


def _long_minutes(case: str) -> float | None:
    return float(case[:-3]) if case.endswith("min") else None


def _build_model(size: str, workdir: Path) -> Path:
    from emotion_assets.engine.model_builder import cached_model_dir

    # cached_model_dir calls build_model_dir once per content key (config + builder version).
    return cached_model_dir(workdir / "models", size=size, seed=0)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds: the running case is killed, the report written


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started = time.perf_counter()
    today = dt.date.today().isoformat()
    size = args.model_size or ("tiny" if args.quick else "large")
    wanted = [
        c.strip()
        for c in (args.cases or ",".join(QUICK_CASES if args.quick else FULL_CASES)).split(",")
        if c.strip()
    ]
    unknown = [c for c in wanted if c not in FULL_CASES and _long_minutes(c) is None]
    if unknown:
        raise SystemExit(f"unknown cases {unknown}; choose from {FULL_CASES} or '<minutes>min'")
    # Ratios need the short-clip baselines, so clips always run (the call day alone takes its
    # own baseline: the clips taking turns with it in the same process).
    if "clips" not in wanted and wanted != ["callday"]:
        wanted.insert(0, "clips")

    args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=args.workdir))
    results: dict[str, Any] = {
        "date": today,
        "started_at": dt.datetime.now().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine.describe(args.threads, args.device),
        "cases": {},
        "deviation": {},
        "profile": {},
        "pipeline": {"status": "not run", "reason": "not among --cases"},
        "model": {"size": size},
    }
    try:
        log(f"building the {size} random model (cached in {args.workdir / 'models'})")
        model_dir = _build_model(size, args.workdir)
        results["model"]["dir"] = str(model_dir)
        clips = inputs.speech_clips()
        if args.quick:  # the two shortest clips keep the smoke test short
            keep = sorted(clips, key=lambda k: len(clips[k]))[:2]
            clips = {k: clips[k] for k in sorted(keep)}
        clips_path = inputs.save_clips(clips, work / "clips.npz")
        results["inputs"] = {
            "clips": {k: round(len(v) / SAMPLE_RATE, 2) for k, v in clips.items()},
            "source": str(inputs.shared_audio_dir() / "speech"),
            "long_recordings": "the clips concatenated in name order and looped to length",
        }
        base = {"model_dir": str(model_dir), "clips_path": str(clips_path)}
        repeats = args.repeats or (1 if args.quick else 3)
        results["repeats"] = repeats
        timeout = 3600.0 if not args.quick else 300.0
        cases = Cases(work, args.threads, args.device, timeout)

        def checkpoint() -> None:
            _finish(results, started)
            _write(results, args.out, today, final=False)

        _run_all(results, wanted, cases, base, clips, model_dir, work, args, checkpoint)
    except BaseException as exc:  # Ctrl-C / SIGTERM / a crash: the report says so
        results["interrupted"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        _finish(results, started)
        _write(results, args.out, today)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return results


def _run_all(
    results: dict[str, Any],
    wanted: list[str],
    cases: Cases,
    base: dict[str, Any],
    clips: dict,
    model_dir: Path,
    work: Path,
    args: argparse.Namespace,
    checkpoint: Callable[[], None],
) -> None:
    """Short cases first, the long recordings last (longest at the end): an interrupted run
    still has every ratio, and `checkpoint` saves the report after each case."""
    out = {r: work / f"clips_{r}.npz" for r in ("engine", "funasr", "int8")}
    if "clips" in wanted:
        _clips(results, cases, base, out)
        checkpoint()
    if "int8" in wanted:
        _int8(results, cases, base, clips, out, args.device)
        checkpoint()
    if "clips" in wanted:
        _paired(results, cases, base, "int8" in wanted and args.device == "cpu")
        checkpoint()
    if "profile" in wanted:
        longest = max(clips, key=lambda k: len(clips[k]))
        for runner in ("engine", "funasr"):
            spec = {**base, "task": "profile", "runner": runner, "clip_names": [longest]}
            results["profile"][runner] = {**cases.run(f"profile_{runner}", spec), "clip": longest}
        log(report.profile_sentence(results["profile"].get("engine")))
        checkpoint()
    if "pipeline" in wanted:
        results["pipeline"] = _pipeline(cases, base, clips, work, args)
        pipe = results["pipeline"]
        log(f"pipeline: {pipe.get('status')} ratio {pipe.get('ratio')} {pipe.get('reason', '')}")
        checkpoint()
    if "callday" in wanted:
        minutes = args.callday_minutes or (1.0 if args.quick else 60.0)
        spec = {
            **base,
            "task": "callday",
            "runner": "engine",
            "minutes": minutes,
            "seed": CALLDAY_SEED,
            "with_stitched": args.callday_stitched,
            "repeats": results["repeats"],
        }
        results["callday"] = cases.run("callday", spec)
        log(report.callday_sentence(results["callday"]))
        checkpoint()
    funasr_base = (_get_nested(results, "cases", "clips", "funasr") or {}).get(
        "rss_after_load_mb", 1300.0
    )
    for case in sorted((c for c in wanted if _long_minutes(c)), key=_long_minutes):
        _long_case(results, case, cases, base, model_dir, funasr_base, args)
        checkpoint()


def _get_nested(d: dict, *keys: str) -> Any:
    for key in keys:
        d = d.get(key) if isinstance(d, dict) else None
    return d


def _clips(results: dict, cases: Cases, base: dict, out: dict[str, Path]) -> None:
    runs = {
        runner: cases.run(
            f"clips_{runner}",
            {**base, "task": "throughput", "runner": runner, "outputs_path": str(out[runner])},
        )
        for runner in ("engine", "funasr")
    }
    results["cases"]["clips"] = runs
    for runner, res in runs.items():
        log(_describe(f"clips/{runner}", res))
    results["model"]["params_m"] = runs["engine"].get("params_m")
    if all(r.get("status") == "ok" for r in runs.values()):
        results["deviation"]["engine_vs_funasr"] = compare.score_and_feature_deviation(
            out["engine"], out["funasr"]
        )


def _paired(results: dict, cases: Cases, base: dict, with_int8: bool) -> None:
    """The ratios: engine, funasr (and int8) in one process, taking turns on every clip."""
    variants = [{"name": "engine", "runner": "engine"}, {"name": "funasr", "runner": "funasr"}]
    if with_int8:
        variants.append({"name": "int8", "runner": "engine", "quantize": "int8"})
    spec = {**base, "task": "paired", "variants": variants, "repeats": results["repeats"]}
    res = cases.run("paired", spec)
    results["paired"] = res
    for name, r in (res.get("runners") or {}).items():
        log(
            f"paired/{name}: {res['audio_s']:.1f} s audio, best passes {r['wall_s']:.1f} s "
            f"({r['x_real_time']:.2f}x real time)"
        )
    if res.get("status") != "ok":
        log(f"paired: {res.get('status')} {res.get('reason', '')}")


def _int8(results: dict, cases: Cases, base: dict, clips: dict, out: dict, device: str) -> None:
    if device != "cpu":
        results["cases"]["int8"] = {"engine": {"status": "skipped", "reason": "int8 is CPU-only"}}
        return
    spec = {**base, "task": "throughput", "runner": "engine", "quantize": "int8"}
    res = cases.run("int8_engine", {**spec, "outputs_path": str(out["int8"])})
    results["cases"]["int8"] = {"engine": res}
    log(_describe("int8/engine", res))
    if res.get("status") == "ok" and results["cases"]["clips"]["engine"].get("status") == "ok":
        results["deviation"]["int8_vs_fp32"] = compare.quantization_deviation(
            out["engine"], out["int8"], clips
        )


def _long_case(
    results: dict,
    case: str,
    cases: Cases,
    base: dict,
    model_dir: Path,
    funasr_base: float,
    args: argparse.Namespace,
) -> None:
    minutes = _long_minutes(case)
    spec = {**base, "task": "throughput", "looped_minutes": minutes}
    engine_spec = {**spec, "runner": "engine", "with_features": args.long_features}
    runs = {"engine": cases.run(f"{case}_engine", engine_spec)}
    guard = funasr_memory_estimate(int(round(minutes * 60 * SAMPLE_RATE)), model_dir, funasr_base)
    limit = _memory_limit_gb()
    if args.quick:  # the smoke test stays short; the full run measures funasr here
        runs["funasr"] = {"status": "skipped", "reason": "--quick", **guard}
    elif guard["estimate_gb"] <= limit:
        runs["funasr"] = {**cases.run(f"{case}_funasr", {**spec, "runner": "funasr"}), **guard}
    else:
        why = f"would need ~{guard['estimate_gb']:.0f} GB (limit {limit:.0f} GB)"
        runs["funasr"] = {"status": "skipped", "reason": why, **guard}
    results["cases"][case] = runs
    for runner, res in runs.items():
        log(_describe(f"{case}/{runner}", res))


def _memory_limit_gb() -> float:
    import psutil

    return min(FUNASR_MEMORY_LIMIT_GB, 0.8 * psutil.virtual_memory().available / 2**30)


def _pipeline(cases: Cases, base: dict, clips: dict, work: Path, args: argparse.Namespace) -> dict:
    """One partition through run_day versus the engine alone (load + score) on its files."""
    try:
        import emotion_assets.defs.in_process  # noqa: F401
    except ImportError as exc:
        return {"status": "not available", "reason": f"emotion_assets.defs.in_process: {exc}"}
    import soundfile as sf

    data_dir = work / "pipeline_data"
    raw = data_dir / "raw" / PIPELINE_DAY
    raw.mkdir(parents=True)
    speech = inputs.shared_audio_dir() / "speech"
    files = []
    for path in sorted(speech.iterdir()):
        if path.stem in clips:  # sidecars (two_speakers.rttm) go along, as a user would drop them
            copied = Path(shutil.copy2(path, raw / path.name))
            if path.suffix.lower() in inputs.SPEECH_SUFFIXES:
                files.append(copied)
    minutes = 0.5 if args.quick else 5.0
    long_path = raw / f"looped_{minutes:g}min.wav"
    sf.write(long_path, inputs.looped(clips, minutes), SAMPLE_RATE, subtype="PCM_16")
    files.append(long_path)
    env = {
        "EMOTION_MODEL": base["model_dir"],
        "EMOTION_DEVICE": args.device,
        "EMOTION_THREADS": str(args.threads),
        "EMOTION_QUANTIZE": "none",
        "EMOTION_DATA_DIR": str(data_dir),
    }
    pipe = cases.run(
        "pipeline", {"task": "pipeline", "data_dir": str(data_dir), "day": PIPELINE_DAY}, env
    )
    if pipe.get("status") != "ok":
        return pipe
    # The engine alone scores what the model step scored: the pipeline's normalized tracks with
    # their VAD segments, so both plan the same windows (pause-aligned since 2026-12-01; the raw
    # files without segments would get the fixed 30 s / 4 s stitching, 1.36x the frames).
    tracks = _pipeline_tracks(data_dir, PIPELINE_DAY)
    eng = cases.run(
        "pipeline_engine",
        {**base, "task": "engine_files", "runner": "engine", "tracks": tracks},
    )
    if eng.get("status") != "ok":
        return {
            "status": "failed",
            "reason": f"engine alone: {eng.get('reason')}",
            "pipeline": pipe,
        }
    summary = pipe.get("summary") or {}
    steps = summary.get("step_seconds") or {}
    # The ratio's engine time is the model step's own (load + scoring, in its metadata): the same
    # process in the same minutes, so the host's load changes both sides alike. The engine alone,
    # in its own process minutes apart, is the cross-check (the model step adds nothing to it).
    in_run = summary.get("engine_seconds")
    if not in_run:
        return {
            "status": "failed",
            "reason": "the model step wrote no model_load_seconds/scoring_seconds metadata",
            "pipeline": pipe,
        }
    return {
        "status": "ok",
        "files": [f.name for f in files],
        "tracks": len(tracks),
        "audio_s": eng["audio_s"],
        "pipeline_wall_s": pipe["wall_s"],
        "engine_in_run_s": in_run,
        "engine_wall_s": eng["wall_s"],
        "engine_load_s": eng["load_s"],
        "engine_score_s": eng["score_s"],
        "engine_load_cores": eng.get("load_cores"),
        "engine_score_cores": eng.get("score_cores"),
        "ratio": pipe["wall_s"] / in_run,
        "ratio_vs_engine_alone": pipe["wall_s"] / eng["wall_s"],
        "pipeline_import_s": pipe.get("import_s"),
        "breakdown": report.pipeline_breakdown(
            pipe["wall_s"], in_run, steps, import_s=pipe.get("import_s") or 0.0
        ),
        "pipeline_peak_rss_mb": pipe["peak_rss_mb"],
        "pipeline_summary": pipe.get("summary"),
    }


def _pipeline_tracks(data_dir: Path, day: str) -> list[dict[str, Any]]:
    """[{path, speech}] per track the pipeline scored: its normalized WAV and VAD segments."""
    import polars as pl

    from emotion_assets.audio.ingest import wav_path
    from emotion_assets.foundation.layout import DataLayout

    layout = DataLayout(data_dir)

    def table(name: str) -> pl.DataFrame:
        return pl.read_parquet(layout.lake / name / f"recording_date={day}" / "data.parquet")

    segments = table("speech_segments")
    tracks = []
    for rid, track in (
        table("normalized_audio")
        .select("recording_id", "track")
        .sort("recording_id", "track")
        .iter_rows()
    ):
        seg = segments.filter((pl.col("recording_id") == rid) & (pl.col("track") == track))
        tracks.append(
            {
                "path": str(wav_path(layout, day, rid, track)),
                "speech": [[s, e] for s, e in zip(seg["t_start"], seg["t_end"], strict=True)],
            }
        )
    return tracks


def _finish(results: dict[str, Any], started: float) -> None:
    results["duration_s"] = time.perf_counter() - started
    results["table"] = report.table_rows(results)
    results["targets"] = report.targets(results)


def _write(results: dict[str, Any], out: Path, day: str, final: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{day}-quick" if results.get("quick") else day
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str))
    text = report.markdown(results)
    md_path.write_text(text)
    if final:
        print(text)
        log(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
