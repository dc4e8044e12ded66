"""remove_other_tracks: the per-track files of tracks a day no longer has go, from the root and
from scratch; nothing else does (the pipeline tests run it through real re-runs)."""

from __future__ import annotations

from pathlib import Path

from emotion_assets.storage import Storage
from emotion_assets.storage.tracks import remove_other_tracks, stem_of

KEPT, GONE = "0123456789abcdef", "fedcba9876543210"
DAY, OTHER = "2024-07-02", "2024-07-03"


def _write(folder: Path, *names: str) -> None:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def _names(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_only_the_files_of_other_tracks_of_that_day_go(tmp_path: Path) -> None:
    root_dir, scratch = tmp_path / "root", tmp_path / "scratch"
    day = f"reports/{DAY}"
    left_alone = {
        f"{day}/{KEPT}_t0_report.html",
        f"{day}/{KEPT}_t0_curves.png",
        f"{day}/index.html",
        f"{day}/plotly.min.js",
        f"{day}/notes.txt",
        f"{day}/{GONE}_t0/inside-a-folder.png",  # not directly in the day's folder
        f"{day}/.{GONE}_t0_report.html.123.abcd1234.tmp",  # another writer's temp file
        f"reports/{OTHER}/{GONE}_t0_report.html",  # another day
    }
    gone = {f"{day}/{GONE}_t0_report.html", f"{day}/{GONE}_t0_curves.png", f"{day}/{KEPT}_t1.wav"}
    _write(root_dir, *left_alone, *gone)
    _write(scratch, f"{day}/{GONE}_t0_heatmap.png", f"{day}/{KEPT}_t0_report.html")
    storage = Storage(str(root_dir), local_root=root_dir)

    removed = remove_other_tracks(storage, day, scratch, {f"{KEPT}_t0"})

    assert set(removed) == gone | {f"{day}/{GONE}_t0_heatmap.png"}
    assert _names(root_dir) == left_alone
    assert _names(scratch) == {f"{day}/{KEPT}_t0_report.html"}


def test_a_root_that_is_the_scratch_folder_is_swept_once(tmp_path: Path) -> None:
    _write(
        tmp_path, f"clips/{DAY}/{GONE}_t0_intensity_1.wav", f"clips/{DAY}/{KEPT}_t0_variance_2.wav"
    )
    storage = Storage(str(tmp_path), local_root=tmp_path)
    removed = remove_other_tracks(storage, f"clips/{DAY}", tmp_path, {f"{KEPT}_t0"})
    assert removed == [f"clips/{DAY}/{GONE}_t0_intensity_1.wav"]
    assert _names(tmp_path) == {f"clips/{DAY}/{KEPT}_t0_variance_2.wav"}


def test_a_missing_folder_is_nothing_to_do(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path / "root"), local_root=tmp_path / "root")
    assert remove_other_tracks(storage, f"embeddings/{DAY}", tmp_path / "scratch", set()) == []


def test_names_that_belong_to_no_track() -> None:
    assert stem_of(f"{KEPT}_t12_report.html") == f"{KEPT}_t12"
    assert stem_of(f"{KEPT}_t0.npy") == f"{KEPT}_t0"
    for name in ("index.html", "plotly.min.js", f"{KEPT}_tx.wav", f"{KEPT}_t0x.wav", "ab_t0.wav"):
        assert stem_of(name) is None, name
