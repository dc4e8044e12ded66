"""Write local emotion2vec model folders with seeded random weights (no hub needed).

"large" reproduces the published emotion2vec+ large architecture exactly (same compute, random
weights) for benchmarks; "tiny" keeps the architecture family and the feature-encoder strides
(20 ms frames, 25 ms receptive field) with small dimensions, for tests and the offline demo.
Both folders load with funasr ``AutoModel(model=DIR, disable_update=True)`` like a download.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

import torch
from omegaconf import OmegaConf

BUILDER_VERSION = 1
TINY_MODEL_ID = "tiny random model: scores carry no meaning"
LARGE_RANDOM_MODEL_ID = "large random model (published architecture): scores carry no meaning"
MARKER_KEY = "emotion_assets"  # our key inside configuration.json

# The published config (no weights) ships with the package, so the demo's tiny model and the
# benchmark's full-size model can be built on any machine (reference/…/SOURCE.md).
DEFAULT_REFERENCE_DIR = Path(__file__).resolve().parent / "reference" / "emotion2vec_plus_large"

# Same strides/kernels as the published encoder (product of strides 320, receptive field 400).
_TINY_FEATURE_ENCODER = "[(64, 10, 5)] + [(64, 3, 2)] * 4 + [(64, 2, 2)] + [(64, 2, 2)]"
_TINY_PROJ_STD = 0.35  # logits std ~ 0.35 * sqrt(128) ~ 4: frame scores vary visibly


def _tiny_conf(conf: dict) -> dict:
    conf = copy.deepcopy(conf)
    mc = conf["model_conf"]
    mc.update(embed_dim=128, depth=2, num_heads=4, mlp_ratio=2.0, average_top_k_layers=2)
    audio = mc["modalities"]["audio"]
    audio.update(
        feature_encoder_spec=_TINY_FEATURE_ENCODER,
        num_alibi_heads=4,  # must equal num_heads: the bias is added per head
        prenet_depth=1,
        model_depth=2,
        conv_pos_depth=2,
        conv_pos_groups=16,
        num_extra_tokens=4,
    )
    audio["decoder"].update(decoder_dim=32, decoder_layers=1)
    return conf


def _reference_files(reference_dir: Path) -> tuple[dict, str, dict]:
    conf = OmegaConf.to_container(OmegaConf.load(reference_dir / "config.yaml"), resolve=True)
    tokens = (reference_dir / "tokens.txt").read_text(encoding="utf-8")
    configuration = json.loads((reference_dir / "configuration.json").read_text(encoding="utf-8"))
    return conf, tokens, configuration


def _content_key(size: str, seed: int, reference_dir: Path) -> str:
    h = hashlib.sha256(f"v{BUILDER_VERSION}|{size}|{seed}|{_TINY_PROJ_STD}".encode())
    for name in ("config.yaml", "tokens.txt", "configuration.json"):
        h.update((reference_dir / name).read_bytes())
    return h.hexdigest()[:12]


def _random_state_dict(conf: dict, n_labels: int, seed: int, proj_std: float | None) -> dict:
    from emotion_assets.engine.loading import import_funasr

    import_funasr()
    from funasr.models.emotion2vec.model import Emotion2vec

    torch.manual_seed(seed)
    model = Emotion2vec(model_conf=conf["model_conf"], vocab_size=n_labels)
    if proj_std is not None:
        with torch.no_grad():
            model.proj.weight.normal_(0.0, proj_std)
            model.proj.bias.normal_(0.0, 0.5)
    return model.state_dict()


def build_model_dir(
    dst: Path,
    size: Literal["tiny", "large"],
    seed: int = 0,
    reference_dir: Path = DEFAULT_REFERENCE_DIR,
) -> Path:
    """Write config.yaml, model.pt, tokens.txt and configuration.json into dst (atomically).

    The weights are seeded random numbers: the folder is for tests and benchmarks only.
    """
    if size not in ("tiny", "large"):
        raise ValueError(f"size must be 'tiny' or 'large', not {size!r}")
    dst = Path(dst)
    reference_dir = Path(reference_dir)
    conf, tokens, configuration = _reference_files(reference_dir)
    if size == "tiny":
        conf = _tiny_conf(conf)
    n_labels = len([t for t in tokens.splitlines() if t.strip()])
    state = _random_state_dict(conf, n_labels, seed, _TINY_PROJ_STD if size == "tiny" else None)

    configuration["model_name_in_hub"] = {"ms": "", "hf": ""}
    configuration[MARKER_KEY] = {
        "random_weights": True,
        "size": size,
        "seed": seed,
        "builder_version": BUILDER_VERSION,
        "model_id": TINY_MODEL_ID if size == "tiny" else LARGE_RANDOM_MODEL_ID,
    }

    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    try:
        OmegaConf.save(OmegaConf.create(conf), tmp / "config.yaml")
        (tmp / "tokens.txt").write_text(tokens, encoding="utf-8")
        (tmp / "configuration.json").write_text(
            json.dumps(configuration, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        torch.save(state, tmp / "model.pt")
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dst


def cached_model_dir(
    cache_root: Path,
    size: Literal["tiny", "large"] = "tiny",
    seed: int = 0,
    reference_dir: Path = DEFAULT_REFERENCE_DIR,
) -> Path:
    """The random model folder under cache_root, built once per content key (config + version)."""
    key = _content_key(size, seed, Path(reference_dir))
    dst = Path(cache_root) / f"emotion2vec_{size}_random_seed{seed}_{key}"
    if not (dst / "model.pt").is_file():
        build_model_dir(dst, size, seed=seed, reference_dir=reference_dir)
    return dst


def random_model_marker(model_dir: Path) -> dict | None:
    """Our marker from configuration.json when model_dir was written by build_model_dir."""
    path = Path(model_dir) / "configuration.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    marker = data.get(MARKER_KEY)
    return marker if isinstance(marker, dict) else None
