"""`emotion-assets analyze FILE`: emotion scores of one recording, written to a timestamped folder.

DIR/outputs_YYYYMMDD_HHMMSS/ gets processed_audio.wav (16 kHz mono), result.json and, with
--embedding, embedding.npy (utterance: the mean feature (D,); frame: one row per frame (T, D)).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from emotion_assets.labels import SAMPLE_RATE
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
    """The engine for --model / EMOTION_MODEL; the tiny model when the default is unavailable."""
    from emotion_assets.single_file import load_engine_or_tiny

    return load_engine_or_tiny(model_arg, settings)


def analyze(args: argparse.Namespace) -> Path:
    from emotion_assets.single_file import outputs_dir, result_document, write_outputs

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
    out = outputs_dir(Path(args.out))
    result = result_document(
        scores, granularity=args.granularity, model_id=engine.model_id, n_samples=len(wave)
    )
    write_outputs(out, wave=wave, result=result, features=scores.features)
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
    s = sub.add_parser("serve", help="the web page for one recording (docs/app.md)")
    s.add_argument("--host", default=None, help="address to bind (default: $EMOTION_APP_HOST)")
    s.add_argument("--port", type=int, default=None, help="port (default: $EMOTION_APP_PORT)")
    s.add_argument("--model", default=None, help="as for analyze (default: $EMOTION_MODEL)")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    from emotion_assets.engine import ModelUnavailableError

    if args.command == "serve":
        from emotion_assets.app.server import serve

        return serve(host=args.host, port=args.port, model=args.model)
    try:
        out = analyze(args)
    except (ModelUnavailableError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
