"""A day at scale (issue 27, "Bench"): wall time on 1 and 2 Celery workers per queue, peak RSS
per step against the day's audio hours, each stage's throughput per core, and the capacity plan
that follows from them (docs/deploy.md).

Days are made of the shared speech clips (`bench.inputs`): each recording a seeded sequence of
clips with 0.3-2 s pauses, written as 16 kHz WAV (distinct bytes, so distinct recordings). The
model step is split into work units of EMOTION_UNIT_AUDIO_HOURS (set small here so a small day
has several units). Tiny random model unless EMOTION_MODEL names another.

1. **Workers**: the small day on Celery (Redis broker, the Dagster instance on PostgreSQL, local
   storage shared by every process of this one machine), `emotion-assets worker cpu|gpu` started
   once and then twice per queue (fresh data folder each time: days are incremental), the run
   launched with `dagster job execute`; wall time of the run, and which worker ran each step.
2. **Memory**: the small day and a day of 4x its audio with Dagster's multiprocess executor, one
   step at a time (`bench/day_scale_location.py`): every step is a process of its own; a sampler
   reads each step process's kernel high-water mark (VmHWM in /proc/<pid>/status, no sample
   misses a peak) and its CPU seconds; the event log says which step ran in which pid.
3. **Throughput**: from those same single-threaded (EMOTION_THREADS=1), one-at-a-time steps:
   audio hours / step hours of each stage = audio hours per core-hour.

    python -m bench.day_scale [--recordings 8] [--seconds 30] [--unit-seconds 60] [--out bench/results]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.inputs import REPO, speech_clips
from bench.machine import cpu_summary

DAY = "2024-05-01"
SAMPLE_RATE = 16_000
BIG_FACTOR = 4  # the issue: "a day with 4x the audio"
RSS_TOLERANCE = 0.15  # the issue: every step's peak RSS within 15 % of the smaller day's
NIGHT_HOURS = 8.0  # the capacity plan: a day's audio processed overnight
PLAN_DAYS_H = (1_000.0, 10_000.0)
MODEL_UNIT_STEP = "emotion_model_outputs.score_model_unit["
# Step keys: an asset's own, or its graph's ops (`ingest_recordings.ingest_unit[<unit>]`).
INGEST_ASSET = "ingest_recordings"
REPORT_ASSET = "emotion_reports"
MODEL_ASSET = "emotion_model_outputs"
MODEL_POOL = "emotion_model"  # the model steps' concurrency pool (defs/emotion/assets.py)
# The large model on the CPU, measured by `make bench` (docs/performance.md, 2026-11-24: engine
# fp32, 60 min at 4.41x real time on 2 threads): audio hours per core-hour on this machine.
LARGE_MODEL_CPU_X_REALTIME_2_CORES = 4.41
# bench/gpu_check's target on one H200 (10 % of its bf16 peak / 23.7 GFLOP per audio second).
GPU_TARGET_X_REALTIME = 3_300.0
STAGES = (
    "decode + VAD (ingest)",
    "model (work units)",
    "model plan + publish",
    "analytics",
    "checks",
    "reports",
)
CPU_STAGES = ("decode + VAD (ingest)", "model plan + publish", "analytics", "checks", "reports")


# ---------------------------------------------------------------- the day's recordings


def make_day(raw_dir: Path, recordings: int, seconds: float, seed: int = 7) -> float:
    """`recordings` WAV files of `seconds` each under raw_dir; returns the day's audio seconds."""
    import soundfile as sf

    clips = list(speech_clips().values())
    rng = np.random.default_rng(seed)
    raw_dir.mkdir(parents=True, exist_ok=True)
    n = int(seconds * SAMPLE_RATE)
    for i in range(recordings):
        parts, have = [], 0
        while have < n:
            clip = clips[rng.integers(len(clips))]
            pause = np.zeros(int(rng.uniform(0.3, 2.0) * SAMPLE_RATE), np.float32)
            parts += [clip, pause]
            have += len(clip) + len(pause)
        # a faint line noise (-66 dBFS, as bench.inputs.call_day): no two recordings are equal
        wave = np.concatenate(parts)[:n] + rng.standard_normal(n).astype(np.float32) * 5e-4
        sf.write(raw_dir / f"call_{i:04d}.wav", wave, SAMPLE_RATE, "PCM_16")
    return recordings * n / SAMPLE_RATE


