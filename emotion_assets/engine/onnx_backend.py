"""Opt-in ONNX Runtime backend for the encoder (EMOTION_ENGINE_BACKEND=onnx; CPU, float32).

The engine's hot path (normalised window -> conv feature extractor -> positional conv ->
transformer -> frame features and logits) is exported once per model with torch.onnx.export
(dynamic batch and time axes) and cached beside the model folder as `encoder-fp32.onnx`. The
ALiBi bias is a graph input (the engine builds it once per window length, accel.AlibiCache):
a traced bias would freeze the time axis. bench/onnx_trial.py measured it (docs/performance.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from emotion_assets.foundation.atomic_files import atomic_path

ONNX_NAME = "encoder-fp32.onnx"
OPSET = 17


class EncoderGraph(torch.nn.Module):
    """(B, N) normalised waveform + (1, H, E+T, E+T) ALiBi bias -> (B, T, 9) logits, (B, T, D).

    accel.features_forward + proj with funasr's Conv1d extractor (the GEMM extractor slices
    tiles in Python, which a trace would freeze) and whatever attention the model carries.
    """

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, source: torch.Tensor, bias: torch.Tensor):
        m = self.model
        enc = m.modality_encoders["AUDIO"]
        x = enc.local_features(source)
        if enc.relative_positional_encoder is not None:
            x = x + enc.relative_positional_encoder(x)
        n_extra = 0
        if enc.extra_tokens is not None:
            n_extra = enc.extra_tokens.size(1)
            x = torch.cat([enc.extra_tokens.expand(x.size(0), -1, -1), x], dim=1)
        x = enc.context_encoder(x, None, bias, None)
        for blk in m.blocks:
            x, _ = blk(x, padding_mask=None, alibi_bias=bias)
        if m.norm is not None:
            x = m.norm(x)
        x = x[:, n_extra:]
        return m.proj(x), x


def frame_count(model, n_samples: int) -> int:
    """T for n samples: the conv stack's output length (no model run)."""
    n = n_samples
    for layer in model.modality_encoders["AUDIO"].local_encoder.conv_layers:
        conv = layer[0]
        n = (n - conv.kernel_size[0]) // conv.stride[0] + 1
    return n


def export_encoder(model, model_dir: Path, alibi, seconds: float = 4.0) -> Path:
    """The encoder as ONNX beside the model folder, exported once (atomic write)."""
    target = Path(model_dir) / ONNX_NAME
    if target.is_file():
        return target
    graph = EncoderGraph(model).eval()
    source = torch.randn(1, int(seconds * 16000))
    enc = model.modality_encoders["AUDIO"]
    bias = alibi.get(enc, frame_count(model, source.size(1)), source.device)
    with atomic_path(target) as tmp, torch.no_grad():
        torch.onnx.export(
            graph,
            (source, bias.detach().contiguous()),
            str(tmp),
            dynamo=False,  # the TorchScript exporter: one pass, no onnxscript needed
            input_names=["source", "alibi_bias"],
            output_names=["logits", "features"],
            dynamic_axes={
                "source": {0: "batch", 1: "samples"},
                "alibi_bias": {2: "tokens", 3: "tokens"},
                "logits": {0: "batch", 1: "frames"},
                "features": {0: "batch", 1: "frames"},
            },
            opset_version=OPSET,
        )
    return target


class OrtEncoder:
    """An ONNX Runtime session over an exported encoder, fed like accel.features_forward."""

    def __init__(self, model, onnx_path: Path, alibi, threads: int) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(onnx_path), opts, providers=["CPUExecutionProvider"]
        )
        self.model = model
        self.alibi = alibi
        self._bias: dict[int, np.ndarray] = {}

    def _bias_for(self, frames: int) -> np.ndarray:
        if frames not in self._bias:  # one contiguous bias per window length
            enc = self.model.modality_encoders["AUDIO"]
            bias = self.alibi.get(enc, frames, torch.device("cpu"))
            self._bias[frames] = np.ascontiguousarray(bias.detach().numpy())
        return self._bias[frames]

    def run(self, source: np.ndarray, with_features: bool = True):
        """(B, N) float32 normalised samples -> (B, T, 9) logits, (B, T, D) features or None."""
        frames = frame_count(self.model, source.shape[1])
        names = ["logits", "features"] if with_features else ["logits"]
        feeds = {"source": np.ascontiguousarray(source), "alibi_bias": self._bias_for(frames)}
        out = self.session.run(names, feeds)
        return out[0], (out[1] if with_features else None)
