"""The storage core on a local folder and on a real S3 server: put, get, list, delete, copies,
mirrors, and one sentence for each configuration mistake."""

from __future__ import annotations

import os
import time

import pytest

from devstack.servers import free_port
from emotion_assets.settings import StorageSettings
from emotion_assets.storage import Storage, StorageError, mirror, prune_scratch, pull, push
from emotion_assets_tests.storage.conftest import s3_settings


def test_put_get_list_delete_round_trip(any_storage: Storage) -> None:
    any_storage.put_bytes("raw/2024-06-03/a.wav", b"first")
    any_storage.put_bytes("raw/2024-06-03/a.wav", b"second, longer")  # replaced whole
    any_storage.put_bytes("raw/2024-06-04/b.wav", b"b")
    assert any_storage.get_bytes("raw/2024-06-03/a.wav") == b"second, longer"
    listed = any_storage.list("raw")
    assert sorted(listed) == ["raw/2024-06-03/a.wav", "raw/2024-06-04/b.wav"]
    assert listed["raw/2024-06-03/a.wav"].size == len(b"second, longer")
    assert any_storage.exists("raw/2024-06-04/b.wav")
    any_storage.delete("raw/2024-06-04/b.wav")
    any_storage.delete("raw/2024-06-04/b.wav")  # already gone: no error
    assert not any_storage.exists("raw/2024-06-04/b.wav")
    assert any_storage.info("raw/2024-06-04/b.wav") is None
    with pytest.raises(FileNotFoundError):
        any_storage.get_bytes("raw/2024-06-04/b.wav")


def test_a_new_content_gets_a_new_version(any_storage: Storage) -> None:
    any_storage.put_bytes("raw/d/x", b"one")
    first = any_storage.info("raw/d/x")
    any_storage.put_bytes("raw/d/x", b"two")
    assert any_storage.info("raw/d/x").version != first.version


def test_keys_cannot_leave_the_root(any_storage: Storage) -> None:
    for key in ("/etc/passwd", "../outside", "lake/../../x", ""):
        with pytest.raises(ValueError, match="relative path under the root"):
            any_storage.put_bytes(key, b"x")


def test_local_copy_gives_a_path_with_the_content(any_storage: Storage, tmp_path) -> None:
    any_storage.put_bytes("processed/d/a_t0.wav", b"RIFF....")
    path = any_storage.local_copy("processed/d/a_t0.wav", tmp_path / "scratch")
    assert path.read_bytes() == b"RIFF...."
    any_storage.put_bytes("processed/d/a_t0.wav", b"RIFF-new-content")
    assert any_storage.local_copy("processed/d/a_t0.wav", tmp_path / "scratch").read_bytes() == (
        b"RIFF-new-content"
    )


def test_push_and_pull_mirror_a_prefix(any_storage: Storage, tmp_path) -> None:
    """Two workers' scratch folders and one root, a folder or a bucket: a root folder apart from
    the scratch folder is copied from as a bucket is (steps read scratch, not the root)."""
    worker_a, worker_b = tmp_path / "a", tmp_path / "b"
    (worker_a / "clips" / "d").mkdir(parents=True)
    (worker_a / "clips" / "d" / "one.wav").write_bytes(b"1")
    (worker_a / "clips" / "d" / "two.wav").write_bytes(b"2")
    (worker_a / "clips" / "d" / ".one.wav.123.abcdef12.tmp").write_bytes(b"half")
    assert push(any_storage, "clips/d", worker_a) == ["clips/d/one.wav", "clips/d/two.wav"]
    assert pull(any_storage, "clips/d", worker_b) == ["clips/d/one.wav", "clips/d/two.wav"]
    assert (worker_b / "clips" / "d" / "two.wav").read_bytes() == b"2"
    (worker_a / "clips" / "d" / "two.wav").unlink()  # no longer picked
    push(any_storage, "clips/d", worker_a)
    assert sorted(any_storage.list("clips")) == ["clips/d/one.wav"]
    pull(any_storage, "clips/d", worker_b)
    assert not (worker_b / "clips" / "d" / "two.wav").exists()