# ---------------------------------------------------------------- per-step processes


class StepSampler:
    """Polls every process below `root_pid`: its kernel peak RSS (VmHWM) and CPU seconds."""

    def __init__(self, root_pid: int, every_s: float = 0.1) -> None:
        self.root_pid, self.every_s = root_pid, every_s
        self.peak_mb: dict[int, float] = {}
        self.cpu_s: dict[int, float] = {}
        self.first_rss_mb: dict[int, float] = {}  # at the first sample: what the fork inherited
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> StepSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        import psutil

        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                for proc in psutil.Process(self.root_pid).children(recursive=True):
                    with contextlib.suppress(psutil.Error, OSError, ValueError):
                        hwm = _vm_hwm_mb(proc.pid)
                        times = proc.cpu_times()
                        self.peak_mb[proc.pid] = max(hwm, self.peak_mb.get(proc.pid, 0.0))
                        if proc.pid not in self.first_rss_mb:
                            self.first_rss_mb[proc.pid] = proc.memory_info().rss / 2**20
                        self.cpu_s[proc.pid] = times.user + times.system
            self._stop.wait(self.every_s)


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmHWM for pid {pid}")


def _run_dagster(args: list[str], env: dict[str, str], log: Path, sampler: bool) -> dict:
    started = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        with StepSampler(proc.pid) if sampler else contextlib.nullcontext() as sampled:
            code = proc.wait()
    wall_s = time.perf_counter() - started
    if code:
        raise RuntimeError(f"{' '.join(args[:4])} ... exited with {code}; its log: {log}")
    return {"wall_s": wall_s, "sampler": sampled}


def _step_events(home: Path, env: dict[str, str]) -> tuple[str, dict[str, dict[str, Any]]]:
    """The latest run's id and, per step: pid, seconds (STEP_SUCCESS duration), queue worker."""
    from dagster import DagsterEventType, DagsterInstance

    from devstack.stack import where_steps_ran

    for name, value in env.items():  # the instance file reads DAGSTER_PG_* (not our settings)
        if name.startswith("DAGSTER_PG_"):
            os.environ[name] = value
    with DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_runs(limit=1)[0]
        steps: dict[str, dict[str, Any]] = {}
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or not entry.step_key:
                continue
            step = steps.setdefault(entry.step_key, {})
            if event.event_type == DagsterEventType.STEP_START:
                step["pid"] = event.pid
            elif event.event_type == DagsterEventType.STEP_SUCCESS:
                step["seconds"] = event.event_specific_data.duration_ms / 1000
        _, places = where_steps_ran(instance, run.run_id)
        for place in places:
            steps.setdefault(place.step, {})["worker"] = place.worker
        if run.status.value != "SUCCESS":
            raise RuntimeError(f"run {run.run_id} ended {run.status.value}")
        return run.run_id, steps


def _base_env(folder: Path, model_dir: str, unit_hours: float) -> dict[str, str]:
    return {
        **os.environ,
        "DAGSTER_HOME": str(folder / "dagster_home"),
        "EMOTION_DATA_DIR": str(folder / "data"),
        "EMOTION_MODEL": model_dir,
        "EMOTION_THREADS": "1",
        "EMOTION_UNIT_AUDIO_HOURS": f"{unit_hours:g}",
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }


def _tags() -> str:
    return json.dumps({"dagster/partition": DAY})


def multiprocess_day(folder: Path, raw_from: Path, model_dir: str, unit_hours: float) -> dict:
    """The day with one process per step, one step at a time: each step's peak RSS and seconds."""
    import shutil

    from emotion_assets.deployment.instance import write_instance

    env = _base_env(folder, model_dir, unit_hours)
    shutil.copytree(raw_from, folder / "data" / "raw" / DAY)
    home = Path(env["DAGSTER_HOME"])
    write_instance(home, postgres=False)
    config = folder / "run.yaml"
    preload = {"forkserver": {"preload_modules": ["bench.day_scale_location"]}}
    execution = {"max_concurrent": 1, "start_method": preload}
    config.write_text(json.dumps({"execution": {"config": execution}}))
    args = [str(Path(sys.executable).parent / "dagster"), "job", "execute"]
    args += ["-m", "bench.day_scale_location", "-j", "emotion_pipeline"]
    args += ["-c", str(config), "--tags", _tags()]
    ran = _run_dagster(args, env, folder / "run.log", sampler=True)
    _, steps = _step_events(home, env)
    sampler: StepSampler = ran["sampler"]
    for step in steps.values():
        pid = step.get("pid")
        step["peak_mb"] = round(sampler.peak_mb.get(pid, float("nan")), 1)
        step["cpu_s"] = round(sampler.cpu_s.get(pid, float("nan")), 3)
        step["start_rss_mb"] = round(sampler.first_rss_mb.get(pid, float("nan")), 1)
    return {"wall_s": round(ran["wall_s"], 2), "steps": steps}


