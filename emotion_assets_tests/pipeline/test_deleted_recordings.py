"""A recording deleted or replaced, its day re-run: none of its derived files survive (issue 25,
item 11), and another day holding the same recording keeps all of its own.

Real re-materializations with the tiny model: the storage root the data dir itself (the
default), a storage folder apart from the local scratch, and S3 (steps write in scratch and
publish to the root).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import soundfile as sf
from dagster import DagsterInstance

from emotion_assets.audio.probe import sha256_file
from emotion_assets.defs.in_process import run_day
from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.storage import Storage
from emotion_assets.storage.tracks import stem_of

pytestmark = pytest.mark.slow  # five runs of a day per storage layout: ~2 min

DAY, OTHER_DAY = "2024-07-02", "2024-07-03"
# Every folder a step writes per-track files into.
DERIVED = ("processed", "scored", "embeddings", "clips", "reports")


def _recording_id(path: Path) -> str:
    return sha256_file(path)[:16]  # how ingest names a recording


def _files(storage: Storage, day: str) -> dict[str, str]:
    """Every derived file of `day` in a root or a scratch folder: key -> version."""
    return {
        key: info.version
        for prefix in DERIVED
        for key, info in storage.list(f"{prefix}/{day}").items()
    }


def _ids_in(files: dict[str, str]) -> set[str]:
    return {stem.split("_t")[0] for key in files if (stem := stem_of(Path(key).name))}


def _prefixes_of(files: dict[str, str], recording_id: str) -> set[str]:
    return {key.split("/")[0] for key in files if Path(key).name.startswith(recording_id)}


@pytest.fixture(params=["local data dir", "storage folder", "S3"], scope="module")
def reruns(request, tmp_path_factory, shared_audio: Path, tiny_model_dir: Path):
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("deleted")
    scratch_dir = base / "data"
    mp.setenv("EMOTION_DATA_DIR", str(scratch_dir))
    if request.param == "storage folder":  # a shared folder apart from scratch, as on NFS
        mp.setenv("EMOTION_STORAGE_URL", str(base / "shared"))
    if request.param == "S3":  # steps write in scratch and publish to the bucket
        s3_server = request.getfixturevalue("s3_server")
        bucket = f"deleted-{os.getpid()}"
        s3_server.create_bucket(bucket)
        for name, value in {"EMOTION_STORAGE_URL": f"s3://{bucket}/e", **s3_server.env()}.items():
            mp.setenv(name, value)
    mp.setenv("EMOTION_MODEL", str(tiny_model_dir))
    mp.setenv("EMOTION_THREADS", "1")
    mp.setenv("EMOTION_SAVE_FRAME_EMBEDDINGS", "1")
    root = Storage.from_settings(load_group(StorageSettings))
    scratch = Storage(str(scratch_dir), local_root=scratch_dir)
    speech, made = shared_audio / "speech", base / "made"
    made.mkdir()
    # The replacement: the same words, other bytes (half the file, re-encoded).
    audio, rate = sf.read(speech / "librispeech_5703-47212-0000.ogg")
    sf.write(made / "replaced.ogg", audio[: len(audio) // 2], rate, format="OGG")
    day_files = {
        "kept": speech / "librispeech_198-209-0000.ogg",
        "deleted": speech / "librispeech_3436-172162-0000.ogg",
        "replaced": speech / "librispeech_5703-47212-0000.ogg",
    }
    for name, src in day_files.items():
        root.put_file(f"raw/{DAY}/{name}.ogg", src)
    root.put_file(f"raw/{OTHER_DAY}/deleted.ogg", day_files["deleted"])  # the same, elsewhere
    ids = {name: _recording_id(src) for name, src in day_files.items()}
    ids["replacement"] = _recording_id(made / "replaced.ogg")

    def run(day: str) -> dict:
        summary = run_day(scratch_dir, day, instance=instance)
        index = root.get_bytes(f"reports/{day}/index.html").decode()
        return {
            **summary,
            "root": _files(root, day),
            "scratch": _files(scratch, day),
            "index": index,
        }

    instance = DagsterInstance.ephemeral()
    other_first = run(OTHER_DAY)
    first = run(DAY)
    # The user deletes one recording and replaces another (same name, other audio).
    root.delete(f"raw/{DAY}/deleted.ogg")
    root.put_file(f"raw/{DAY}/replaced.ogg", made / "replaced.ogg")
    second = run(DAY)
    # Then every recording of the day goes.
    for name in ("kept", "replaced"):
        root.delete(f"raw/{DAY}/{name}.ogg")
    emptied = run(DAY)
    yield {
        "ids": ids,
        "first": first,
        "second": second,
        "emptied": emptied,
        "other_before": other_first["root"],
        "other_after": _files(root, OTHER_DAY),
    }
    mp.undo()


def test_every_run_succeeds(reruns) -> None:
    runs = [reruns[stage] for stage in ("first", "second", "emptied")]
    assert [run["success"] for run in runs] == [True] * 3


def test_the_first_run_wrote_files_of_each_recording_in_every_folder(reruns) -> None:
    # Otherwise the tests below would prove nothing.
    ids, first = reruns["ids"], reruns["first"]["root"]
    for name in ("kept", "deleted", "replaced"):
        assert _prefixes_of(first, ids[name]) == set(DERIVED), name


def test_a_deleted_or_replaced_recording_leaves_no_derived_file(reruns) -> None:
    ids, second = reruns["ids"], reruns["second"]
    for where in ("root", "scratch"):
        assert _ids_in(second[where]) == {ids["kept"], ids["replacement"]}, where
    index = second["index"]
    assert ids["deleted"] not in index and ids["replaced"] not in index
    assert ids["kept"] in index and ids["replacement"] in index


def test_the_files_of_the_recordings_kept_are_there(reruns) -> None:
    ids, second = reruns["ids"], reruns["second"]["root"]
    assert _prefixes_of(second, ids["kept"]) == set(DERIVED)
    assert {"processed", "scored", "embeddings", "reports"} <= _prefixes_of(
        second, ids["replacement"]
    )


def test_a_day_left_without_recordings_keeps_no_file_of_them(reruns) -> None:
    emptied = reruns["emptied"]
    for where in ("root", "scratch"):
        assert _ids_in(emptied[where]) == set(), where
    assert "No recordings this day." in emptied["index"]
    assert not [i for i in reruns["ids"].values() if i in emptied["index"]]


def test_another_day_is_not_touched(reruns) -> None:
    assert reruns["other_after"] == reruns["other_before"]
    assert reruns["ids"]["deleted"] in _ids_in(reruns["other_after"])
