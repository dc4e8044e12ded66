"""The handoff IO manager alone (defs/handoff.py): an op's small value is one whole object on
the storage root, named after the run, step, output and mapping key, and the next op reads it
back, whichever process that op runs in."""

from __future__ import annotations

import pickle
from pathlib import Path

from dagster import DynamicOut, DynamicOutput, Out, graph_asset, materialize, op

from emotion_assets.defs.handoff import HandoffIOManager, handoff_key
from emotion_assets.defs.resources import StorageResource
from emotion_assets.settings import StorageSettings


def test_mapped_values_travel_through_the_storage_root(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    storage = StorageResource.from_settings(
        StorageSettings(data_dir=tmp_path / "scratch", storage_url=str(root))
    )

    @op(out=DynamicOut(dict, io_manager_key="handoff"))
    def plan():
        for i in range(3):
            yield DynamicOutput({"unit": i, "tracks": list(range(i))}, mapping_key=f"u{i}")

    @op(out=Out(int, io_manager_key="handoff"))
    def work(unit: dict) -> int:
        return unit["unit"] * 10 + len(unit["tracks"])

    @op
    def total(done: list[int]) -> int:
        return sum(done)

    @graph_asset
    def units_done() -> int:
        return total(plan().map(work).collect())

    result = materialize([units_done], resources={"handoff": HandoffIOManager(storage=storage)})
    assert result.success
    assert result.output_for_node("units_done") == 0 + 11 + 22
    run = result.run_id
    objects = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.pickle"))
    assert objects == sorted(
        [handoff_key([run, "units_done.plan", "result", f"u{i}"]) for i in range(3)]
        + [handoff_key([run, f"units_done.work[u{i}]", "result"]) for i in range(3)]
    )
    unit_1 = root / handoff_key([run, "units_done.plan", "result", "u1"])
    assert pickle.loads(unit_1.read_bytes()) == {"unit": 1, "tracks": [0]}
    assert not list(root.rglob("*.tmp"))  # whole objects only