def celery_day(
    folder: Path, raw_from: Path, model_dir: str, unit_hours: float, workers: int
) -> dict:
    """The day on Celery with `workers` worker processes per queue: wall time, who ran what."""
    import shutil

    from devstack.servers import background_process, postgres_server, redis_server
    from emotion_assets.deployment.celery_workers import celery_app, listening_queues, worker_env
    from emotion_assets.deployment.instance import postgres_env, write_instance
    from emotion_assets.settings import ExecutionSettings

    with contextlib.ExitStack() as stack:
        postgres = stack.enter_context(postgres_server(folder / "postgres"))
        redis = stack.enter_context(redis_server(folder / "redis"))
        settings = ExecutionSettings(
            executor="celery", celery_broker=redis.url(0), celery_backend=redis.url(1)
        )
        env = {
            **_base_env(folder, model_dir, unit_hours),
            **postgres_env(postgres.create_database("dagster")),
            "EMOTION_EXECUTOR": "celery",
            "EMOTION_CELERY_BROKER": settings.celery_broker,
            "EMOTION_CELERY_BACKEND": settings.celery_backend,
            "EMOTION_CELERY_WORKER_WAIT_S": "240",
        }
        shutil.copytree(raw_from, folder / "data" / "raw" / DAY)
        home = Path(env["DAGSTER_HOME"])
        write_instance(home, postgres=True)
        bin_dir = Path(sys.executable).parent
        dagster = str(bin_dir / "dagster")
        subprocess.run([dagster, "instance", "migrate"], env=env, check=True, capture_output=True)
        # docs/deploy.md: the model pool's limit is the number of GPU worker processes
        subprocess.run([dagster, "instance", "concurrency", "set", MODEL_POOL, str(workers)],
                       env=env, check=True, capture_output=True)  # fmt: skip
        for kind in ("cpu", "gpu"):
            for i in range(workers):
                stack.enter_context(
                    background_process(
                        [sys.executable, "-m", "emotion_assets.cli", "worker", kind]
                        + ["--name", f"{kind}{i + 1}"],
                        folder / f"worker-{kind}{i + 1}.log",
                        env=worker_env(env),
                        cwd=REPO,
                    )
                )
        app = celery_app(settings)
        deadline = time.monotonic() + 300
        while True:
            listening = listening_queues(app, timeout=2.0)
            per_queue = {q: sum(q in qs for qs in listening.values()) for q in ("cpu", "gpu")}
            if min(per_queue.values()) >= workers:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers listening after 300 s: {listening}")
            time.sleep(2)
        args = [str(bin_dir / "dagster"), "job", "execute", "-m", "emotion_assets.definitions"]
        args += ["-j", "emotion_pipeline", "--tags", _tags()]
        ran = _run_dagster(args, env, folder / "run.log", sampler=False)
        _, steps = _step_events(home, env)
    workers_used: dict[str, set[str]] = {}
    for step in steps.values():
        name = str(step.get("worker", "?")).split("@")[0]
        workers_used.setdefault(name.rstrip("0123456789"), set()).add(name)
    return {
        "workers_per_queue": workers,
        "wall_s": round(ran["wall_s"], 2),
        "steps": steps,
        "workers_used": {q: sorted(names) for q, names in sorted(workers_used.items())},
    }


# ---------------------------------------------------------------- the arithmetic (pure)


def stage_of(step: str) -> str:
    """Which stage of STAGES a step key belongs to (a graph's ops share its asset's stage)."""
    asset = step.split(".", 1)[0]
    if step.endswith("_checks"):
        return STAGES[4]
    if asset == INGEST_ASSET:
        return STAGES[0]
    if step.startswith(MODEL_UNIT_STEP):
        return STAGES[1]
    if asset == MODEL_ASSET:
        return STAGES[2]
    if asset == REPORT_ASSET:
        return STAGES[5]
    return STAGES[3]


