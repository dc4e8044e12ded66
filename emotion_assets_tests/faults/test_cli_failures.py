"""Issue 11, item 7: every failure of `emotion-assets analyze` is one sentence and a non-zero
exit code, with the traceback only under --debug."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emotion_assets import cli
from emotion_assets.cli import analyze as analyze_command


def _analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EMOTION_DATA_DIR": str(cwd / "data")}
    return subprocess.run(
        [sys.executable, "-m", "emotion_assets.cli", "analyze", *args, "--out", str(cwd / "o")],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_random_bytes_named_mp3_is_one_sentence_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp3"
    bad.write_bytes(os.urandom(20_000))
    done = _analyze(str(bad), cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: x.mp3: ")
    assert "Traceback" not in done.stderr and "ffmpeg can read" in lines[0]
    assert not (tmp_path / "o").exists()


def test_an_implausible_rate_and_a_missing_file_are_one_sentence(tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "one_hz.wav", np.zeros(9000, np.int16), 1, subtype="PCM_16")
    done = _analyze(str(tmp_path / "one_hz.wav"), cwd=tmp_path)
    assert done.returncode == 2 and "1 Hz" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = _analyze(str(tmp_path / "missing.wav"), cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_unexpected_failures_are_one_sentence_and_debug_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def explode(args: object) -> Path:
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(analyze_command, "analyze", explode)
    assert cli.main(["analyze", "whatever.wav"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "error: RuntimeError: something broke (--debug shows the details)"
    assert cli.main(["analyze", "whatever.wav", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_full_disk_is_said_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from emotion_assets.foundation.atomic_files import DiskFullError

    def full(args: object) -> Path:
        raise DiskFullError("The disk is full: /x/o/result.json could not be written.")

    monkeypatch.setattr(analyze_command, "analyze", full)
    assert cli.main(["analyze", "whatever.wav"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: The disk is full: /x/o/result.json could not be written. "
        "(--debug shows the details)"
    )


# Issue 25, item 12: the file and --out are checked before any work, in one sentence, exit 2.
# EMOTION_MODEL names a folder that does not exist: had the model been loaded first, the
# sentence would be about the model.
def _analyze_no_model(file: Path, out: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EMOTION_DATA_DIR": str(cwd / "data"), "EMOTION_MODEL": "/no/model"}
    return subprocess.run(
        [sys.executable, "-m", "emotion_assets.cli", "analyze", str(file), "--out", str(out)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _one_usage_sentence(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "Errno" not in lines[0] and "model" not in lines[0], lines[0]
    return lines[0]


def test_a_folder_or_a_pipe_is_named_for_what_it_is(tmp_path: Path) -> None:
    folder = _one_usage_sentence(_analyze_no_model(tmp_path, tmp_path / "o", tmp_path))
    assert folder == f"error: {tmp_path} is a folder: give one audio file."
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    pipe = _one_usage_sentence(_analyze_no_model(fifo, tmp_path / "o", tmp_path))
    assert pipe == f"error: {fifo} is a named pipe, not a regular file: give one audio file."
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("where", ["file", "under_file", "proc"])
def test_an_unusable_out_is_one_sentence_before_the_model_loads(
    tmp_path: Path, shared_audio: Path, where: str
) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("not a folder")
    out = {"file": a_file, "under_file": a_file / "o", "proc": Path("/proc/emotion-out")}[where]
    line = _one_usage_sentence(
        _analyze_no_model(shared_audio / "speech" / "two_speakers.wav", out, tmp_path)
    )
    assert line.startswith(f"error: --out {out} "), line
    assert a_file.read_text() == "not a folder"
