"""The page's wiring: one analysis at a time on the model, the tiny-model warning when it applies."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from emotion_assets.app.server import build_page
from emotion_assets.app.sessions import SessionFiles
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.reports.palette import MEANINGLESS_WARNING


def _page(model_id: str, tmp_path: Path):
    runner = SimpleNamespace(
        model_id=model_id,
        meaningless="tiny random" in model_id,
    )
    return build_page(
        runner,
        layout=DataLayout(tmp_path / "data"),
        dagster_ui_url="http://127.0.0.1:3000",
        partitions=lambda: ("2024-01-01", "2025-12-31"),
        files=SessionFiles(tmp_path / "work"),
    )


@pytest.mark.parametrize(
    ("model_id", "warned"),
    [("tiny random model: scores carry no meaning", True), ("iic/emotion2vec_plus_large", False)],
)
def test_model_line_and_warning(model_id: str, warned: bool, tmp_path: Path):
    page = _page(model_id, tmp_path)
    texts = [t for b in page.blocks.values() if isinstance(t := getattr(b, "value", None), str)]
    assert any(MEANINGLESS_WARNING in t for t in texts) is warned
    assert any(f"**Model:** `{model_id}`" in t for t in texts)


def test_analyses_queue_one_at_a_time_and_paging_does_not_wait(tmp_path: Path):
    page = _page("iic/emotion2vec_plus_large", tmp_path)
    by_trigger = {}
    for fn in page.fns.values():
        for block_id, event in fn.targets:
            block = page.blocks.get(block_id)
            if getattr(block, "elem_id", None) and event == "click":
                by_trigger[block.elem_id] = fn
    start = by_trigger["start"]
    assert start.concurrency_limit == 1 and start.concurrency_id == "model"
    for other in ("page-next", "page-prev", "add-warehouse"):
        assert by_trigger[other].concurrency_limit is None
        assert by_trigger[other].concurrency_id != "model"
