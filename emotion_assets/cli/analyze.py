"""`emotion-assets analyze FILE`: emotion scores of one recording, written to a timestamped folder.

DIR/outputs_YYYYMMDD_HHMMSS/ gets processed_audio.wav (16 kHz mono), result.json and, with
--embedding, embedding.npy (utterance: the mean feature (D,); frame: one row per frame (T, D)).

Every failure is one sentence on stderr and a non-zero exit code: 2, a usage error (the file,
--out, --model or a setting can't be used: checked before the model loads, except a model that
can't be had); 1, the run failed (e.g. a full disk). --debug adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import stat
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

from emotion_assets.foundation.labels import SAMPLE_RATE
from emotion_assets.foundation.quiet import quiet_library_noise
from emotion_assets.settings import Settings, load_settings

log = logging.getLogger("emotion_assets.cli")


class InputError(ValueError):
    """The file or --out given can't be used; the message is the sentence the user sees."""


_KINDS = {
    stat.S_ISFIFO: "a named pipe",
    stat.S_ISSOCK: "a socket",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
}


def check_input_file(path: Path) -> None:
    """The file must be a regular file: a folder or a pipe is named as such, not 'missing'."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{path} does not exist.") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc.strerror}).") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path} is a folder: give one audio file.")
    kind = next((name for test, name in _KINDS.items() if test(mode)), None)
    if kind:
        raise InputError(f"{path} is {kind}, not a regular file: give one audio file.")


def check_out_root(root: Path) -> None:
    """--out must be a folder, or one that can be created: tried before any work, so a bad
    --out costs neither the decode nor the model's load, and nothing is created here."""
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "a file" if existing == root else f"under a file, {existing}"
        raise InputError(f"--out {root} is {what}, not a folder.")
    try:  # the only honest test of "can I create a folder here" (root may pass os.access)
        Path(tempfile.mkdtemp(prefix=".emotion-assets-check-", dir=existing)).rmdir()
    except OSError as exc:
        raise InputError(
            f"--out {root} cannot be used: no folder can be created in {existing} ({exc.strerror})."
        ) from None


def _decode(path: Path, settings: Settings) -> tuple[np.ndarray, int | None]:
    """Mono 16 kHz float32 samples (ffmpeg via emotion_assets.audio) and the source rate.

    The file is probed first, with the same rules as the pipeline's ingest (not audio, too
    short or long, implausible sample rate...), so the user gets the same sentence.
    """
    from emotion_assets.audio.decode import DecodeError, decode
    from emotion_assets.audio.probe import probe_file

    ffmpeg = settings.audio.ffmpeg_binary or None
    probe = probe_file(path, ffmpeg_binary=ffmpeg, max_duration_s=settings.audio.max_duration_s)
    if probe.problem:
        detail = f" (ffmpeg: {probe.detail})" if probe.detail else ""
        raise InputError(f"{path.name}: {probe.problem.rstrip('.')}{detail}.")
    try:
        wave = decode(path, ffmpeg_binary=ffmpeg, sample_rate=SAMPLE_RATE, mode="mono")[0]
    except DecodeError as exc:
        detail = f" (ffmpeg: {exc.detail})" if exc.detail else ""
        raise InputError(f"{path.name} could not be decoded as audio{detail}.") from exc
    return wave, probe.sample_rate


def analyze(args: argparse.Namespace) -> Path:
    from emotion_assets.pipeline.one_file import (
        load_engine_or_tiny,
        outputs_dir,
        result_document,
        write_outputs,
    )

    settings = load_settings()  # a bad setting fails before any work, in one sentence
    path = Path(args.file)
    check_input_file(path)
    check_out_root(Path(args.out))
    wave, source_rate = _decode(path, settings)
    log.info(
        "decoded %s: %.2f s, source sample rate %s Hz, converted to %d Hz mono float32",
        path.name,
        len(wave) / SAMPLE_RATE,
        source_rate or "unknown",
        SAMPLE_RATE,
    )
    engine = load_engine_or_tiny(args.model, settings)
    scores = engine.score(wave, with_features=args.embedding)
    if scores.n_frames == 0:
        raise InputError(f"{path.name} is shorter than one 25 ms frame: nothing to score.")
    out = outputs_dir(Path(args.out))
    result = result_document(
        scores, granularity=args.granularity, model_id=engine.model_id, n_samples=len(wave)
    )
    write_outputs(out, wave=wave, result=result, features=scores.features)
    log.info("%s (%.2f) -> %s", result["emotion"], result["confidence"], out)
    return out


def build_parser() -> argparse.ArgumentParser:
    a = argparse.ArgumentParser(
        prog="emotion-assets analyze", description="score the emotions of one audio file"
    )
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
    return a


def main(argv: list[str] | None = None) -> int:
    quiet_library_noise()  # the entry point lowers library chatter (quiet.py)
    args = build_parser().parse_args(argv)
    logging.basicConfig(  # quiet unless asked: a failure is one sentence, not a log
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from emotion_assets.engine.loading import ModelUnavailableError

    try:
        out = analyze(args)
    except (ModelUnavailableError, InputError, ValueError) as exc:  # usage: see the docstring
        return _fail(exc, 2, args.debug)
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns any failure into a sentence
        return _fail(exc, 1, args.debug, unexpected=True)
    print(out)
    return 0


def _fail(exc: BaseException, code: int, debug: bool, *, unexpected: bool = False) -> int:
    from emotion_assets.foundation.atomic_files import DiskFullError

    text = " ".join(str(exc).split()) or type(exc).__name__
    if unexpected and not isinstance(exc, DiskFullError):
        text = f"{type(exc).__name__}: {text}"
    hint = "" if debug else " (--debug shows the details)" if unexpected else ""
    print(f"error: {text}{hint}", file=sys.stderr)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    return code
