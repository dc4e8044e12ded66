"""Find a model folder (local path, hub cache or a quick download) and load it with funasr.

Hub ids go through the hub libraries with an explicit cache_dir so nothing lands in ~; an
unreachable hub is detected with a short probe because funasr's own download retries for about
20 s before failing with an unrelated "model is not registered" message. The probe is bounded
as a whole, name lookup included (a resolver that never answers held it ~30 s), and an
unreachable hub is remembered in cache_dir for UNREACHABLE_TTL_S: the runs that follow know at
once, without asking the network.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import io
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger(__name__)

REQUIRED_FILES = ("config.yaml", "model.pt", "tokens.txt")
_PROBE_TIMEOUT_S = 3.0
# How long a hub found unreachable is not asked again (a demo day's runs, the page's restarts).
UNREACHABLE_TTL_S = 600.0
# The engine relies on funasr internals (its model registry and AutoModel's weight loading, the
# Emotion2vec modules, AltAttention, alibi_biases): it runs only on the release it was checked on.
VERIFIED_FUNASR = "1.4.16"


class ModelUnavailableError(RuntimeError):
    """The emotion model could not be found locally nor downloaded; `why` is the reason alone."""

    def __init__(self, message: str, why: str = "") -> None:
        super().__init__(message)
        self.why = why or message


@dataclass(frozen=True)
class LocatedModel:
    """A model folder and, in words, where it came from (the run's log and metadata say it)."""

    path: Path
    source: str


class FunasrVersionError(ModelUnavailableError):
    """The installed funasr is not the release the engine was verified against."""


def check_funasr_version(installed: str | None = None) -> None:
    """Raise one sentence when funasr is not VERIFIED_FUNASR (a range would be a time bomb)."""
    installed = installed or importlib.metadata.version("funasr")
    if installed != VERIFIED_FUNASR:
        raise FunasrVersionError(
            f"funasr {installed} is installed, but the engine was verified against funasr "
            f"{VERIFIED_FUNASR} (it uses funasr internals); run `make setup` to install the "
            "locked version."
        )


def unavailable(model: str, why: str) -> ModelUnavailableError:
    """One sentence: what failed and how to provide the weights offline."""
    example = model if "/" in model and not os.path.isabs(model) else "iic/emotion2vec_plus_large"
    return ModelUnavailableError(
        f"The emotion model {model!r} could not be loaded ({why}); download it on a connected "
        f"machine, e.g. `modelscope download --model {example} --local_dir DIR`, copy DIR here "
        f"and set EMOTION_MODEL=DIR.",
        why,
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
    """A TCP connection to the hub within `timeout` seconds, name lookup included.

    getaddrinfo ignores socket timeouts (a resolver that never answers holds it 10 s per
    nameserver), so the probe runs in a daemon thread that is abandoned when time is up.
    """
    host = _hub_host(hub)
    answered: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                answered.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, name=f"probe {host}", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answered)


def _remembered_path(cache_dir: Path, host: str) -> Path:
    return cache_dir / f"hub-unreachable-{host}.json"


def remembered_unreachable(cache_dir: Path | None, host: str) -> str | None:
    """When `host` was found unreachable less than UNREACHABLE_TTL_S ago: the reason, in words."""
    if cache_dir is None:
        return None
    try:
        checked = float(json.loads(_remembered_path(cache_dir, host).read_text())["checked_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not 0 <= time.time() - checked < UNREACHABLE_TTL_S:
        return None
    at = dt.datetime.fromtimestamp(checked).astimezone().strftime("%H:%M:%S")
    again = dt.datetime.fromtimestamp(checked + UNREACHABLE_TTL_S).astimezone()
    return f"the model hub {host} was unreachable at {at} and is not asked again until {again:%H:%M:%S}"


def _remember_unreachable(cache_dir: Path | None, host: str) -> None:
    if cache_dir is None:
        return
    from emotion_assets.foundation.atomic_files import write_bytes_atomically

    try:
        text = json.dumps({"host": host, "checked_at": time.time()})
        write_bytes_atomically(_remembered_path(cache_dir, host), text)
    except OSError as exc:  # a read-only cache: the next load probes again, nothing worse
        log.debug("could not remember that %s is unreachable: %s", host, exc)


def _forget_unreachable(cache_dir: Path | None, host: str) -> None:
    if cache_dir is not None:
        with contextlib.suppress(OSError):
            _remembered_path(cache_dir, host).unlink()


def import_funasr() -> None:
    """Import funasr once per process, before any of its modules.

    On import funasr looks for a system `ffmpeg` on PATH and prints "Notice: ffmpeg is not
    installed ... sudo apt install ffmpeg" without one. Audio never reaches funasr here (it gets
    decoded samples; the project's own ffmpeg comes from imageio-ffmpeg), so the notice would
    only mislead the user.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        import funasr.utils.load_utils  # noqa: F401  (the module that prints the notice)


def _hub_id(model: str, hub: str) -> str:
    import_funasr()
    from funasr.download.name_maps_from_hub import name_maps_hf, name_maps_ms

    names = name_maps_hf if hub == "hf" else name_maps_ms
    return names.get(model, model)


def _hub_cache(hub: str, cache_dir: Path | None) -> Path | None:
    return cache_dir / ("huggingface" if hub == "hf" else "modelscope") if cache_dir else None


def _snapshot(repo_id: str, hub: str, cache_dir: Path | None, local_only: bool) -> Path:
    sub = _hub_cache(hub, cache_dir)
    if hub == "hf":
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, cache_dir=sub, local_files_only=local_only))
    from modelscope.hub.snapshot_download import snapshot_download

    return Path(snapshot_download(repo_id, cache_dir=sub, local_files_only=local_only))


def _cached_copy(repo_id: str, hub: str, cache_dir: Path | None) -> Path | None:
    """The hub library's cached copy, without any network; None when there is none."""
    sub = _hub_cache(hub, cache_dir)
    if sub is not None and not sub.is_dir():
        return None  # nothing was ever downloaded here: no need to import the hub library
    try:
        return check_local_dir(str(_snapshot(repo_id, hub, cache_dir, local_only=True)))
    except Exception as exc:  # not cached (each hub library raises its own error type)
        log.debug("no cached copy of %s: %s", repo_id, exc)
        return None


def locate_model(model: str, hub: str = "ms", cache_dir: Path | None = None) -> LocatedModel:
    """The folder holding config.yaml, model.pt and tokens.txt for `model`, and where it came
    from; ModelUnavailableError when there is none.

    A hub id is looked up in the local cache first, then on the hub unless the hub was found
    unreachable less than UNREACHABLE_TTL_S ago (remembered in cache_dir).
    """
    if hub not in ("ms", "hf"):
        raise ValueError(f"hub must be 'ms' or 'hf', not {hub!r}")
    if looks_like_path(model):
        path = check_local_dir(model)
        return LocatedModel(path, f"the folder {path}")
    repo_id = _hub_id(model, hub)
    cache_dir = Path(cache_dir).expanduser().resolve() if cache_dir else None
    cached = _cached_copy(repo_id, hub, cache_dir)
    if cached is not None:
        return LocatedModel(cached, f"{model}: the copy cached at {cached}")
    host = _hub_host(hub)
    where = f" and no copy is cached under {cache_dir}" if cache_dir else ""
    remembered = remembered_unreachable(cache_dir, host)
    if remembered:  # known at once: no network
        raise unavailable(model, f"{remembered},{where}" if where else remembered)
    if not hub_reachable(hub):
        _remember_unreachable(cache_dir, host)
        raise unavailable(model, f"the model hub {host} is unreachable{where}")
    _forget_unreachable(cache_dir, host)
    log.info("downloading %s from %s into %s", repo_id, hub, cache_dir or "the hub's default cache")
    try:
        path = check_local_dir(str(_snapshot(repo_id, hub, cache_dir, local_only=False)))
    except ModelUnavailableError:
        raise
    except Exception as exc:
        raise unavailable(model, f"the download failed: {type(exc).__name__}") from exc
    return LocatedModel(path, f"{model}: downloaded from {host} to {path}")


def resolve_model_dir(model: str, hub: str = "ms", cache_dir: Path | None = None) -> Path:
    """A local folder holding config.yaml, model.pt and tokens.txt for `model`, or raise."""
    return locate_model(model, hub, cache_dir).path


def load_funasr_model(model_dir: Path, device: str, threads: int):
    """funasr AutoModel on a local folder: no network, threads set once via ncpu."""
    check_funasr_version()
    import_funasr()
    from funasr import AutoModel

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))  # funasr logs its loading steps on the root logger
    try:
        with mapped_weight_loading():
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


def load_mapped_weights(
    path: str,
    model,
    map_location: str = "cpu",
    scope_map: Sequence[str] | str = (),
    **_funasr_options,
) -> None:
    """Put model.pt's weights into `model` without copying them.

    Called by funasr's AutoModel in place of its load_pretrained_model, with the same
    arguments. That one reads the whole checkpoint, deep-copies it and copies every tensor into
    the model: three copies of the weights at once (2.7 GB peak for the 656 MB large model).
    Here the file is memory-mapped and the model's parameters become views of the mapping
    (`assign=True`), so only pages the model touches are ever read. Keys are matched as funasr
    matches them (scope_map prefixes, "module."), but a checkpoint that lacks a weight of the
    model or has another shape is refused instead of leaving random weights in place.
    """
    import torch

    try:
        state = torch.load(path, map_location=map_location, mmap=True)
    except RuntimeError as exc:  # pre-1.6 (non-zip) checkpoints cannot be mapped
        log.debug("model.pt cannot be memory-mapped (%s): reading it whole", exc)
        state = torch.load(path, map_location=map_location)
    for key in ("state_dict", "model_state_dict", "model"):
        state = state.get(key, state)

    scopes = (scope_map.split(",") if isinstance(scope_map, str) else list(scope_map)) + [
        "module.",
        "None",
    ]
    pairs = [
        ("" if src.lower() == "none" else src, "" if str(dst).lower() == "none" else str(dst))
        for src, dst in zip(scopes[::2], scopes[1::2], strict=True)
    ]
    wanted = model.state_dict()
    picked, problems = {}, []
    for key, target in wanted.items():
        source = key
        for src, dst in pairs:
            if not dst and src + key in state:
                source = src + key
            elif key.startswith(dst) and key.replace(dst, src, 1) in state:
                source = key.replace(dst, src, 1)
        if source not in state:
            problems.append(f"{key} is missing")
        elif state[source].shape != target.shape:
            problems.append(f"{key} has shape {tuple(state[source].shape)}")
        else:
            picked[key] = state[source]
    if problems:
        raise ValueError(
            f"{path} does not fit this model ({len(problems)} weights): {'; '.join(problems[:3])}"
        )
    model.load_state_dict(picked, strict=True, assign=True)
    on_loaded = getattr(model, "on_pretrained_model_loaded", None)
    if callable(on_loaded):
        on_loaded(frozenset(picked))


_SWAP_LOCK = threading.Lock()


@contextlib.contextmanager
def mapped_weight_loading() -> Iterator[None]:
    """While AutoModel(...) builds a model, its weight loader is load_mapped_weights.

    The one name funasr's AutoModel calls (funasr.auto.auto_model.load_pretrained_model) is
    swapped for the duration of the call and restored after; nothing else (torch.load included)
    changes, and the lock keeps two threads from building at once with a half-swapped name.
    """
    from funasr.auto import auto_model

    with _SWAP_LOCK:
        original = auto_model.load_pretrained_model
        auto_model.load_pretrained_model = load_mapped_weights
        try:
            yield
        finally:
            auto_model.load_pretrained_model = original


def _release_freed_memory() -> None:
    """Loading frees the funasr model's random initial weights (and, for pre-1.6 checkpoints,
    the whole file read into memory): hand those pages back to the OS (glibc)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: pages stay, nothing breaks
        ctypes.CDLL("libc.so.6").malloc_trim(0)
