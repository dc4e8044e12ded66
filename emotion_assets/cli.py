"""`emotion-assets analyze FILE`: emotion scores of one recording, written to a timestamped folder.

DIR/outputs_YYYYMMDD_HHMMSS/ gets processed_audio.wav (16 kHz mono), result.json and, with
--embedding, embedding.npy (utterance: the mean feature (D,); frame: one row per frame (T, D)).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path

import numpy as np

from emotion_assets.labels import EMOTIONS, FRAME_RATE_HZ, SAMPLE_RATE
from emotion_assets.settings import Settings, load_settings

log = logging.getLogger("emotion_assets.cli")


def _decode(path: Path, ffmpeg: str | None) -> tuple[np.ndarray, int | None]:
    """Mono 16 kHz float32 samples (ffmpeg via emotion_assets.audio) and the source rate."""
    from emotion_assets.audio.decode import decode
    from emotion_assets.audio.probe import probe_file

    source_rate = None
    try:
        source_rate = probe_file(path, ffmpeg_binary=ffmpeg).sample_rate
    except Exception as exc:  # the rate is only logged; decoding below reports real problems
        log.debug("probe failed: %s", exc)
    return decode(path, ffmpeg_binary=ffmpeg, sample_rate=SAMPLE_RATE, mode="mono")[0], source_rate


def _engine(model_arg: str | None, settings: Settings):
    """The engine for --model / EMOTION_MODEL; the tiny model (loudly) when neither is given and
    the default model can't be had."""
    from emotion_assets.engine.selection import load_with_fallback

    model = settings.model
    chosen = {"model": model_arg} if model_arg else {}
    models = settings.storage.data_dir / "models"
    engine, warning = load_with_fallback(
        model.engine_config(cache_dir=models, **chosen),
        allow_tiny_fallback=model.model_is_default and not model_arg,
        tiny_dir=models / "tiny",
    )
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr)
    return engine


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

    settings = load_settings()  # a bad setting fails before any work, in one sentence
    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    wave, source_rate = _decode(path, settings.audio.ffmpeg_binary or None)
    log.info(
        "decoded %s: %.2f s, source sample rate %s Hz, converted to %d Hz mono float32",
        path.name,
        len(wave) / SAMPLE_RATE,
        source_rate or "unknown",
        SAMPLE_RATE,
    )
    engine = _engine(args.model, settings)
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
    (out / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    if args.embedding and scores.features is not None:
        emb = scores.features if args.granularity == "frame" else scores.features.mean(axis=0)
        np.save(out / "embedding.npy", emb.astype(np.float32))
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
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    from emotion_assets.engine import ModelUnavailableError

    try:
        out = analyze(args)
    except (ModelUnavailableError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
