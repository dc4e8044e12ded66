"""Issue 11, item 10 at the ingest: libsndfile's "System error." on a full disk becomes one
sentence saying the disk is full and where; nothing half-written is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from emotion_assets.audio import ingest
from emotion_assets.foundation import atomic_files as atomic
from emotion_assets.foundation.atomic_files import DiskFullError
from emotion_assets.foundation.layout import DataLayout
from emotion_assets_tests.audio.helpers import DAY, fingerprint, make_day, shared


def test_a_full_disk_while_writing_a_wav_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    make_day(root, {"call.ogg": shared("speech/librispeech_198-209-0000.ogg")})
    layout = DataLayout(root)
    raw = ingest.probe_day(layout, DAY)
    before = fingerprint(root / "raw")

    def no_space(self: sf.SoundFile, data: object) -> None:
        raise sf.LibsndfileError(2)  # what libsndfile raises on ENOSPC: "System error."

    monkeypatch.setattr(sf.SoundFile, "write", no_space)
    monkeypatch.setattr(atomic, "free_bytes", lambda folder: 0)  # the file system is full
    with pytest.raises(DiskFullError) as info:
        ingest.normalize_day(layout, DAY, raw)
    message = str(info.value)
    processed = root / "processed" / DAY
    assert message.startswith("The disk is full:") and str(processed) in message
    assert "\n" not in message and "System error" not in message
    assert list(processed.iterdir()) == []  # no temp file, no half WAV
    assert fingerprint(root / "raw") == before


def test_other_write_errors_are_not_called_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: sf.SoundFile, data: object) -> None:
        raise sf.LibsndfileError(2)

    monkeypatch.setattr(sf.SoundFile, "write", broken)
    root = tmp_path / "data"
    make_day(root, {"call.ogg": shared("speech/librispeech_198-209-0000.ogg")})
    layout = DataLayout(root)
    raw = ingest.probe_day(layout, DAY)
    with pytest.raises(sf.LibsndfileError):  # plenty of space here: the real error stands
        ingest.normalize_day(layout, DAY, raw)
