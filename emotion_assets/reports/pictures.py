"""Static PNG pictures (matplotlib, Agg canvas, no pyplot global state): curves and heat map."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator

from emotion_assets.reports.palette import (
    MEANINGLESS_WARNING,
    MUTED_EMOTIONS,
    NONSPEECH_COLOR,
    WARNING_COLOR,
    emotion_color,
)
from emotion_assets.reports.series import SCORES, HeatMap

DEFAULT_WIDTH_PX = 1000
CURVES_HEIGHT_PX = 560
HEATMAP_HEIGHT_PX = 420
DPI = 100
PICTURE_MAX_POINTS = 2000  # curves in a 1000 px picture need no more
_MINUTE_STEPS = (60, 120, 300, 600, 900, 1200, 1800, 3600, 7200)


@dataclass(frozen=True)
class PictureTitle:
    heading: str  # file name / recording id
    details: str  # speaker, track, model
    warning: str | None = None  # shown in red when the scores mean nothing


def title_for(
    *,
    title: str,
    recording_id: str,
    track: int,
    speaker: str | None,
    model_id: str,
    meaningless: bool,
) -> PictureTitle:
    heading = title if recording_id in title else f"{title}  ({recording_id})"
    details = f"track {track}  ·  speaker: {speaker or 'unknown'}  ·  model: {model_id}"
    return PictureTitle(
        heading=_clip(heading, 100),
        details=_clip(details, 130),
        warning=MEANINGLESS_WARNING if meaningless else None,
    )


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _new_figure(width_px: int, height_px: int, dpi: int) -> Figure:
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    # The canvas's own print_png draws once, running the constrained layout inside that draw;
    # savefig draws twice (a layout pass, then the picture) for the same pixels at the same size.
    buf = io.BytesIO()
    fig.canvas.print_png(buf)
    return buf.getvalue()


def _set_titles(fig: Figure, ax, pt: PictureTitle) -> None:
    fig.suptitle(pt.heading, fontsize=13, fontweight="bold")
    ax.set_title(pt.details, fontsize=9.5, color="#444444")
    if pt.warning:
        # Two places so a cropped thumbnail still carries it: a banner and a watermark.
        # supxlabel gets its own room in the constrained layout (never overlaps the axes).
        fig.supxlabel(f"⚠ {pt.warning}", color=WARNING_COLOR, fontsize=12, fontweight="bold")
        ax.text(
            0.5,
            0.5,
            pt.warning,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=18,
            color=WARNING_COLOR,
            alpha=0.2,
            rotation=8,
            fontweight="bold",
            zorder=0,
            clip_on=True,
        )


def _time_axis(ax, total_s: float) -> None:
    if total_s > 120:
        # Whole-minute ticks (1, 2, 5, 10 ... min) read better than matplotlib's 8:20 steps.
        step = next((m for m in _MINUTE_STEPS if total_s / m <= 12), _MINUTE_STEPS[-1])
        ax.xaxis.set_major_locator(MultipleLocator(step))
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda x, _: f"{int(x // 60)}:{int(x % 60):02d}")
        )
        ax.set_xlabel("time (min:s)")
    else:
        ax.set_xlabel("time (s)")
    ax.set_xlim(0, max(total_s, 1.0))


def curves_png(
    *,
    raw: pl.DataFrame,
    smoothed: pl.DataFrame | None,
    nonspeech: Sequence[tuple[float, float]],
    bursts: pl.DataFrame | None,
    highlights: pl.DataFrame | None,
    total_s: float,
    title: PictureTitle,
    width_px: int = DEFAULT_WIDTH_PX,
    height_px: int = CURVES_HEIGHT_PX,
    dpi: int = DPI,
) -> bytes:
    """Nine curves over time; `raw`/`smoothed` are downsampled series (see series.downsample)."""
    fig = _new_figure(width_px, height_px, dpi)
    ax = fig.add_subplot()
    for t0, t1 in nonspeech:
        ax.axvspan(t0, t1, color=NONSPEECH_COLOR, alpha=0.25, lw=0, zorder=0)

    have_smooth = smoothed is not None and smoothed.height > 0
    t_raw = raw["t"].to_numpy()
    for emotion in SCORES:
        colour = emotion_color(emotion)
        style = "--" if emotion in MUTED_EMOTIONS else "-"
        y_raw = raw[emotion].to_numpy(allow_copy=True).astype(float)
        if have_smooth:
            ax.plot(t_raw, y_raw, color=colour, lw=0.6, alpha=0.22, zorder=1)
            ax.plot(
                smoothed["t"].to_numpy(),
                smoothed[emotion].to_numpy(allow_copy=True).astype(float),
                color=colour,
                lw=1.8,
                ls=style,
                zorder=3,
            )
        else:
            ax.plot(t_raw, y_raw, color=colour, lw=1.2, ls=style, zorder=3)

    if bursts is not None:
        for b in bursts.iter_rows(named=True):
            colour = emotion_color(b["emotion"])
            ax.axvspan(b["t_start"], b["t_end"], color=colour, alpha=0.10, lw=0, zorder=0)
            # A bar in the strip above the curves says which emotion burst.
            ax.broken_barh(
                [(b["t_start"], b["t_end"] - b["t_start"])], (1.03, 0.04), color=colour, zorder=4
            )
    if highlights is not None:
        for h in highlights.iter_rows(named=True):
            mid = (h["t_start"] + h["t_end"]) / 2
            score = float(h["score"]) if h.get("score") is not None else 0.95
            colour = emotion_color(h.get("dominant_emotion") or "")
            ax.plot(
                [mid],
                [min(score, 1.0)],
                marker="*",
                ms=15,
                color=colour,
                markeredgecolor="black",
                markeredgewidth=0.8,
                zorder=5,
                ls="none",
            )
            ax.annotate(
                f"#{h['rank']}",
                (mid, min(score, 1.0)),
                xytext=(0, 8),
                textcoords="offset points",
                ha="center",
                fontsize=8.5,
                fontweight="bold",
                zorder=6,
            )

    _time_axis(ax, total_s)
    ax.set_ylim(0, 1.09)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("score" + (" (smoothed; raw faint)" if have_smooth else ""))
    ax.grid(True, axis="y", alpha=0.3)
    _set_titles(fig, ax, title)

    handles = [
        Line2D(
            [], [], color=emotion_color(e), lw=2, ls="--" if e in MUTED_EMOTIONS else "-", label=e
        )
        for e in SCORES
    ]
    handles.append(Patch(color=NONSPEECH_COLOR, alpha=0.4, label="non-speech"))
    if bursts is not None and bursts.height:
        handles.append(Patch(color="#555555", alpha=0.25, label="burst (bar: emotion)"))
    if highlights is not None and highlights.height:
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                ms=11,
                ls="none",
                color="#555555",
                markeredgecolor="black",
                label="highlight #rank",
            )
        )
    fig.legend(handles=handles, loc="outside right upper", fontsize=9, frameon=False)
    if raw.height == 0:
        ax.text(0.5, 0.5, "no frames", transform=ax.transAxes, ha="center", fontsize=16)
    return _png(fig)


def heatmap_png(
    heat: HeatMap,
    *,
    total_s: float,
    title: PictureTitle,
    width_px: int = DEFAULT_WIDTH_PX,
    height_px: int = HEATMAP_HEIGHT_PX,
    dpi: int = DPI,
) -> bytes:
    """Emotion × time grid of mean scores over speech frames; blank where nobody speaks."""
    import matplotlib

    fig = _new_figure(width_px, height_px, dpi)
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["magma"].with_extremes(bad="#e8e8e8")
    extent = (0.0, heat.n_buckets * heat.bucket_s, len(SCORES) - 0.5, -0.5)
    # A square-root scale: the small emotions would vanish next to a dominant one on a linear one.
    image = ax.imshow(
        np.ma.masked_invalid(heat.matrix),
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        norm=PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0),
        extent=extent,
    )
    ax.set_yticks(range(len(SCORES)), SCORES)
    for label, emotion in zip(ax.get_yticklabels(), SCORES, strict=True):
        label.set_color(emotion_color(emotion))
        label.set_fontweight("bold")
    _time_axis(ax, max(total_s, heat.n_buckets * heat.bucket_s))
    bucket = f"{heat.bucket_s:g} s"
    colorbar = fig.colorbar(image, ax=ax, pad=0.01)
    colorbar.set_label(f"mean score per {bucket} (speech frames)")
    _set_titles(fig, ax, title)
    ax.text(
        1.0,
        -0.16 if total_s else 0,
        f"grey: no speech  ·  bucket {bucket}",
        transform=ax.transAxes,
        ha="right",
        fontsize=8.5,
        color="#555555",
    )
    return _png(fig)
