"""Model loading: local folders, hub ids without a hub, the random model folders, int8."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from emotion_assets.engine.config import EngineConfig
from emotion_assets.engine.core import load_engine
from emotion_assets.engine.loading import ModelUnavailableError
from emotion_assets.engine.model_builder import TINY_MODEL_ID, build_model_dir
from emotion_assets.foundation.labels import EMOTIONS


def _assert_helpful(exc: ModelUnavailableError) -> None:
    msg = str(exc)
    assert "\n" not in msg and msg.endswith(".")
    assert "could not be loaded" in msg
    assert "modelscope download --model" in msg and "EMOTION_MODEL=" in msg


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "model,hub,env",
    [
        ("iic/emotion2vec_plus_large", "ms", "MODELSCOPE_ENDPOINT"),
        ("iic/emotion2vec_plus_base", "ms", "MODELSCOPE_ENDPOINT"),
        ("emotion2vec/emotion2vec_plus_large", "hf", "HF_ENDPOINT"),
    ],
)
def test_unreachable_hub_raises_a_helpful_error(model, hub, env, tmp_path, monkeypatch):
    monkeypatch.setenv(env, "https://hub.invalid")  # unreachable even on a connected machine
    with pytest.raises(ModelUnavailableError) as info:
        load_engine(EngineConfig(model=model, hub=hub, cache_dir=tmp_path / "models"))
    _assert_helpful(info.value)
    assert not list((tmp_path / "models").rglob("model.pt"))


def test_missing_local_folder(tmp_path):
    with pytest.raises(ModelUnavailableError) as info:
        load_engine(EngineConfig(model=str(tmp_path / "nowhere")))
    _assert_helpful(info.value)
    assert "does not exist" in str(info.value)


def test_folder_without_weights_names_the_missing_file(tiny_dir, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(tiny_dir, partial)
    (partial / "model.pt").unlink()
    with pytest.raises(ModelUnavailableError, match="model.pt"):
        load_engine(EngineConfig(model=str(partial)))


def test_tiny_engine_identity(tiny_engine, tiny_dir):
    assert TINY_MODEL_ID in tiny_engine.model_id
    assert tiny_engine.labels == EMOTIONS
    assert tiny_engine.embed_dim == 128
    assert tiny_engine.device == "cpu"


def test_an_engine_is_loaded_once_per_process_and_config(tiny_dir):
    # Its own config: the session's tiny engine may have left the cache since other tests ran.
    cfg = EngineConfig(model=str(tiny_dir), threads=1, batch_size=3)
    first = load_engine(cfg)
    assert load_engine(EngineConfig(model=str(tiny_dir), threads=1, batch_size=3)) is first
    assert load_engine(EngineConfig(model=str(tiny_dir), threads=1, batch_size=5)) is not first


def test_builder_writes_a_loadable_seeded_folder(tmp_path):
    a = build_model_dir(tmp_path / "a", "tiny", seed=3)
    b = build_model_dir(tmp_path / "b", "tiny", seed=3)
    c = build_model_dir(tmp_path / "c", "tiny", seed=4)
    assert sorted(p.name for p in a.iterdir()) == [
        "config.yaml",
        "configuration.json",
        "model.pt",
        "tokens.txt",
    ]
    marker = json.loads((a / "configuration.json").read_text())["emotion_assets"]
    assert marker["random_weights"] and marker["size"] == "tiny"
    sa, sb, sc = (torch.load(d / "model.pt") for d in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["proj.weight"], sc["proj.weight"])
    assert sa["proj.weight"].shape == (9, 128)
    engine = load_engine(EngineConfig(model=str(c), threads=1))
    assert TINY_MODEL_ID in engine.model_id and engine.labels == EMOTIONS


def test_int8_stays_close_to_fp32(tiny_dir, tiny_engine, speech):
    """Dynamic int8 Linear layers vs fp32 on real speech.

    Measured on the tiny model: frame scores differ by up to 0.10, 98.7 % of frames keep their
    top emotion, utterance scores differ by 2e-4. int8 rounds every Linear input to 256 levels,
    so single frames near a tie can flip; the bounds (0.25 / 95 % / 0.02) catch a broken
    quantization (which scrambles scores) while allowing that rounding.
    """
    q = load_engine(EngineConfig(model=str(tiny_dir), threads=1, quantize="int8"))
    assert q.model_id.endswith("[int8]")
    wave = speech["librispeech_198-209-0000.ogg"]
    a, b = tiny_engine.score(wave), q.score(wave)
    assert np.abs(a.probs - b.probs).max() < 0.25
    assert (a.probs.argmax(1) == b.probs.argmax(1)).mean() >= 0.95
    assert np.abs(a.utterance() - b.utterance()).max() < 0.02


def test_config_rejects_bad_settings():
    with pytest.raises(ValueError):
        EngineConfig(context_s=15.0, window_s=30.0)
    with pytest.raises(ValueError):
        EngineConfig(quantize="int4")
    with pytest.raises(ValueError):
        EngineConfig(hub="github")


# Issue 25, item 15: a hub that cannot be reached is known at once, without the network.
def _forbid_the_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every name lookup, connection or hub download tried from now on."""
    import socket

    from emotion_assets.engine import loading

    asked: list[str] = []

    def lookup(host, *args, **kwargs):
        asked.append(f"getaddrinfo {host}")
        raise socket.gaierror("the test forbids the network")

    def connect(address, *args, **kwargs):
        asked.append(f"connect {address}")
        raise OSError("the test forbids the network")

    def snapshot(repo_id, hub, cache_dir, local_only):
        if not local_only:  # a look into the local cache is no network
            asked.append(f"download {repo_id}")
        raise FileNotFoundError(repo_id)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(loading, "_snapshot", snapshot)
    return asked


@pytest.mark.timeout(60)
def test_an_unreachable_hub_is_remembered_and_the_next_lookup_asks_no_network(
    tmp_path, monkeypatch
):
    from emotion_assets.engine.loading import locate_model

    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "https://hub.invalid")
    models = tmp_path / "models"
    with pytest.raises(ModelUnavailableError, match="hub.invalid is unreachable"):
        locate_model("iic/emotion2vec_plus_large", "ms", models)  # probes, and remembers

    asked = _forbid_the_network(monkeypatch)
    with pytest.raises(ModelUnavailableError) as info:
        locate_model("iic/emotion2vec_plus_large", "ms", models)
    _assert_helpful(info.value)
    assert asked == [], asked
    assert "hub.invalid was unreachable at" in info.value.why


def test_a_resolver_that_never_answers_does_not_hold_the_probe(monkeypatch):
    """getaddrinfo ignores socket timeouts: the probe must give up on it by itself."""
    import socket
    import threading

    from emotion_assets.engine.loading import hub_reachable

    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "https://hub.invalid")
    release, answered = threading.Event(), []

    def silent_resolver(host, *args, **kwargs):
        release.wait(120)  # a resolver that never answers (until the test ends)
        answered.append(host)
        raise socket.gaierror("no answer")

    monkeypatch.setattr(socket, "getaddrinfo", silent_resolver)
    try:
        assert hub_reachable("ms", timeout=0.2) is False
        assert answered == []  # it returned while the lookup was still waiting
    finally:
        release.set()
