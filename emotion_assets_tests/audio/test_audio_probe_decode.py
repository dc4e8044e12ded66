"""probe_file and decode on the shared real recordings and on hostile files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion_assets.audio.decode import decode, write_wav_f32
from emotion_assets.audio.ffmpeg_tools import ffmpeg_binary
from emotion_assets.audio.probe import probe_file
from emotion_assets_tests.audio.helpers import shared, shared_files

FF = ffmpeg_binary()
EMPTY = "test1_empty.wav"


@pytest.mark.parametrize(
    "path", shared_files("speech", "formats", "nonspeech"), ids=lambda p: p.name
)
def test_every_shared_file_probes_and_decodes(path: Path) -> None:
    probe = probe_file(path, ffmpeg_binary=FF)
    x = decode(path, ffmpeg_binary=FF)
    assert x.dtype == np.float32 and x.ndim == 2 and x.shape[0] == 1
    if path.name == EMPTY:
        assert probe.problem is not None and "no audio samples" in probe.problem
        assert x.shape[1] == 0
        return
    assert probe.problem is None, probe.problem
    assert probe.sample_rate and probe.channels and probe.codec and probe.container
    assert probe.duration_s > 1.0
    # 16 kHz decode is as long as the native-rate count says (resampler edges aside).
    assert abs(x.shape[1] / 16000 - probe.duration_s) < 0.01
    assert np.isfinite(x).all() and np.abs(x).max() > 0.01


@pytest.mark.parametrize(
    "rel",
    [
        "formats/test4.wav",
        "formats/test-dc_offset.wav",
        "formats/test1-8bit.wav",
        "formats/test-192khz-32bit.flac",
        "speech/two_speakers.wav",
        "speech/librispeech_198-209-0000.ogg",
        "nonspeech/robin_whistle.ogg",
    ],
)
def test_probe_agrees_with_libsndfile(rel: str) -> None:
    """Rate, channels and sample count cross-checked against an independent reader."""
    path = shared(rel)
    info = sf.info(str(path))
    probe = probe_file(path, ffmpeg_binary=FF)
    assert (probe.sample_rate, probe.channels) == (info.samplerate, info.channels)
    assert abs(probe.duration_s - info.frames / info.samplerate) < 0.02


def test_192khz_flac_duration_within_20ms() -> None:
    path = shared("formats/test-192khz-32bit.flac")
    with sf.SoundFile(str(path)) as f:
        truth = f.frames / f.samplerate
    probe = probe_file(path, ffmpeg_binary=FF)
    assert 6.5 < truth < 7.5
    assert abs(probe.duration_s - truth) < 0.020
    assert probe.codec == "flac" and probe.sample_rate == 192000 and probe.channels == 2


def test_wrong_extension_is_read_by_content() -> None:
    wrong, right = shared("formats/wrong_extension.aac"), shared("formats/format_test.m4a")
    probe = probe_file(wrong, ffmpeg_binary=FF)
    assert probe.problem is None and "mp4" in probe.container and probe.codec == "aac"
    np.testing.assert_array_equal(decode(wrong, ffmpeg_binary=FF), decode(right, ffmpeg_binary=FF))


def test_recording_id_is_sha_prefix() -> None:
    import hashlib

    path = shared("formats/party.mp3")
    probe = probe_file(path, ffmpeg_binary=FF)
    assert probe.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert probe.recording_id == probe.sha256[:16] and probe.bytes == path.stat().st_size


def test_longer_than_maximum_is_a_problem() -> None:
    path = shared("formats/test4.wav")  # 8 s
    assert probe_file(path, ffmpeg_binary=FF, max_duration_s=10).problem is None
    too_long = probe_file(path, ffmpeg_binary=FF, max_duration_s=2)
    assert too_long.problem and "longer than the configured maximum" in too_long.problem


def test_shorter_than_receptive_field_is_a_problem(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    short, enough = tmp_path / "short.wav", tmp_path / "enough.wav"
    sf.write(short, rng.uniform(-0.5, 0.5, 160).astype(np.float32), 16000)  # 10 ms
    sf.write(enough, rng.uniform(-0.5, 0.5, 480).astype(np.float32), 16000)  # 30 ms
    assert "too short" in (probe_file(short, ffmpeg_binary=FF).problem or "")
    assert probe_file(enough, ffmpeg_binary=FF).problem is None


def test_hostile_files_give_reasons_not_exceptions(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    noise = tmp_path / "noise.wav"
    noise.write_bytes(rng.bytes(20_000))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n" * 50)
    for path in (noise, empty, text):
        probe = probe_file(path, ffmpeg_binary=FF)
        assert probe.problem, path.name
        assert probe.problem.endswith(".")  # a sentence, not a code
    assert "empty" in probe_file(empty, ffmpeg_binary=FF).problem


def test_playlist_disguised_as_wav_is_not_followed(tmp_path: Path) -> None:
    """A concat/HLS list must not make ffmpeg open the files named inside it.

    Plain ffmpeg does decode the sibling through this concat list (checked by hand: 8 s).
    """
    shutil.copyfile(shared("formats/test4.wav"), tmp_path / "sibling.wav")
    concat = tmp_path / "concat.wav"
    concat.write_text("ffconcat version 1.0\nfile 'sibling.wav'\n")
    playlist = tmp_path / "list.wav"
    playlist.write_text("#EXTM3U\n#EXTINF:8,\nsibling.wav\n#EXT-X-ENDLIST\n")
    for path in (concat, playlist):
        probe = probe_file(path, ffmpeg_binary=FF)
        assert probe.problem is not None and probe.duration_s is None, path.name


def test_truncated_mp3_decodes_what_is_there(tmp_path: Path) -> None:
    full = shared("formats/test1.mp3")
    half = tmp_path / "half.mp3"
    data = full.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    probe = probe_file(half, ffmpeg_binary=FF)
    whole = probe_file(full, ffmpeg_binary=FF)
    assert probe.problem is None
    assert 0.3 * whole.duration_s < probe.duration_s < 0.7 * whole.duration_s


def test_channels_mode_keeps_each_channel_exactly() -> None:
    path = shared("formats/test-dc_offset.wav")  # 22.05 kHz stereo PCM16
    truth, rate = sf.read(str(path), dtype="float32")
    both = decode(path, ffmpeg_binary=FF, sample_rate=rate, mode="channels")
    assert both.shape == (2, truth.shape[0])
    np.testing.assert_allclose(both, truth.T, atol=1e-6)
    assert not np.allclose(both[0], both[1])  # really two different channels
    mono = decode(path, ffmpeg_binary=FF, sample_rate=rate, mode="mono")
    np.testing.assert_allclose(mono[0], truth.mean(axis=1), atol=1e-4)  # downmix = mean


def test_resampling_to_16k_keeps_length() -> None:
    path = shared("formats/test4.wav")  # 48 kHz, 8 s
    x = decode(path, ffmpeg_binary=FF)
    assert abs(x.shape[1] - 8 * 16000) <= 16


def test_write_wav_f32_round_trip(tmp_path: Path) -> None:
    x = np.sin(np.linspace(0, 100, 16000)).astype(np.float32) * 1.5  # > full scale survives
    out = write_wav_f32(tmp_path / "a.wav", x, 16000)
    info = sf.info(str(out))
    assert (info.format, info.subtype, info.channels, info.samplerate) == ("WAV", "FLOAT", 1, 16000)
    back, _ = sf.read(str(out), dtype="float32")
    np.testing.assert_array_equal(back, x)
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]  # no temp file left behind
    with pytest.raises(ValueError):
        write_wav_f32(tmp_path / "b.wav", np.zeros((2, 10), np.float32), 16000)


def test_ffmpeg_binary_precedence() -> None:
    # FFMPEG_BINARY reaches the decoders as this override (AudioSettings; tests/test_settings.py)
    assert ffmpeg_binary("/usr/bin/ffmpeg") == "/usr/bin/ffmpeg"
    assert Path(ffmpeg_binary()).is_file()  # else the binary of the imageio-ffmpeg wheel


@pytest.mark.parametrize(
    "name",
    [
        "it's a $(test) ünïcode ;rm.wav",
        "http:odd.wav",
        "-y.wav",
        "a\n  Stream #0:0: Audio: flac, 96000 Hz, 5.1, s32\nb.wav",
    ],
)
def test_odd_names_are_just_names(tmp_path: Path, name: str) -> None:
    """Names are never read as options, protocols or banner lines."""
    path = tmp_path / name
    shutil.copyfile(shared("formats/test4.wav"), path)
    probe = probe_file(path, ffmpeg_binary=FF)
    assert probe.problem is None
    assert (probe.sample_rate, probe.channels, probe.codec) == (48000, 1, "pcm_s16le")
    assert decode(path, ffmpeg_binary=FF, mode="channels").shape == (1, 128000)