def _age(path, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_pruning_removes_old_copies_and_nothing_else(tmp_path) -> None:
    old = tmp_path / "processed" / "2024-06-01" / "a_t0.wav"
    recent = tmp_path / "lake" / "frames" / "recording_date=2024-06-03" / "data.parquet"
    model = tmp_path / "models" / "tiny" / "model.pt"  # not a mirrored prefix: never pruned
    for path in (old, recent, model):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x" * 10)
    _age(old, 30)
    _age(model, 30)
    assert prune_scratch(tmp_path, keep_s=24 * 3600) == (1, 10)
    assert not old.exists() and not old.parent.exists()  # its emptied day folder goes too
    assert recent.exists() and model.exists()


def test_a_pull_prunes_unused_copies_but_not_the_ones_in_use(
    s3_server, s3_bucket, tmp_path
) -> None:
    url = f"s3://{s3_bucket}/emotion"
    storage = Storage.from_settings(s3_settings(s3_server, url, scratch_keep_h=1.0))
    storage.put_bytes("processed/d1/a_t0.wav", b"day one")
    storage.put_bytes("processed/d2/b_t0.wav", b"day two")
    scratch = tmp_path / "scratch"
    pull(storage, "processed/d1", scratch)
    pull(storage, "processed/d2", scratch)
    day_one, day_two = scratch / "processed/d1/a_t0.wav", scratch / "processed/d2/b_t0.wav"
    _age(day_one, 2)
    _age(day_two, 2)
    # reusing day two's copy (unchanged object: no download) marks it as in use
    assert storage.local_copy("processed/d2/b_t0.wav", scratch) == day_two
    pull(storage, "processed/d2", scratch)
    # The first pull walked the folder; any process pulling into it skips the walk for a while.
    assert day_one.exists()
    _age(scratch / mirror.PRUNE_STAMP, (mirror.PRUNE_EVERY_S + 1) / 3600)  # a pull minutes later
    pull(storage, "processed/d2", scratch)
    assert not day_one.exists()  # unused for 2 h > 1 h: removed; the object stays in the bucket
    assert day_two.read_bytes() == b"day two"
    assert storage.get_bytes("processed/d1/a_t0.wav") == b"day one"


def test_the_local_default_copies_nothing(tmp_path) -> None:
    storage = Storage.from_settings(StorageSettings(data_dir=tmp_path))
    (tmp_path / "reports" / "d").mkdir(parents=True)
    (tmp_path / "reports" / "d" / "index.html").write_text("x")
    assert storage.shares(tmp_path)
    assert push(storage, "reports/d", tmp_path) == ["reports/d/index.html"]
    assert storage.uri("reports/d/index.html") == str(tmp_path.resolve() / "reports/d/index.html")


# --- configuration mistakes: one sentence each, raised when the storage is first validated ---
def _sentence(storage: Storage) -> str:
    with pytest.raises(StorageError) as caught:
        storage.validate()
    text = str(caught.value)
    assert text.count(". ") == 0 and text.endswith("."), text  # one sentence
    assert "Traceback" not in text and "botocore" not in text
    return text


def test_missing_bucket_is_named(s3_server) -> None:
    storage = Storage.from_settings(s3_settings(s3_server, "s3://no-such-bucket-here/x"))
    assert "bucket 'no-such-bucket-here'" in _sentence(storage)
    assert "does not exist" in _sentence(storage)


def test_wrong_credentials_are_named(s3_server, s3_bucket) -> None:
    settings = s3_settings(s3_server, f"s3://{s3_bucket}/x", aws_secret_access_key="wrong")
    text = _sentence(Storage.from_settings(settings))
    assert "refused the credentials" in text and "AWS_SECRET_ACCESS_KEY" in text


def test_unreachable_endpoint_is_named(s3_server) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = s3_settings(s3_server, "s3://bucket-x/x", aws_endpoint_url=endpoint)
    text = _sentence(Storage.from_settings(settings))
    assert "cannot be reached" in text and endpoint in text and "AWS_ENDPOINT_URL" in text


def test_an_unsupported_scheme_is_refused_by_the_settings(monkeypatch) -> None:
    from emotion_assets.settings import SettingsError, load_group

    monkeypatch.setenv("EMOTION_STORAGE_URL", "gs://bucket/prefix")
    with pytest.raises(SettingsError, match="EMOTION_STORAGE_URL"):
        load_group(StorageSettings)
