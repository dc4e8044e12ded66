"""silero-vad speech regions on real speech, real non-speech and degenerate input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emotion_assets.audio.decode import decode
from emotion_assets.audio.sidecars import read_rttm
from emotion_assets.audio.vad import BACKENDS, _get_model, speech_regions
from emotion_assets_tests.audio.helpers import shared, shared_files

torch.set_num_threads(1)


def _speech_fraction(regions: list[tuple[float, float]], duration: float) -> float:
    return sum(b - a for a, b in regions) / duration


@pytest.mark.parametrize("path", shared_files("speech"), ids=lambda p: p.name)
def test_speech_clips_are_mostly_speech(path) -> None:
    x = decode(path)[0]
    regions = speech_regions(x)
    duration = len(x) / 16000
    # Read audiobook sentences and a conversation: pauses exist, but speech dominates.
    assert _speech_fraction(regions, duration) > 0.6
    assert all(0 <= a < b <= duration + 1e-6 for a, b in regions)
    # ordered and disjoint
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(regions[:-1], regions[1:], strict=True))


def test_whale_song_is_not_speech() -> None:
    """Whale song is tonal and loud (rms 0.36) yet has no phonemes; silero finds none at 0.5.

    10 % leaves room for another silero release flagging a moan or two; a speech model that
    calls whale song speech would blow far past it.
    """
    x = decode(shared("nonspeech/humpback_whale.ogg"))[0]
    assert _speech_fraction(speech_regions(x), len(x) / 16000) < 0.10


def test_vad_regions_cover_the_rttm_speech() -> None:
    x = decode(shared("speech/two_speakers.wav"))[0]
    regions = speech_regions(x)
    turns, _ = read_rttm(shared("speech/two_speakers.rttm"))
    grid = np.arange(0, len(x) / 16000, 0.01)
    in_vad = np.zeros_like(grid, bool)
    in_rttm = np.zeros_like(grid, bool)
    for a, b in regions:
        in_vad |= (grid >= a) & (grid < b)
    for t in turns:
        in_rttm |= (grid >= t.t_start) & (grid < t.t_end)
    assert (in_vad & in_rttm).sum() / in_rttm.sum() > 0.9  # annotated speech is found
    assert not in_vad[grid < 6.0].any()  # the first 6 s carry no annotated speech


def test_silence_and_tiny_input_give_no_regions() -> None:
    assert speech_regions(np.zeros(16000 * 3, np.float32)) == []
    assert speech_regions(np.zeros(0, np.float32)) == []
    assert speech_regions(np.random.default_rng(0).normal(0, 0.1, 100).astype(np.float32)) == []


def test_threshold_matters() -> None:
    x = decode(shared("speech/two_speakers.wav"))[0]
    loose = _speech_fraction(speech_regions(x, threshold=0.2), 30)
    strict = _speech_fraction(speech_regions(x, threshold=0.95), 30)
    assert loose > strict


@pytest.mark.parametrize("path", shared_files("speech"), ids=lambda p: p.name)
def test_every_backend_finds_the_same_regions(path) -> None:
    """The ONNX backends (per chunk, and the default: 512 chunks per call) are only faster ways
    to run the same network as silero's TorchScript model."""
    x = decode(path)[0]
    found = {backend: speech_regions(x, backend=backend) for backend in BACKENDS}
    assert found["sequence"]
    assert found["sequence"] == found["onnx"] == found["jit"]


def test_the_sequence_model_gives_the_streaming_models_probabilities() -> None:
    """Bit for bit, over a file longer than one block of 512 chunks (the state crosses blocks)."""
    x = np.tile(decode(shared("speech/two_speakers.wav"))[0], 2)  # 60 s: 1875 chunks
    streaming = _get_model("onnx")
    streaming.reset_states()
    padded = np.zeros(-(-x.size // 512) * 512, np.float32)
    padded[: x.size] = x
    chunks = torch.from_numpy(padded).reshape(-1, 512)
    one_by_one = np.array([streaming(c, 16000).item() for c in chunks], np.float32)
    blocks = _get_model("sequence").audio_forward(x, sampling_rate=16000)
    np.testing.assert_array_equal(blocks, one_by_one)


def test_unknown_vad_backend_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'sequence', 'onnx', 'jit'"):
        speech_regions(np.zeros(16_000, np.float32) + 0.1, backend="tensorrt")
