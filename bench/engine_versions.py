"""python -m bench.engine_versions --rev <git rev>: is today's engine slower than it was then?

The vs-funasr ratio of `make bench` has moved between 1.32x and 1.55x across days with the
engine unchanged, so it cannot tell a slower engine from a faster host or a faster funasr. This
answers the narrower question directly: the engine package of <rev> (emotion_assets/engine, from
`git archive`) is loaded under another name beside today's, and both score the shared clips
taking turns in one process, the order alternating each round, best pass per clip
(`bench.worker.take_turns`, as in `make bench`'s paired case). Both get the same threads, model
and clips; the host's load changes both alike.

The old package keeps its own imports of its own modules (rewritten to its new name); its imports
of the rest of emotion_assets (labels, torch_threads) are today's, so a rev whose engine needs
names that no longer exist there cannot be compared (the error names the missing import).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from emotion_assets.foundation.labels import SAMPLE_RATE

REPO = Path(__file__).resolve().parents[1]
ENGINE = "emotion_assets/engine"


def extract_engine(rev: str, dest: Path, repo: Path = REPO) -> tuple[str, str]:
    """Write <rev>'s engine package under dest as its own package; (package name, full sha)."""
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    name = f"engine_at_{sha[:10]}"
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha, ENGINE], cwd=repo, check=True, capture_output=True
    ).stdout
    package = dest / name
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".py"):
                continue
            text = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
            target = package / Path(member.name).relative_to(ENGINE)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.name == "__init__.py":
                text = ""  # older packages re-exported names through a helper that is gone
            for old, new in MOVED.items():  # modules moved since (issue 26): today's place
                text = re.sub(rf"\b{re.escape(old)}\b", new, text)
            target.write_text(re.sub(r"\bemotion_assets\.engine\b", name, text))
    return name, sha


# Modules an older engine imports that have moved since (emotion_assets/foundation/).
MOVED = {
    "emotion_assets.warehouse.atomic": "emotion_assets.foundation.atomic_files",
    **{
        f"emotion_assets.{module}": f"emotion_assets.foundation.{module}"
        for module in ("labels", "layout", "atomic_files", "torch_threads", "quiet")
    },
}


def load_package(name: str, dest: Path) -> SimpleNamespace:
    """The extracted engine's load_engine and EngineConfig; its modules must come from dest,
    not from today's engine."""
    if str(dest) not in sys.path:
        sys.path.insert(0, str(dest))
    core = importlib.import_module(f"{name}.core")
    if not Path(core.__file__ or "").is_relative_to(dest):
        raise RuntimeError(f"{name}.core was imported from {core.__file__}, not from {dest}")
    config = importlib.import_module(f"{name}.config")
    return SimpleNamespace(load_engine=core.load_engine, EngineConfig=config.EngineConfig)


def compare(engines: dict[str, Any], clips: dict[str, np.ndarray], rounds: int) -> dict[str, Any]:
    """Today's engine and the old one (in that order) taking turns on the clips, best pass per
    clip (bench.worker.take_turns); a first untimed pass over every clip gives the score
    difference and pays the one-off costs."""
    from bench.worker import take_turns

    today, then = engines
    first = {
        name: {c: engine.score(w, with_features=False).probs for c, w in clips.items()}
        for name, engine in engines.items()
    }
    deviation = max(float(np.abs(first[today][c] - first[then][c]).max()) for c in clips)
    runs = {name: partial(engine.score, with_features=False) for name, engine in engines.items()}
    walls = take_turns(runs, clips, rounds)
    best = {name: {c: min(w) for c, w in by_clip.items()} for name, by_clip in walls.items()}
    audio_s = sum(len(w) for w in clips.values()) / SAMPLE_RATE
    seconds = {n: sum(best[n].values()) for n in engines}
    return {
        "clips": len(clips),
        "audio_s": round(audio_s, 1),
        "rounds": rounds,
        "seconds": {n: round(s, 3) for n, s in seconds.items()},
        "x_real_time": {n: round(audio_s / s, 2) for n, s in seconds.items()},
        "per_clip_ratio": {c: round(best[today][c] / best[then][c], 3) for c in clips},
        "ratio_today_over_then": round(seconds[today] / seconds[then], 3),
        "max_abs_prob_diff": deviation,
    }


def markdown(report: dict[str, Any]) -> str:
    r = report["result"]
    today, then = r["seconds"]
    return "\n".join(
        [
            f"# Engine today versus {report['rev']} ({report['sha'][:10]}), {report['date']}",
            "",
            f"Model: {report['model_size']}, random weights; "
            f"{report['threads']} threads; {r['clips']} shared clips ({r['audio_s']} s), "
            f"{r['rounds']} rounds taking turns in one process, best pass per clip; "
            f"load average at start {report['load_average']}.",
            "",
            "| engine | s (best passes) | x real time |",
            "|---|---:|---:|",
            f"| today | {r['seconds'][today]} | {r['x_real_time'][today]} |",
            f"| {report['rev']} | {r['seconds'][then]} | {r['x_real_time'][then]} |",
            "",
            f"- today / then: **{r['ratio_today_over_then']}** (below 1: today is faster); "
            f"per clip {r['per_clip_ratio']}",
            f"- max |score difference| between the two: {r['max_abs_prob_diff']:.2e}",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from bench.inputs import speech_clips
    from emotion_assets.engine.config import EngineConfig
    from emotion_assets.engine.core import load_engine
    from emotion_assets.engine.model_builder import cached_model_dir

    p = argparse.ArgumentParser(prog="python -m bench.engine_versions", description=__doc__)
    p.add_argument("--rev", required=True, help="the git revision to compare with (c448011)")
    p.add_argument("--model-size", choices=("tiny", "large"), default="large")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    p.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "emotion-assets-bench"
    )
    args = p.parse_args(argv)
    load_average = [round(x, 2) for x in os.getloadavg()]
    model = str(cached_model_dir(args.workdir / "models", size=args.model_size, seed=0))
    with tempfile.TemporaryDirectory(prefix="engine-versions-") as tmp:
        name, sha = extract_engine(args.rev, Path(tmp))
        old = load_package(name, Path(tmp))
        engines = {
            "today": load_engine(EngineConfig(model=model, threads=args.threads, device="cpu")),
            args.rev: old.load_engine(
                old.EngineConfig(model=model, threads=args.threads, device="cpu")
            ),
        }
        result = compare(engines, speech_clips(), args.rounds)
    report = {
        "date": dt.date.today().isoformat(),
        "rev": args.rev,
        "sha": sha,
        "model_size": args.model_size,
        "threads": args.threads,
        "load_average": load_average,
        "result": result,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{report['date']}-engine-vs-{sha[:10]}-{args.model_size}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(report))
    print(markdown(report), flush=True)
    return report


if __name__ == "__main__":
    main()
