"""EngineConfig: how to load and run the model, validated (no torch: settings check it at load)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emotion_assets.settings import DEFAULT_MODEL, ModelSettings, check_model_combination


@dataclass(frozen=True)
class EngineConfig:
    """How to load and run the model. Hashable: load_engine caches one engine per config."""

    model: str = DEFAULT_MODEL  # ModelScope id, Hugging Face id (hub="hf") or local folder
    hub: str = "ms"  # "ms" | "hf"
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    window_s: float = 30.0  # model window (clips up to this length run in one pass)
    context_s: float = 4.0  # audio kept on both sides of every frame when stitching
    batch_size: int = 1  # windows per forward pass (equal lengths only: no padding)
    # Given speech segments, windows end in pauses of at least pause_s (0: fixed windows only)
    pause_s: float = 0.3
    # ... and run about pack_s long where pauses allow (attention grows with length squared;
    # window_s or more: pack whole windows)
    pack_s: float = 15.0
    # Compute only the speech (+ speech_margin_s of audio each side); other frames stay NaN
    speech_only: bool = False
    speech_margin_s: float = 0.2
    threads: int | None = None  # torch intra-op threads on the CPU; None = every available core
    quantize: str = "none"  # "none" | "int8" (CPU dynamic int8: Linear layers + conv GEMMs)
    cache_dir: Path | None = None  # hub downloads land here (the wiring passes data/models)
    # accel.py: scaled_dot_product_attention and the conv feature encoder as GEMMs
    fast_attention: bool = True
    # "torch" | "onnx": the encoder through ONNX Runtime (CPU float32, exported once beside
    # the model; onnx_backend.py)
    backend: str = "torch"

    @classmethod
    def from_settings(
        cls, settings: ModelSettings, cache_dir: Path | None = None, **overrides
    ) -> EngineConfig:
        """The engine's config from the model settings; keyword arguments win."""
        values = {
            "model": settings.model,
            "hub": settings.model_hub,
            "device": settings.device,
            "window_s": settings.window_s,
            "context_s": settings.context_s,
            "batch_size": settings.batch_size,
            "pause_s": settings.window_pause_s,
            "pack_s": settings.window_pack_s,
            "speech_only": settings.score_speech_only,
            "speech_margin_s": settings.speech_margin_s,
            "threads": settings.threads,
            "quantize": settings.quantize,
            "backend": settings.engine_backend,
            "cache_dir": cache_dir,
        }
        return cls(**{**values, **overrides})

    def __post_init__(self) -> None:
        if self.hub not in ("ms", "hf"):
            raise ValueError(f"hub must be 'ms' or 'hf', not {self.hub!r}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu or cuda, not {self.device!r}")
        if self.quantize not in ("none", "int8"):
            raise ValueError(f"quantize must be 'none' or 'int8', not {self.quantize!r}")
        if self.backend not in ("torch", "onnx"):
            raise ValueError(f"backend must be 'torch' or 'onnx', not {self.backend!r}")
        check_model_combination(
            window_s=self.window_s,
            context_s=self.context_s,
            backend=self.backend,
            quantize=self.quantize,
        )
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.pack_s <= 0:
            raise ValueError("pack_s must be positive")
        if self.pause_s < 0 or self.speech_margin_s < 0:
            raise ValueError("pause_s and speech_margin_s must not be negative")