def step_group(step: str) -> str:
    """A step key with its work unit's mapping key replaced by `*` (units compare as one row)."""
    return step.split("[", 1)[0] + "[*]" if "[" in step else step


def stage_throughput(steps: dict[str, dict], audio_h: float) -> dict[str, dict[str, float]]:
    """Per stage: step seconds, CPU seconds (user + system of the step's process: core-seconds,
    whatever else shares the cores) and audio hours per core-hour from the CPU seconds; steps run
    one at a time with one torch thread each."""
    out: dict[str, dict[str, float]] = {}
    for stage in STAGES:
        seconds = sum(s["seconds"] for k, s in steps.items() if stage_of(k) == stage)
        cpu = sum(s["cpu_s"] for k, s in steps.items() if stage_of(k) == stage)
        out[stage] = {
            "step_s": round(seconds, 3),
            "cpu_s": round(cpu, 3),
            "audio_h_per_core_h": round(audio_h * 3600 / cpu, 2) if cpu else math.inf,
            "audio_h_per_step_h": round(audio_h * 3600 / seconds, 2) if seconds else math.inf,
        }
    return out


def memory_rows(
    small: dict[str, dict], big: dict[str, dict], small_h: float, big_h: float
) -> list[dict[str, Any]]:
    """Per step (units as one row, their largest figures): peak RSS of both days, big/small,
    whether it grew by more than RSS_TOLERANCE, the step's own part (peak minus the RSS its
    process started with: the modules it inherited from the fork) and how much that own part
    grows per audio hour of the day (what a 15 % ratio on small days can hide)."""

    def peaks(steps: dict[str, dict]) -> dict[str, tuple[float, float]]:
        grouped: dict[str, tuple[float, float]] = {}
        for key, step in steps.items():
            group, own = step_group(key), step["peak_mb"] - step.get("start_rss_mb", 0.0)
            peak_so_far, own_so_far = grouped.get(group, (0.0, 0.0))
            grouped[group] = (max(peak_so_far, step["peak_mb"]), max(own_so_far, own))
        return grouped

    small_peaks, big_peaks = peaks(small), peaks(big)
    rows = []
    for group in sorted(small_peaks.keys() & big_peaks.keys()):
        (small_mb, small_own), (big_mb, big_own) = small_peaks[group], big_peaks[group]
        ratio = big_mb / small_mb
        rows.append(
            {
                "step": group,
                "small_mb": small_mb,
                "big_mb": big_mb,
                "ratio": round(ratio, 3),
                "grows": ratio > 1 + RSS_TOLERANCE,
                "small_own_mb": round(small_own, 1),
                "big_own_mb": round(big_own, 1),
                "own_mb_per_audio_h": round((big_own - small_own) / (big_h - small_h), 1),
            }
        )
    return rows


def capacity_plan(cpu_h_per_audio_h: float, gpu_x_realtime: float) -> list[dict[str, Any]]:
    """Workers for each day of PLAN_DAYS_H to finish in NIGHT_HOURS: CPU workers (one core each)
    from the CPU core-hours per audio hour, GPU workers from one GPU's x real time."""
    rows = []
    for day_h in PLAN_DAYS_H:
        cpu_core_h = day_h * cpu_h_per_audio_h
        gpu_h = day_h / gpu_x_realtime
        rows.append(
            {
                "audio_h": day_h,
                "cpu_core_h": round(cpu_core_h, 1),
                "cpu_workers": math.ceil(cpu_core_h / NIGHT_HOURS),
                "gpu_h": round(gpu_h, 2),
                "gpu_workers": math.ceil(gpu_h / NIGHT_HOURS),
            }
        )
    return rows


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """The figures of a finished run: speed-up, memory rows, throughput, the capacity plan."""
    days = result["days"]
    out: dict[str, Any] = {}
    celery = result.get("celery") or {}
    if "1" in celery and "2" in celery:
        out["speedup_2_vs_1"] = round(celery["1"]["wall_s"] / celery["2"]["wall_s"], 3)
    out["memory"] = memory_rows(
        result["memory"]["small"]["steps"],
        result["memory"]["big"]["steps"],
        days["small"]["audio_h"],
        days["big"]["audio_h"],
    )
    out["growing_steps"] = [r["step"] for r in out["memory"] if r["grows"]]
    out["throughput"] = {
        size: stage_throughput(result["memory"][size]["steps"], days[size]["audio_h"])
        for size in ("small", "big")
    }
    big = out["throughput"]["big"]
    cpu_h_per_audio_h = sum(1 / big[s]["audio_h_per_core_h"] for s in CPU_STAGES)
    out["cpu_core_h_per_audio_h"] = round(cpu_h_per_audio_h, 5)
    # The model on CPU cores instead (large model, measured): its "GPU workers" are cores.
    out["capacity_large_model_on_cpu"] = capacity_plan(
        cpu_h_per_audio_h, LARGE_MODEL_CPU_X_REALTIME_2_CORES / 2
    )
    out["capacity_gpu_target"] = capacity_plan(cpu_h_per_audio_h, GPU_TARGET_X_REALTIME)
    out["longest_day_step"] = longest_day_step(
        result["memory"]["big"]["steps"], days["big"]["audio_h"]
    )
    return out


