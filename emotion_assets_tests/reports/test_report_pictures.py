"""The PNG pictures: real PNGs of the promised size, not blank, warning when scores mean nothing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from emotion_assets.foundation.layout import DataLayout
from emotion_assets.reports.palette import EMOTION_COLORS, WARNING_COLOR, is_meaningless_model
from emotion_assets.reports.pictures import CURVES_HEIGHT_PX, DEFAULT_WIDTH_PX, HEATMAP_HEIGHT_PX
from emotion_assets.reports.render import render_recording_report
from emotion_assets.reports.series import heatmap
from emotion_assets_tests.reports import synthetic as syn

TINY = "hf-internal-testing/tiny random model"


def _render(tmp_path, model_id=syn.MODEL_ID, **tables):
    frames = syn.frames(60.0, model_id=model_id)
    return render_recording_report(
        layout=DataLayout(tmp_path),
        day=syn.DAY,
        recording_id=syn.RECORDING_ID,
        track=0,
        frames=frames,
        smoothed=syn.smoothed(frames),
        bursts=syn.bursts(),
        highlights=None,
        summary_row=None,
        title="call.m4a",
        model_id=model_id,
        **tables,
    )


def _rgb(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def _count_colour(pixels: np.ndarray, hex_colour: str, tol: int = 6) -> int:
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels.astype(int) - target).max(axis=2) <= tol).sum())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return _render(tmp_path_factory.mktemp("data"))


def test_pictures_are_pngs_of_the_promised_size(rendered):
    curves, heat = _rgb(rendered.curves_png), _rgb(rendered.heatmap_png)
    assert curves.shape[:2] == (CURVES_HEIGHT_PX, DEFAULT_WIDTH_PX)
    assert heat.shape[:2] == (HEATMAP_HEIGHT_PX, DEFAULT_WIDTH_PX)
    assert rendered.curves_png.name == f"{syn.RECORDING_ID}_t0_curves.png"
    assert rendered.curves_png.parent == (rendered.html.parent)
    assert rendered.html.parent.parts[-2:] == ("reports", syn.DAY)


def test_pictures_are_not_blank(rendered, tmp_path):
    # Compare with what the same code draws with no frames at all (axes, titles, legend only).
    empty = render_recording_report(
        layout=DataLayout(tmp_path),
        day=syn.DAY,
        recording_id=syn.RECORDING_ID,
        track=0,
        frames=syn.frames(60.0).head(0),
        title="call.m4a",
        model_id=syn.MODEL_ID,
    )
    curves, bare_curves = _rgb(rendered.curves_png), _rgb(empty.curves_png)
    assert len(np.unique(curves.reshape(-1, 3), axis=0)) > 1000
    drawn = (curves != 255).any(axis=2).mean()
    assert drawn > 2 * (bare_curves != 255).any(axis=2).mean()
    heat, bare_heat = _rgb(rendered.heatmap_png), _rgb(empty.heatmap_png)
    assert (heat.min(axis=2) < 200).mean() > 5 * (bare_heat.min(axis=2) < 200).mean()


def test_curves_use_the_palette_colour_of_the_rising_emotion(rendered):
    pixels = _rgb(rendered.curves_png)
    # The angry curve rises in the middle: its colour must be drawn there, visibly.
    assert _count_colour(pixels, EMOTION_COLORS["angry"]) > 300
    middle = pixels[:, 350:550]
    assert _count_colour(middle, EMOTION_COLORS["angry"]) > 100


def test_heatmap_holds_the_known_pattern():
    frames = syn.frames(60.0)
    heat = heatmap(frames)
    assert heat.bucket_s == 1.0 and heat.n_buckets == 60
    angry = heat.matrix[0]
    assert angry[30] > 0.3 > 0.1 > angry[10]
    # Silence in the first 4 % (2.4 s) leaves the first buckets empty, not zero.
    assert np.isnan(heat.matrix[:, 0]).all()
    assert not np.isnan(heat.matrix[:, 30]).any()


def test_heatmap_buckets_widen_for_long_recordings():
    frames = syn.frames(3600.0)
    heat = heatmap(frames)
    assert heat.n_buckets <= 1000
    assert heat.bucket_s * heat.n_buckets >= 3599


def test_meaningless_model_is_recognised():
    assert is_meaningless_model("tiny random model")
    assert is_meaningless_model("hf-internal-testing/tiny-random-Emotion2Vec")
    assert not is_meaningless_model("iic/emotion2vec_plus_large")
    assert not is_meaningless_model("")


def test_tiny_model_pictures_carry_the_warning(tmp_path, rendered):
    tiny = _render(tmp_path, model_id=TINY)
    for ours, normal in (
        (tiny.curves_png, rendered.curves_png),
        (tiny.heatmap_png, rendered.heatmap_png),
    ):
        warned = _count_colour(_rgb(ours), WARNING_COLOR, tol=3)
        plain = _count_colour(_rgb(normal), WARNING_COLOR, tol=3)
        assert warned > plain + 300, ours.name
    assert "scores carry no meaning" in tiny.html.read_text()
    assert "scores carry no meaning" not in rendered.html.read_text()


def test_markdown_sized_picture_from_a_render(rendered):
    # A plain render already fits Dagster's Markdown budget without shrinking.
    from emotion_assets.reports.markdown import markdown_image

    text = markdown_image(rendered.curves_png.read_bytes(), "curves")
    assert len(text) < 210_000
    assert Image.open(io.BytesIO(rendered.curves_png.read_bytes())).size[0] == DEFAULT_WIDTH_PX


def test_one_draw_lays_the_picture_out_as_savefig_does():
    """_png draws once; the constrained layout must still run, or the legend outside the axes
    and a long title would land on the curves. Same figure twice: the same pixels as savefig."""
    from emotion_assets.reports.pictures import _new_figure, _png

    def figure():
        fig = _new_figure(DEFAULT_WIDTH_PX, CURVES_HEIGHT_PX, 100)
        ax = fig.add_subplot()
        for i, emotion in enumerate(EMOTION_COLORS):
            ax.plot([0, 1], [i / 10, 1 - i / 10], color=EMOTION_COLORS[emotion], label=emotion)
        fig.suptitle("a long heading " * 5, fontsize=13)
        fig.legend(loc="outside right upper", frameon=False)
        return fig

    buf = io.BytesIO()
    figure().savefig(buf, format="png", dpi=100)
    ours = np.asarray(Image.open(io.BytesIO(_png(figure()))).convert("RGB"))
    theirs = np.asarray(Image.open(buf).convert("RGB"))
    unlaid = figure()
    unlaid.set_layout_engine("none")
    assert np.array_equal(ours, theirs)
    assert not np.array_equal(ours, np.asarray(Image.open(io.BytesIO(_png(unlaid))).convert("RGB")))
