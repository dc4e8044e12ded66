"""`emotion-assets analyze FILE`: emotion scores of one recording, written to a timestamped folder.

DIR/outputs_YYYYMMDD_HHMMSS/ gets processed_audio.wav (16 kHz mono), result.json and, with
--embedding, embedding.npy (utterance: the mean feature (D,); frame: one row per frame (T, D)).

Every failure is one sentence on stderr and a non-zero exit code (2: the input or the model
can't be used; 1: anything else, e.g. a full disk); --debug adds the traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import traceback
from pathlib import Path

import numpy as np

from emotion_assets.labels import EMOTIONS, FRAME_RATE_HZ, SAMPLE_RATE

log = logging.getLogger("emotion_assets.cli")


class InputError(ValueError):
    """The file given can't be analysed; the message is the sentence the user sees."""


def _decode(path: Path) -> tuple[np.ndarray, int | None]:
    """Mono 16 kHz float32 samples (ffmpeg via emotion_assets.audio) and the source rate.

    The file is probed first, with the same rules as the pipeline's ingest (not audio, too
    short or long, implausible sample rate...), so the user gets the same sentence.
    """
    from emotion_assets.audio.decode import DecodeError, decode
    from emotion_assets.audio.probe import probe_file
    from emotion_assets.settings import Settings

    probe = probe_file(path, max_duration_s=Settings.from_env().max_duration_s)
    if probe.problem:
        detail = f" (ffmpeg: {probe.detail})" if probe.detail else ""
        raise InputError(f"{path.name}: {probe.problem.rstrip('.')}{detail}.")
    try:
        return decode(path, sample_rate=SAMPLE_RATE, mode="mono")[0], probe.sample_rate
    except DecodeError as exc:
        detail = f" (ffmpeg: {exc.detail})" if exc.detail else ""
        raise InputError(f"{path.name} could not be decoded as audio{detail}.") from exc


def _engine(model_arg: str | None):
    """The engine for --model / EMOTION_MODEL; the tiny model when the default is unavailable."""
    from emotion_assets.engine import EngineConfig, ModelUnavailableError, load_engine
    from emotion_assets.engine.model_builder import cached_model_dir
    from emotion_assets.settings import Settings

    settings = Settings.from_env()
    cache = settings.data_dir / "models"
    explicit = model_arg or os.environ.get("EMOTION_MODEL", "").strip()
    cfg = EngineConfig.from_env(cache_dir=cache, **({"model": model_arg} if model_arg else {}))
    try:
        return load_engine(cfg)
    except ModelUnavailableError as exc:
        if explicit:
            raise
        tiny = cached_model_dir(cache, "tiny")
        print(
            f"WARNING: {exc}\nWARNING: falling back to the TINY RANDOM MODEL in {tiny}: "
            "its scores carry no meaning (demo only).",
            file=sys.stderr,
        )
        return load_engine(EngineConfig.from_env(model=str(tiny), cache_dir=cache))


def _out_dir(root: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    out = root / f"outputs_{stamp}"
    n = 1
    while out.exists():  # two runs in the same second
        n += 1
        out = root / f"outputs_{stamp}_{n}"
    out.mkdir(parents=True)
    return out


def analyze(args: argparse.Namespace) -> Path:
    from emotion_assets.audio.decode import write_wav_f32
    from emotion_assets.warehouse.atomic import write_atomically

    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    wave, source_rate = _decode(path)
    log.info(
        "decoded %s: %.2f s, source sample rate %s Hz, converted to %d Hz mono float32",
        path.name,
        len(wave) / SAMPLE_RATE,
        source_rate or "unknown",
        SAMPLE_RATE,
    )
    engine = _engine(args.model)
    scores = engine.score(wave, with_features=args.embedding)
    if scores.n_frames == 0:
        raise ValueError(f"{path.name} is shorter than one 25 ms frame: nothing to score")
    utt = scores.utterance()
    out = _out_dir(Path(args.out))
    write_wav_f32(out / "processed_audio.wav", wave)
    top = int(np.argmax(utt))
    result: dict = {
        "emotion": EMOTIONS[top],
        "confidence": float(utt[top]),
        "scores": {e: float(s) for e, s in zip(EMOTIONS, utt, strict=True)},
        "granularity": args.granularity,
        "timestamp": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "model_id": engine.model_id,
        "duration_s": len(wave) / SAMPLE_RATE,
    }
    if args.granularity == "frame":
        result["frame_rate_hz"] = FRAME_RATE_HZ
        result["frame_scores"] = [
            {
                "t": round(i / FRAME_RATE_HZ, 2),
                **{e: float(p) for e, p in zip(EMOTIONS, row, strict=True)},
            }
            for i, row in enumerate(scores.probs.tolist())
        ]
    text = json.dumps(result, indent=1)
    # atomic writes: a full disk becomes one sentence naming the file (DiskFullError)
    write_atomically(out / "result.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    if args.embedding and scores.features is not None:
        emb = scores.features if args.granularity == "frame" else scores.features.mean(axis=0)

        def save(tmp: Path) -> None:
            with open(tmp, "wb") as fh:  # np.save on a path would add ".npy" to the temp name
                np.save(fh, emb.astype(np.float32))

        write_atomically(out / "embedding.npy", save)
    log.info("%s (%.2f) -> %s", result["emotion"], result["confidence"], out)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotion-assets", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="score the emotions of one audio file")
    a.add_argument("file", help="any audio file ffmpeg can read")
    a.add_argument("--granularity", choices=("utterance", "frame"), default="utterance")
    a.add_argument("--embedding", action="store_true", help="also write embedding.npy")
    a.add_argument("--out", default=".", help="folder for outputs_YYYYMMDD_HHMMSS/ (default .)")
    a.add_argument(
        "--model",
        default=None,
        help="ModelScope/Hugging Face id or local folder (default: $EMOTION_MODEL)",
    )
    a.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(  # quiet unless asked: a failure is one sentence, not a log
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from emotion_assets.engine import ModelUnavailableError

    try:
        out = analyze(args)
    except (ModelUnavailableError, FileNotFoundError, InputError, ValueError) as exc:
        return _fail(exc, 2, args.debug)
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns any failure into a sentence
        return _fail(exc, 1, args.debug, unexpected=True)
    print(out)
    return 0


def _fail(exc: BaseException, code: int, debug: bool, *, unexpected: bool = False) -> int:
    from emotion_assets.warehouse.atomic import DiskFullError

    text = " ".join(str(exc).split()) or type(exc).__name__
    if unexpected and not isinstance(exc, DiskFullError):
        text = f"{type(exc).__name__}: {text}"
    hint = "" if debug else " (--debug shows the details)" if unexpected else ""
    print(f"error: {text}{hint}", file=sys.stderr)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