def longest_day_step(steps: dict[str, dict], audio_h: float) -> dict[str, Any]:
    """The costliest step that is still one per day (not a work unit): more workers do not
    shorten it, so it bounds the night; its hours for each day of PLAN_DAYS_H on one core."""
    key, step = max(
        ((k, s) for k, s in steps.items() if "[" not in k), key=lambda ks: ks[1]["cpu_s"]
    )
    per_audio_h = step["cpu_s"] / 3600 / audio_h
    return {
        "step": key,
        "core_h_per_audio_h": round(per_audio_h, 5),
        "hours": {f"{day_h:g}": round(day_h * per_audio_h, 1) for day_h in PLAN_DAYS_H},
    }


# ---------------------------------------------------------------- the report


def markdown(result: dict[str, Any]) -> str:
    s, days, machine = result["summary"], result["days"], result["machine"]
    lines = [
        f"# A day at scale ({result['date']}, `python -m bench.day_scale`)",
        "",
        f"Machine: {machine['cpu_model']}, {machine['logical_cores']} logical cores, "
        f"{machine['ram_gb']} GB RAM; load average {machine['load_average_at_start']} at the "
        f"start, {result['load_average_at_end']} at the end (other jobs share these cores). "
        f"Model: {result['model']}. EMOTION_THREADS=1, EMOTION_UNIT_AUDIO_HOURS="
        f"{result['unit_hours']:g}. Whole bench: {result['bench_wall_s'] / 60:.1f} min.",
        "",
        "| day | recordings | audio h | model work units |",
        "|---|---:|---:|---:|",
    ]
    for size in ("small", "big"):
        d = days[size]
        units = sum(k.startswith(MODEL_UNIT_STEP) for k in result["memory"][size]["steps"])
        lines.append(f"| {size} | {d['recordings']} | {d['audio_h']:.3f} | {units} |")
    celery = result.get("celery") or {}
    if celery:
        lines += [
            "",
            "## 1. The small day on 1 and 2 Celery workers per queue",
            "",
            "| workers per queue | wall (s) | workers that ran steps | steps |",
            "|---:|---:|---|---:|",
        ]
        for n in sorted(celery):
            c = celery[n]
            used = "; ".join(f"{q}: {', '.join(w)}" for q, w in c["workers_used"].items())
            lines.append(f"| {n} | {c['wall_s']:.1f} | {used} | {len(c['steps'])} |")
        if "speedup_2_vs_1" in s:
            lines += ["", f"**Speed-up with 2 workers per queue: {s['speedup_2_vs_1']:.2f}x.**"]
    lines += [
        "",
        "## 2. Peak RSS per step (own process each), the small day vs 4x its audio",
        "",
        f"Grows by more than {RSS_TOLERANCE:.0%}: "
        + (", ".join(f"`{g}`" for g in s["growing_steps"]) or "none"),
        "",
        "| step | small day (MB) | big day (MB) | big / small | within 15 % "
        "| own MB small → big (peak − RSS at fork) | own MB per audio hour |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in s["memory"]:
        lines.append(
            f"| `{r['step']}` | {r['small_mb']:.0f} | {r['big_mb']:.0f} | {r['ratio']:.2f} "
            f"| {'**no**' if r['grows'] else 'yes'} "
            f"| {r['small_own_mb']:.0f} → {r['big_own_mb']:.0f} | {r['own_mb_per_audio_h']:+.0f} |"
        )
    lines += [
        "",
        "## 3. Throughput per stage (one thread, one step at a time)",
        "",
        "| stage | small day: step s | big day: step s | big day: CPU s "
        "| audio h per core-hour (big day, CPU s) | audio h per step-hour (big day) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for stage in STAGES:
        small, big = s["throughput"]["small"][stage], s["throughput"]["big"][stage]
        lines.append(
            f"| {stage} | {small['step_s']:.1f} | {big['step_s']:.1f} | {big['cpu_s']:.1f} "
            f"| {big['audio_h_per_core_h']:,.1f} | {big['audio_h_per_step_h']:,.1f} |"
        )
    lines += [
        "",
        f"CPU stages together: {s['cpu_core_h_per_audio_h']:.4f} core-hours per audio hour.",
        "",
        "## Capacity for an 8-hour night (method; the GPU figure is UNMEASURED)",
        "",
        "| audio h a day | CPU core-hours | CPU workers | GPU hours at the H200 target "
        f"({GPU_TARGET_X_REALTIME:,.0f}x, unmeasured) | GPU workers (unmeasured) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in s["capacity_gpu_target"]:
        lines.append(
            f"| {r['audio_h']:,.0f} | {r['cpu_core_h']:,.1f} | {r['cpu_workers']} "
            f"| {r['gpu_h']:.2f} | {r['gpu_workers']} |"
        )
    cores = ", ".join(
        f"{r['audio_h']:,.0f} h → {r['gpu_workers']}" for r in s["capacity_large_model_on_cpu"]
    )
    lines += [
        "",
        f"The large model on CPU cores instead ({LARGE_MODEL_CPU_X_REALTIME_2_CORES}x real time "
        f"on 2 cores, docs/performance.md), cores for the model: {cores}.",
    ]
    longest = s["longest_day_step"]
    hours = ", ".join(f"{h} h for a {float(d):,.0f}-hour day" for d, h in longest["hours"].items())
    lines += [
        "",
        f"Still one step per day and the costliest of them: `{longest['step']}`, "
        f"{longest['core_h_per_audio_h']:.5f} core-hours per audio hour: {hours} "
        "(more workers do not shorten it).",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the whole bench


def run(args: argparse.Namespace) -> dict[str, Any]:
    from emotion_assets.engine.model_builder import cached_model_dir

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="day-scale-", dir=args.workdir))
    model_dir = os.environ.get("EMOTION_MODEL") or str(
        cached_model_dir(Path(tempfile.gettempdir()) / "emotion-assets-bench" / "models")
    )
    unit_hours = args.unit_seconds / 3600
    days, raws = {}, {}
    for size, count in (("small", args.recordings), ("big", args.recordings * BIG_FACTOR)):
        raws[size] = work / f"raw-{size}"
        audio_s = make_day(raws[size], count, args.seconds)
        days[size] = {"recordings": count, "audio_h": audio_s / 3600}
    result: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "machine": cpu_summary(),
        "model": model_dir if os.environ.get("EMOTION_MODEL") else "tiny random model",
        "unit_hours": unit_hours,
        "days": days,
        "memory": {},
        "celery": {},
    }
    if not args.no_celery:
        for workers in (1, 2):
            print(f"Celery, {workers} worker(s) per queue ...", flush=True)
            result["celery"][str(workers)] = celery_day(
                work / f"celery-{workers}", raws["small"], model_dir, unit_hours, workers
            )
    for size in ("small", "big"):
        print(f"multiprocess executor, {size} day ...", flush=True)
        result["memory"][size] = multiprocess_day(
            work / f"mp-{size}", raws[size], model_dir, unit_hours
        )
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["bench_wall_s"] = round(time.perf_counter() - started, 1)
    result["summary"] = summarize(result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.day_scale", description=__doc__)
    parser.add_argument("--recordings", type=int, default=8, help="recordings of the small day")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each recording")
    parser.add_argument("--unit-seconds", type=float, default=60.0, help="a work unit's audio")
    parser.add_argument("--no-celery", action="store_true", help="skip the 1 vs 2 workers runs")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--name", default=None, help="file stem (default <date>-day-scale)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--from-json", type=Path, help="only summarize and report a saved run")
    args = parser.parse_args(argv)
    if args.from_json:
        result = json.loads(args.from_json.read_text())
        result["summary"] = summarize(result)
    else:
        result = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / (args.name or f"{result['date']}-day-scale")
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))
    stem.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
