"""accel.py building blocks against funasr's own modules on the tiny random model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from funasr.models.emotion2vec.base import get_alibi_bias

from emotion_assets.engine import accel
from emotion_assets.engine.config import EngineConfig
from emotion_assets.engine.core import build_engine
from emotion_assets.engine.normalize import TrackNormalizer
from emotion_assets.foundation.labels import n_frames


@pytest.fixture(scope="module")
def fp32(tiny_dir):
    """An uncached tiny engine: load_engine's small LRU keys recency on first load, so creating
    the session's tiny_engine here (first test file) would get it evicted by later files."""
    return build_engine(EngineConfig(model=str(tiny_dir), threads=1))


def _encoder(engine):
    return engine.model.modality_encoders["AUDIO"]


def _source(engine, wave: np.ndarray) -> torch.Tensor:
    return TrackNormalizer(wave, engine.normalize).whole().view(1, -1)


@pytest.mark.parametrize("n", [400, 719, 16_000 * 3 + 17])
def test_gemm_conv_equals_funasr_conv(fp32, speech, n):
    """The conv extractor as GEMMs on views (two GEMMs for k > stride) == funasr's Conv1d."""
    enc = _encoder(fp32)
    wave = speech["librispeech_198-209-0000.ogg"][:n]
    with torch.inference_mode():
        fast = accel.local_features_gemm(enc, _source(fp32, wave))
        ref = enc.local_features(_source(fp32, wave))
    assert fast.shape == ref.shape
    assert (fast - ref).abs().max().item() <= 1e-4


@pytest.mark.parametrize("tile", [1, 7, 64])
def test_tiled_conv_stack_equals_one_pass(fp32, speech, tile):
    """Tiles of output frames line up with every conv layer: the same frames as one pass."""
    plan = accel.gemm_conv_plan(_encoder(fp32))
    wave = _source(fp32, speech["two_speakers.wav"][: 16_000 * 4 + 123])[0]
    with torch.inference_mode():
        whole = accel.conv_stack_tiled(plan, wave, tile_frames=10**9)
        tiled = accel.conv_stack_tiled(plan, wave, tile_frames=tile)
    assert tiled.shape == whole.shape == (n_frames(wave.numel()), whole.size(1))
    assert (tiled - whole).abs().max().item() <= 1e-5


def test_gemm_conv_batches_equal_single_items(fp32, speech):
    enc = _encoder(fp32)
    wave = speech["two_speakers.wav"]
    a, b = wave[:32_000], wave[40_000:72_000]
    batch = torch.stack([_source(fp32, a)[0], _source(fp32, b)[0]])
    with torch.inference_mode():
        both = accel.local_features_gemm(enc, batch)
        ref = enc.local_features(batch)
    assert (both - ref).abs().max().item() <= 1e-4


def test_alibi_slices_equal_a_bias_built_for_that_length(fp32):
    """The bias built once for the window, sliced, is the bias funasr builds for n frames."""
    enc = _encoder(fp32)
    heads = enc.modality_cfg.num_alibi_heads
    e = enc.extra_tokens.size(1)
    cache = accel.AlibiCache(max_frames=300)
    scale = enc.alibi_scale.clamp_min(0).squeeze(0)
    with torch.inference_mode():
        for n in (1, 57, 300, 301):
            got = cache.get(enc, n, torch.device("cpu"))
            fresh = get_alibi_bias({}, 1, n, heads, torch.float32, "cpu") * scale
            assert got.shape == (1, heads, n + e, n + e)
            assert torch.equal(got[..., e:, e:], fresh)
            assert not got[..., :e, :].any() and not got[..., :, :e].any()


def test_int8_quantizes_the_conv_gemms(tiny_dir, fp32, speech):
    """int8 runs the conv extractor on quantized GEMMs (all but the 10-tap first layer), with
    features close to float32; fast_attention=False keeps funasr's float32 Conv1d."""
    q = build_engine(EngineConfig(model=str(tiny_dir), threads=1, quantize="int8"))
    plan = accel.gemm_conv_plan(_encoder(q))
    assert [layer.qpacked is not None for layer in plan] == [False] + [True] * (len(plan) - 1)
    wave = speech["librispeech_3436-172162-0000.ogg"]
    with torch.inference_mode():
        fq = accel.local_features_gemm(_encoder(q), _source(q, wave))
        f32 = accel.local_features_gemm(_encoder(fp32), _source(fp32, wave))
    # 8-bit activations and weights: a few percent of relative error, not a scrambled output
    rel = ((fq - f32).norm() / f32.norm()).item()
    assert 0 < rel < 0.1
    slow = build_engine(
        EngineConfig(model=str(tiny_dir), threads=1, quantize="int8", fast_attention=False)
    )
    assert not any(
        layer.qpacked is not None for layer in accel.gemm_conv_plan(_encoder(slow)) or []
    )
