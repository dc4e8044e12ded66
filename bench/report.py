"""Targets (pass/miss and by how much) and the Markdown table of a benchmark run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GB = 1024.0  # MB per GB in the table (RSS is measured in MiB)


def _get(d: dict[str, Any] | None, *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _ok(result: dict[str, Any] | None) -> bool:
    return isinstance(result, dict) and "x_real_time" in result


def profile_sentence(profile: dict[str, Any] | None) -> str:
    share = _get(profile, "share")
    if not share:
        return "no profile measured"
    parts = sorted(share.items(), key=lambda kv: -kv[1])
    return f"engine time on a {profile.get('audio_s', 0):.0f} s clip: " + ", ".join(
        f"{k} {v:.0%}" for k, v in parts
    )


def callday_sentence(day: dict[str, Any] | None) -> str:
    if not day or "all_frames" not in day:
        return f"callday: {(day or {}).get('status', 'not run')} {(day or {}).get('reason', '')}"
    parts = [
        f"{name} {day[name]['x_real_time']:.2f}x real time ({day[name]['vs_clips']:.2f}x clips)"
        for name in ("all_frames", "speech_only", "stitched")
        if name in day
    ]
    return (
        f"callday {day['audio_s'] / 60:.0f} min ({day['speech_s']:.0f} s speech): "
        + ", ".join(parts)
        + f", clips {day['clips']['x_real_time']:.2f}x, peak RSS {day['peak_rss_mb'] / GB:.2f} GB"
    )


# Where a pipeline run's time goes, by step key (emotion_assets' job): everything not named
# here and not a check is an analytics table.
# The ingest and the model step are graphs: their plan, units and publishing count as the step.
PIPELINE_MODEL_STEP = "emotion_model_outputs"
PIPELINE_INGEST_STEP = "ingest_recordings"
PIPELINE_REPORT_STEP = "emotion_reports"
PIPELINE_PARTS = (
    "engine (load + score, in the model step)",
    "model step beyond the engine",
    "decode + VAD (ingest)",
    "checks",
    "analytics",
    "reports",
    "importing the code location (torch, dagster, sklearn, ...)",
    "Dagster (run start, event log)",
)


def pipeline_breakdown(
    pipeline_wall_s: float,
    engine_s: float,
    step_seconds: dict[str, float],
    import_s: float = 0.0,
) -> dict[str, float]:
    """The pipeline's wall time split into PIPELINE_PARTS (seconds; they add up to the wall).

    The model step is split into the engine (`engine_s`: the step's own model load + scoring
    seconds, from its metadata) and the rest of the step (fetching audio, building the frame and
    embedding tables). `import_s`: importing the code location, measured apart. Whatever else no
    step accounts for is Dagster's: building the job, run start, the event log between steps.
    """

    def of(step: str, key: str) -> bool:  # a graph's ops count as its step
        return key == step or key.startswith(step + ".")

    def seconds(step: str) -> float:
        return sum(v for k, v in step_seconds.items() if of(step, k))

    model = seconds(PIPELINE_MODEL_STEP)
    checks = sum(v for k, v in step_seconds.items() if k.endswith("_checks"))
    named = (PIPELINE_MODEL_STEP, PIPELINE_INGEST_STEP, PIPELINE_REPORT_STEP)
    analytics = sum(
        v
        for k, v in step_seconds.items()
        if not any(of(step, k) for step in named) and not k.endswith("_checks")
    )
    parts = (
        engine_s,
        model - engine_s,
        seconds(PIPELINE_INGEST_STEP),
        checks,
        analytics,
        seconds(PIPELINE_REPORT_STEP),
        import_s,
        pipeline_wall_s - sum(step_seconds.values()) - import_s,
    )
    return {name: round(sec, 3) for name, sec in zip(PIPELINE_PARTS, parts, strict=True)}


def pipeline_sentence(pipe: dict[str, Any]) -> str:
    """The non-engine part of the breakdown, largest first, with its share of the engine time."""
    parts = pipe.get("breakdown") or {}
    engine = pipe.get("engine_in_run_s") or 0.0
    rest = [(k, v) for k, v in parts.items() if k != PIPELINE_PARTS[0]]
    if not rest or not engine:
        return ""
    return ", ".join(
        f"{k} {v:.1f} s ({v / engine:+.1%})" for k, v in sorted(rest, key=lambda kv: -kv[1])
    )


def _callday_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    day = results.get("callday") or {}
    ok = "all_frames" in day
    missing = f"{day.get('status', 'not run')}: {day.get('reason', 'not among --cases')}"
    minutes = f"{day['audio_s'] / 60:.0f}-min" if ok else "60-min"
    speech_share = day["speech_s"] / day["audio_s"] if ok else 0.0
    why_all = (
        f"{day['all_frames']['computed_frames'] / day['all_frames']['frames']:.2f}x the frames "
        f"computed in {day['all_frames']['windows']} windows; silence costs as much as speech"
        if ok
        else ""
    )
    why_speech = (
        f"speech is {speech_share:.0%} of the day; speech-only computes "
        f"{day['speech_only']['computed_frames'] / day['speech_only']['frames']:.0%} of the frames"
        if ok
        else ""
    )
    return [
        _target(
            f"{minutes} call day, all frames (pause-aligned) / clips throughput",
            day["all_frames"]["vs_clips"] if ok else None,
            1.0,
            True,
            "x",
            why_all,
            missing,
        ),
        _target(
            f"{minutes} call day, speech-only / clips throughput",
            day["speech_only"]["vs_clips"] if ok else None,
            1.3,
            True,
            "x",
            why_speech,
            missing,
        ),
        _target(
            f"{minutes} call day peak RSS",
            day["peak_rss_mb"] / GB if ok else None,
            2.5,
            False,
            "GB",
            "",
            missing,
        ),
    ]


def _target(
    name: str,
    value: float | None,
    target: float,
    higher_is_better: bool,
    unit: str,
    why: str,
    missing: str = "case not run",
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": name,
        "target": target,
        "unit": unit,
        "higher_is_better": higher_is_better,
    }
    if value is None:
        return {**row, "value": None, "status": "not measured", "margin": None, "note": missing}
    passed = value >= target if higher_is_better else value <= target
    # Positive margin = headroom, negative = missed by that fraction of the target.
    margin = (value - target) / target if higher_is_better else (target - value) / target
    row.update(value=value, status="pass" if passed else "miss", margin=margin)
    row["note"] = "" if passed else why
    return row


def _speed_why(results: dict[str, Any]) -> str:
    """Per module family, engine vs funasr seconds on the profiled clip."""
    eng = _get(results, "profile", "engine", "seconds") or {}
    fun = _get(results, "profile", "funasr", "seconds") or {}
    if not eng or not fun:
        return profile_sentence(_get(results, "profile", "engine"))
    parts = [f"{k} {fun.get(k, 0):.2f} -> {v:.2f} s" for k, v in eng.items() if v >= 0.1]
    return (
        "profile, funasr -> engine on one clip: "
        + ", ".join(parts)
        + ". The MLP and projection GEMMs run at the same MKL speed in both (the engine is "
        "GEMM-bound); the gains are attention and the conv extractor"
    )


def _long_why(results: dict[str, Any], window_s: float, context_s: float) -> str:
    speeds = {
        case: _get(results, "cases", case, "engine", "x_real_time")
        for case in results.get("cases", {})
        if case.endswith("min")
    }
    flat = ", ".join(f"{c} {v:.2f}x" for c, v in speeds.items() if v)
    overlap = window_s / (window_s - 2 * context_s)
    return (
        f"long tracks run as {window_s:g} s windows keeping {context_s:g} s of context on each "
        f"side: {overlap:.2f}x the frames are computed, and every window pays {window_s:g} s attention "
        f"while the clips are 14-30 s; the cost is linear in length (real-time factor {flat})"
    )


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    cases = results.get("cases", {})
    clips_e, clips_f = _get(cases, "clips", "engine"), _get(cases, "clips", "funasr")
    int8 = _get(cases, "int8", "engine")
    long60 = _get(cases, "60min", "engine")
    # Ratios come from the paired case (same process, same minutes); separate cases otherwise.
    paired = _get(results, "paired", "runners") or {}
    p_eng, p_fun, p_int8 = paired.get("engine"), paired.get("funasr"), paired.get("int8")
    if _ok(p_eng) and _ok(p_fun):
        clips_e, clips_f = p_eng, p_fun
        int8 = p_int8 if _ok(p_int8) else None
    fp32_ratio = (
        clips_e["x_real_time"] / clips_f["x_real_time"] if _ok(clips_e) and _ok(clips_f) else None
    )
    int8_ratio = (
        int8["x_real_time"] / clips_f["x_real_time"] if _ok(int8) and _ok(clips_f) else None
    )
    clips_alone = _get(cases, "clips", "engine")  # same process kind as the long cases
    long_ratio = (
        long60["x_real_time"] / clips_alone["x_real_time"]
        if _ok(long60) and _ok(clips_alone)
        else None
    )
    rss60 = long60["peak_rss_mb"] / GB if _ok(long60) else None
    rss_why = ""
    if _ok(long60):
        rss_why = (
            f"peak while loading the model {long60['load_peak_rss_mb'] / GB:.2f} GB; after load "
            f"{long60['rss_after_load_mb'] / GB:.2f} GB; peak while scoring 60 min "
            f"{(long60.get('scoring_peak_rss_mb') or float('nan')) / GB:.2f} GB"
        )
    speed_why = _speed_why(results)
    cfg = _get(cases, "60min", "engine", "engine_config") or {}
    long_why = _long_why(
        results, window_s=cfg.get("window_s", 30.0), context_s=cfg.get("context_s", 4.0)
    )
    int8_why = (
        "int8 covers the Linear layers and the conv GEMMs; attention (fused SDPA), the positional "
        "conv, LayerNorm and GELU stay float32. " + speed_why
    )
    pipe = results.get("pipeline") or {}
    pipe_ratio = pipe.get("ratio")
    pipe_why = (
        "outside the engine, in seconds and as a share of the engine's time: "
        + pipeline_sentence(pipe)
        if pipe.get("breakdown")
        else "time outside the engine: decode, VAD, checks, analytics, reports, Dagster"
    )
    score_dev = _get(results, "deviation", "engine_vs_funasr", "max_abs_score_diff")
    return [
        _target("fp32 throughput / funasr (short clips)", fp32_ratio, 1.5, True, "x", speed_why),
        _target(
            "fp32 max abs score diff vs funasr (short clips)",
            score_dev,
            1e-4,
            False,
            "",
            "see deviation.per_clip",
        ),
        _target("60-min peak RSS", rss60, 2.5, False, "GB", rss_why),
        _target("60-min throughput / short-clip throughput", long_ratio, 0.9, True, "x", long_why),
        _target("int8 throughput / funasr (short clips)", int8_ratio, 2.2, True, "x", int8_why),
        _target(
            "whole pipeline time / engine time (one partition)",
            pipe_ratio,
            1.1,
            False,
            "x",
            pipe_why,
            f"{pipe.get('status', 'not run')}: {pipe.get('reason', '')}",
        ),
        *_callday_targets(results),
    ]


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "–" if x is None else format(x, spec)


def table_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    clips_f = _get(results, "cases", "clips", "funasr")
    for case, runs in results.get("cases", {}).items():
        for runner, res in runs.items():
            label = f"{case} ({runner}{', int8' if case == 'int8' else ''})"
            row: dict[str, Any] = {"case": label}
            if _ok(res):
                ref = runs.get("funasr") if runner == "engine" else None
                if case == "int8":
                    ref = clips_f
                vs = res["x_real_time"] / ref["x_real_time"] if _ok(ref) else None
                row.update(
                    audio_s=res["audio_s"],
                    wall_s=res["wall_s"],
                    x_real_time=res["x_real_time"],
                    peak_rss_gb=res["peak_rss_mb"] / GB,
                    scoring_rss_gb=(res.get("scoring_peak_rss_mb") or float("nan")) / GB,
                    vs_funasr=vs,
                )
            else:
                row["status"] = (res or {}).get("status", "missing")
                row["reason"] = (res or {}).get("reason", "")
            rows.append(row)
    return rows


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    flags = ", ".join(f for f, on in m["cpu_flags"].items() if on) or "none of avx2/avx512/bf16"
    lines = [
        f"# Benchmark {results['date']}"
        + (" (--quick: tiny model)" if results.get("quick") else ""),
        "",
        f"Machine: {m['cpu_model']}, {m['logical_cores']} logical cores, {m['ram_gb']} GB RAM; "
        f"flags: {flags}; torch {m['torch']} ({m['torch_cpu_capability']}), funasr {m['funasr']}; "
        f"threads {m['threads']}, device {m['device']}; load average at start "
        f"{m['load_average_at_start']}.",
        f"Model: {results['model']['size']} ({results['model'].get('params_m', '?')} M params, "
        "seeded random weights, published config).",
        "",
        "| case | audio s | wall s | x real time | peak RSS GB | vs funasr | RSS while scoring GB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["table"]:
        if "x_real_time" in r:
            vs = f"{r['vs_funasr']:.2f}x" if r.get("vs_funasr") is not None else "–"
            lines.append(
                f"| {r['case']} | {r['audio_s']:.1f} | {r['wall_s']:.1f} | {r['x_real_time']:.2f} "
                f"| {r['peak_rss_gb']:.2f} | {vs} | {r['scoring_rss_gb']:.2f} |"
            )
        else:
            lines.append(
                f"| {r['case']} | – | – | – | – | {r['status']}: {_cell(r['reason'])} | – |"
            )
    paired = results.get("paired") or {}
    runners = paired.get("runners") or {}
    lines += ["", "## Engine vs funasr in one process, taking turns (the ratios)", ""]
    if "funasr" in runners:
        fun = runners["funasr"]["x_real_time"]
        lines.append(
            f"Each clip scored by every runner in turn, {paired.get('repeats', 1)} rounds, the "
            "order rotating each round; best pass per clip. The separate-process rows above "
            "ran minutes apart on a shared VM, so their ratios carry that noise; these do not."
        )
        lines += [
            "",
            "| runner | wall s (best passes) | x real time | vs funasr |",
            "|---|---:|---:|---:|",
        ]
        for name, r in runners.items():
            lines.append(
                f"| {name} | {r['wall_s']:.1f} | {r['x_real_time']:.2f} | "
                f"{r['x_real_time'] / fun:.2f}x |"
            )
    else:
        lines.append(f"- {paired.get('status', 'not run')}: {_cell(paired.get('reason', ''))}")
    dev = results.get("deviation", {})
    lines += ["", "## Deviation", ""]
    evf = dev.get("engine_vs_funasr") or {}
    q = dev.get("int8_vs_fp32") or {}
    lines.append(
        f"- engine fp32 vs funasr, short clips: max |score diff| {_fmt(evf.get('max_abs_score_diff'), '.2e')}, "
        f"max |frame feature diff| {_fmt(evf.get('max_abs_feature_diff'), '.2e')}"
    )
    agree = q.get("top_emotion_agreement_speech_frames")
    if not q:
        lines.append("- int8 vs fp32: not run")
    else:
        lines.append(
            f"- int8 vs fp32: max |score diff| {_fmt(q.get('max_abs_score_diff'), '.2e')}, "
            f"top-emotion agreement on {q.get('speech_frames', 0)} speech frames "
            f"{'–' if agree is None else f'{agree:.1%}'}"
        )
    lines += [
        "",
        "## Targets",
        "",
        "| target | value | goal | result | note |",
        "|---|---:|---:|---|---|",
    ]
    for t in results["targets"]:
        goal = ("≥ " if t["higher_is_better"] else "≤ ") + f"{t['target']:g}{t['unit']}"
        value = "–" if t["value"] is None else f"{t['value']:.3g}{t['unit']}"
        result = t["status"] if t["margin"] is None else f"{t['status']} ({t['margin']:+.0%})"
        lines.append(f"| {t['name']} | {value} | {goal} | {result} | {_cell(t['note'])} |")
    prof = results.get("profile") or {}
    clip = _get(prof, "engine", "clip") or _get(prof, "funasr", "clip")
    secs = _get(prof, "engine", "audio_s") or _get(prof, "funasr", "audio_s")
    where = f"{clip}, {secs:.1f} s" if clip and secs else "not run"
    lines += ["", f"## Profile (one clip: {where})", ""]
    for runner in ("engine", "funasr"):
        p = _get(results, "profile", runner)
        if not p or "seconds" not in p:
            lines.append(f"- {runner}: {(p or {}).get('status', 'not measured')}")
            continue
        parts = ", ".join(f"{k} {v:.2f} s ({p['share'][k]:.0%})" for k, v in p["seconds"].items())
        outside = p.get("outside_model_s")
        extra = (
            f"; outside the model's forward (I/O, overhead): {outside:.2f} s"
            if outside is not None
            else ""
        )
        lines.append(f"- {runner}: total {p['total_s']:.2f} s — {parts}{extra}")
    pipe = results.get("pipeline") or {}
    lines += ["", "## Whole pipeline vs engine", ""]
    if pipe.get("status") == "ok":
        engine_s = pipe["engine_in_run_s"]
        lines.append(
            f"- one partition ({pipe['audio_s']:.0f} s of audio): pipeline {pipe['pipeline_wall_s']:.1f} s, "
            f"its engine (model load + scoring in the model step) {engine_s:.1f} s, "
            f"**ratio {pipe['ratio']:.2f}**"
        )
        lines.append(
            f"- cross-check, the engine alone in its own process minutes later (load + score "
            f"of the same tracks): {pipe['engine_wall_s']:.1f} s, ratio "
            f"{pipe['ratio_vs_engine_alone']:.2f}"
        )
        if pipe.get("engine_score_cores") is not None:
            lines.append(
                f"- cores the engine keeps busy (CPU s / wall s, engine alone): scoring "
                f"{pipe['engine_score_cores']:.2f}, loading {pipe['engine_load_cores']:.2f} of "
                f"{_get(results, 'machine', 'threads')} threads; work beside the scoring could only "
                f"take its cores"
            )
        if pipe.get("breakdown"):
            lines += ["", "| part | s | share of the engine's time |", "|---|---:|---:|"]
            for name, sec in pipe["breakdown"].items():
                lines.append(f"| {name} | {sec:.2f} | {sec / engine_s:.1%} |")
            lines.append("")
        steps = _get(pipe, "pipeline_summary", "step_seconds") or {}
        if steps:
            slowest = sorted(steps.items(), key=lambda kv: -kv[1])[:5]
            lines.append(
                "- slowest steps: " + ", ".join(f"{name} {sec:.1f} s" for name, sec in slowest)
            )
    else:
        lines.append(f"- {pipe.get('status', 'not measured')}: {pipe.get('reason', '')}")
    lines += ["", "## Call day (all frames, speech only, clips: taking turns in one process)", ""]
    day = results.get("callday") or {}
    lines.append(f"- {callday_sentence(day)}")
    if "all_frames" in day:
        lines.append(
            f"- made of (s): {day['made_of_s']}; VAD {day['vad_s']:.1f} s; "
            + "; ".join(
                f"{n}: {day[n]['windows']} windows, {day[n]['computed_frames']} of "
                f"{day[n]['frames']} frames computed"
                for n in ("all_frames", "speech_only", "stitched")
                if n in day
            )
        )
    if "deviation_pause_vs_stitched" in day:
        dev = day["deviation_pause_vs_stitched"]
        lines.append(
            f"- pause-aligned vs fixed stitching on {dev['speech_frames']} speech frames: max "
            f"|dp| {dev['max_abs_dp']:.3g}, mean {dev['mean_abs_dp']:.2g}, same top emotion "
            f"{dev['top_emotion_agreement']:.1%}"
        )
    if results.get("interrupted"):
        lines += ["", f"**Interrupted** ({results['interrupted']}): later cases did not run."]
    lines += ["", f"Total benchmark time: {results['duration_s'] / 60:.1f} min.", ""]
    return "\n".join(lines)


def write_results(out: Path, name: str, result: dict[str, Any], text: str) -> Path:
    """`out/<name>.json` (the figures) and `out/<name>.md` (`text`, also printed): one place
    for every benchmark's result files."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / name
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))
    stem.with_suffix(".md").write_text(text)
    print(text)
    return stem
