"""Find a model folder (local path, hub cache or a quick download) and load it with funasr.

Hub ids go through the hub libraries with an explicit cache_dir so nothing lands in ~; an
unreachable hub is detected with a short socket probe because funasr's own download retries for
about 20 s before failing with an unrelated "model is not registered" message.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import types
from collections.abc import Iterator
from pathlib import Path
from unittest import mock
from urllib.parse import urlparse

log = logging.getLogger(__name__)

REQUIRED_FILES = ("config.yaml", "model.pt", "tokens.txt")
_PROBE_TIMEOUT_S = 3.0


class ModelUnavailableError(RuntimeError):
    """The emotion model could not be found locally nor downloaded."""


def unavailable(model: str, why: str) -> ModelUnavailableError:
    """One sentence: what failed and how to provide the weights offline."""
    example = model if "/" in model and not os.path.isabs(model) else "iic/emotion2vec_plus_large"
    return ModelUnavailableError(
        f"The emotion model {model!r} could not be loaded ({why}); download it on a connected "
        f"machine, e.g. `modelscope download --model {example} --local_dir DIR`, copy DIR here "
        f"and set EMOTION_MODEL=DIR."
    )


def looks_like_path(model: str) -> bool:
    return (
        model.startswith(("/", "./", "../", "~", "\\"))
        or os.path.isabs(model)
        or Path(model).expanduser().exists()
    )


def check_local_dir(model: str) -> Path:
    path = Path(model).expanduser().resolve()
    if not path.is_dir():
        raise unavailable(model, f"the folder {path} does not exist")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise unavailable(model, f"the folder {path} lacks {', '.join(missing)}")
    return path


def _hub_host(hub: str) -> str:
    if hub == "hf":
        return urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or ""
    domain = (
        os.environ.get("MODELSCOPE_ENDPOINT")
        or os.environ.get("MODELSCOPE_DOMAIN")
        or "www.modelscope.cn"
    )
    return urlparse(domain if "://" in domain else f"https://{domain}").hostname or ""


def hub_reachable(hub: str, timeout: float = _PROBE_TIMEOUT_S) -> bool:
    host = _hub_host(hub)
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _hub_id(model: str, hub: str) -> str:
    from funasr.download.name_maps_from_hub import name_maps_hf, name_maps_ms

    names = name_maps_hf if hub == "hf" else name_maps_ms
    return names.get(model, model)


def _snapshot(repo_id: str, hub: str, cache_dir: Path | None, local_only: bool) -> Path:
    if hub == "hf":
        from huggingface_hub import snapshot_download

        sub = cache_dir / "huggingface" if cache_dir else None
        return Path(snapshot_download(repo_id, cache_dir=sub, local_files_only=local_only))
    from modelscope.hub.snapshot_download import snapshot_download

    sub = cache_dir / "modelscope" if cache_dir else None
    return Path(snapshot_download(repo_id, cache_dir=sub, local_files_only=local_only))


def resolve_model_dir(model: str, hub: str = "ms", cache_dir: Path | None = None) -> Path:
    """A local folder holding config.yaml, model.pt and tokens.txt for `model`, or raise."""
    if hub not in ("ms", "hf"):
        raise ValueError(f"hub must be 'ms' or 'hf', not {hub!r}")
    if looks_like_path(model):
        return check_local_dir(model)
    repo_id = _hub_id(model, hub)
    cache_dir = Path(cache_dir).expanduser().resolve() if cache_dir else None
    try:
        return check_local_dir(str(_snapshot(repo_id, hub, cache_dir, local_only=True)))
    except Exception as exc:  # not cached (each hub library raises its own error type)
        log.debug("no cached copy of %s: %s", repo_id, exc)
    if not hub_reachable(hub):
        where = f" and no copy is cached under {cache_dir}" if cache_dir else ""
        raise unavailable(model, f"the model hub {_hub_host(hub)} is unreachable{where}")
    log.info("downloading %s from %s into %s", repo_id, hub, cache_dir or "the hub's default cache")
    try:
        return check_local_dir(str(_snapshot(repo_id, hub, cache_dir, local_only=False)))
    except ModelUnavailableError:
        raise
    except Exception as exc:
        raise unavailable(model, f"the download failed: {type(exc).__name__}") from exc


def load_funasr_model(model_dir: Path, device: str, threads: int):
    """funasr AutoModel on a local folder: no network, threads set once via ncpu."""
    from funasr import AutoModel

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))  # funasr logs its loading steps on the root logger
    try:
        with lean_checkpoint_loading():
            return AutoModel(
                model=str(model_dir),
                disable_update=True,
                device=device,
                ncpu=threads,
                disable_pbar=True,
                log_level="WARNING",
            )
    except Exception as exc:
        raise unavailable(str(model_dir), f"funasr could not build it: {exc}") from exc
    finally:
        root.setLevel(level)
        _release_freed_memory()


@contextlib.contextmanager
def lean_checkpoint_loading() -> Iterator[None]:
    """funasr's load_pretrained_model, minus two full copies of the checkpoint.

    It reads model.pt into memory and deep-copies it before copying the tensors it needs into
    the model: three copies of the weights at once (2.7 GB peak for the 656 MB large model,
    more with the published 1.9 GB file). Here model.pt is memory-mapped (only the tensors the
    model asks for are ever read; legacy non-zip files load as before) and the deep copy, whose
    result is only read, is skipped.
    """
    import torch
    from funasr.train_utils import load_pretrained_model as lpm

    plain_load = torch.load

    def mmap_load(f, *args, **kwargs):
        if isinstance(f, str | os.PathLike) and "mmap" not in kwargs:
            try:
                return plain_load(f, *args, mmap=True, **kwargs)
            except RuntimeError as exc:  # pre-1.6 (non-zip) checkpoints cannot be mapped
                log.debug("model.pt cannot be memory-mapped (%s): reading it whole", exc)
        return plain_load(f, *args, **kwargs)

    no_copy = types.SimpleNamespace(deepcopy=lambda obj, memo=None: obj)
    with (
        mock.patch.object(lpm.torch, "load", mmap_load),
        mock.patch.object(lpm, "copy", no_copy),
    ):
        yield


def _release_freed_memory() -> None:
    """Loading frees the funasr model's random initial weights (and, for pre-1.6 checkpoints,
    the whole file read into memory): hand those pages back to the OS (glibc)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: pages stay, nothing breaks
        ctypes.CDLL("libc.so.6").malloc_trim(0)
