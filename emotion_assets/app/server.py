"""`emotion-assets serve` / `make app`: the Gradio page around app.runner (a thin shell).

One process loads the model once and serves everyone; analyses wait in Gradio's queue (one at a
time: concurrency 1 for the model), paging and "Add to the warehouse" do not wait behind them.
The server works in a folder of its own inside EMOTION_APP_OUTPUTS_DIR: Gradio's uploads
(GRADIO_TEMP_DIR, files older than an hour deleted every 10 minutes) and each session's own
folder (app.sessions: served only to its browser, deleted when the session ends); the whole
folder is removed when the server stops, and a folder left by a server that died is removed by
the next one.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import queue
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from emotion_assets.app.runner import InputRejected, Limits, Outcome, Request, Runner
from emotion_assets.app.sessions import SessionFileGuard, SessionFiles
from emotion_assets.app.transcript_lane import TRANSCRIPT_SUFFIXES
from emotion_assets.app.warehouse_drop import DropRefused, add_to_warehouse, dagster_runs_url
from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.reports.palette import MEANINGLESS_WARNING, WARNING_COLOR

log = logging.getLogger(__name__)

PAGE_ROWS = 100  # frame-table rows sent to the browser at a time
MAX_PLAYERS = 16  # audio players for bursts and highlights (5 + 5 highlights, some bursts)
CACHE_SWEEP = (600, 3600)  # every 10 min, delete Gradio's temporary files older than 1 h
WORK_PREFIX = "emotion-app-"  # the server's own folder: emotion-app-<pid>-<random>

CSS = f"""
#model-warning {{background:{WARNING_COLOR};color:#fff;font-weight:bold;font-size:1.25em;
 padding:14px 18px;border-radius:8px;margin:6px 0}}
.status-error {{background:#fdecea;border-left:6px solid {WARNING_COLOR};padding:10px 14px;
 font-size:1.05em}}
.status-ok {{background:#eaf7ee;border-left:6px solid #2e7d32;padding:10px 14px}}
.status-busy {{background:#eef3fb;border-left:6px solid #1f77b4;padding:10px 14px}}
"""


@dataclass
class PageSession:
    """What one person's page remembers between clicks (kept on the server, per browser tab)."""

    out_dir: Path
    input_copy: Path
    name: str
    frames: pl.DataFrame


def _status(kind: str, text: str, link: tuple[str, str] | None = None) -> str:
    extra = ""
    if link:
        extra = f" <a href='{html.escape(link[1], quote=True)}' target='_blank'>{html.escape(link[0])}</a>"
    return f"<div class='status-{kind}' role='status'>{html.escape(text)}{extra}</div>"


def frame_page(frames: pl.DataFrame | None, page: int) -> tuple[object, str, int]:
    """Rows of one page of the 20 ms score table (pandas for Gradio), its caption, the page."""
    if frames is None or frames.height == 0:
        return None, "", 1
    pages = max(1, -(-frames.height // PAGE_ROWS))
    page = min(max(int(page or 1), 1), pages)
    rows = frames.slice((page - 1) * PAGE_ROWS, PAGE_ROWS).select(
        "frame_idx",
        pl.col("t_start").round(2).alias("t (s)"),
        pl.col("is_speech").alias("speech"),
        "top_emotion",
        *[pl.col(e).cast(pl.Float64).round(4) for e in EMOTIONS],
    )
    caption = f"page {page} of {pages} · frames {rows['frame_idx'][0]:,}–{rows['frame_idx'][-1]:,} of {frames.height:,}"
    return rows.to_pandas(), caption, page


def _moments_table(df: pl.DataFrame, columns: list[str]):
    """The columns people read, times and scores rounded (an empty table keeps its headers)."""
    return (
        df.select(columns)
        .with_columns(pl.col(pl.Float32, pl.Float64).cast(pl.Float64).round(2))
        .to_pandas()
    )


def _with_request(fn: Callable, request_type: type) -> Callable:
    """Gradio hands a gr.Request to a parameter annotated so; this module's annotations are
    strings it cannot resolve (gradio is imported late), so the type is set here."""
    fn.__annotations__ = {"request": request_type}
    return fn


def _visitor(request) -> str | None:
    """The browser's id that SessionFileGuard put on the request."""
    return getattr(getattr(request, "state", None), "visitor", None)


def build_page(
    runner: Runner,
    *,
    layout: DataLayout,
    dagster_ui_url: str,
    partitions: Callable[[], tuple[str, str]],
    files: SessionFiles,
):
    """The gr.Blocks of the page (not launched). `partitions()`: the first and last partition
    key now; `files`: who owns which file."""
    import gradio as gr

    def headline_html(outcome: Outcome) -> str:
        r = outcome.result
        speech = int(outcome.frames["is_speech"].sum()) * 0.02
        return (
            f"<h3>{html.escape(outcome.input_copy.name)}: <b>{html.escape(r['emotion'])}</b> "
            f"(confidence {r['confidence']:.2f})</h3><p>{r['duration_s']:.1f} s, "
            f"{speech:.1f} s of speech, {outcome.frames.height:,} frames of 20 ms · "
            f"granularity {html.escape(r['granularity'])}</p>"
        )

    with gr.Blocks(
        title="emotion-assets: one recording", analytics_enabled=False, delete_cache=CACHE_SWEEP
    ) as page:
        session = gr.State(None)
        gr.Markdown(
            "# Emotions of one recording\nDrop a recording (any format ffmpeg decodes: WAV, MP3, "
            "M4A, FLAC, OGG, Opus, WebM…), choose the granularity, press **Start**."
        )
        gr.Markdown(f"**Model:** `{runner.model_id}` (loaded once for this server)")
        if runner.meaningless:
            gr.HTML(
                f"<div id='model-warning'>⚠ {html.escape(MEANINGLESS_WARNING)}. No real "
                "emotion2vec+ weights are configured: set EMOTION_MODEL to a downloaded "
                "emotion2vec_plus_large folder for real results (README, Model).</div>"
            )
        with gr.Row():
            with gr.Column(scale=2):
                upload = gr.File(label="Recording", type="filepath", elem_id="upload", height=140)
                transcript = gr.File(
                    label="Transcript (optional: .srt or .vtt)",
                    type="filepath",
                    file_types=list(TRANSCRIPT_SUFFIXES),
                    elem_id="transcript",
                    height=100,
                )
            with gr.Column(scale=1):
                granularity = gr.Radio(
                    ["frame", "utterance"],
                    value="frame",
                    label="Granularity of result.json",
                    elem_id="granularity",
                )
                embedding = gr.Checkbox(
                    label="Export embeddings (embedding.npy)", elem_id="embedding"
                )
                start = gr.Button("Start", variant="primary", elem_id="start")
        status = gr.HTML(elem_id="status")
        log_box = gr.Textbox(label="Processing log", lines=6, max_lines=14, elem_id="log")
        headline = gr.HTML(elem_id="headline")
        curves = gr.Plot(label="Emotions over time (smoothed and raw)", elem_id="curves")
        with gr.Row():
            utterance = gr.Label(label="Utterance result", num_top_classes=9, elem_id="utterance")
            with gr.Column():
                gr.Markdown("**Outputs**")
                dl_audio = gr.DownloadButton(
                    "processed_audio.wav", visible=False, elem_id="dl-audio"
                )
                dl_result = gr.DownloadButton("result.json", visible=False, elem_id="dl-result")
                dl_embedding = gr.DownloadButton(
                    "embedding.npy", visible=False, elem_id="dl-embedding"
                )
                dl_zip = gr.DownloadButton("outputs folder (.zip)", visible=False, elem_id="dl-zip")
        heat = gr.Image(label="Heat map", type="filepath", elem_id="heatmap", interactive=False)
        gr.Markdown("### Scores of every 20 ms frame")
        with gr.Row():
            prev_btn = gr.Button("◀ previous", size="sm", elem_id="page-prev")
            page_no = gr.Number(value=1, precision=0, label="page", minimum=1, elem_id="page-no")
            next_btn = gr.Button("next ▶", size="sm", elem_id="page-next")
        page_caption = gr.Markdown(elem_id="page-caption")
        table = gr.Dataframe(interactive=False, elem_id="frame-table", max_height=420)
        transcript_lane = gr.Dataframe(
            label="Transcript lane: the emotion of each cue",
            interactive=False,
            visible=False,
            wrap=True,
            elem_id="transcript-lane",
        )
        gr.Markdown("### Bursts and highlights")
        with gr.Row():
            bursts = gr.Dataframe(label="Bursts", interactive=False, elem_id="bursts")
            highlights = gr.Dataframe(label="Highlights", interactive=False, elem_id="highlights")
        players = []
        with gr.Row(equal_height=False):
            for i in range(MAX_PLAYERS):
                players.append(
                    gr.Audio(visible=False, interactive=False, elem_id=f"clip-{i}", type="filepath")
                )
        gr.Markdown("### Add to the warehouse")
        gr.Markdown(
            "Copies the analysed recording (and the sidecars below, and the transcript) into "
            "`raw/<recording date>/` of the data directory, where the `raw_folder_sensor` picks "
            "it up. The date must be a partition: from `EMOTION_PARTITION_START` to today."
        )
        with gr.Row():
            day = gr.Textbox(
                value=lambda: partitions()[1],  # today, in EMOTION_TIMEZONE
                label="Recording date (YYYY-MM-DD)",
                elem_id="warehouse-day",
            )
            sidecars = gr.File(
                label="Sidecars (optional: .rttm, .json)",
                file_count="multiple",
                file_types=[".rttm", ".json"],
                type="filepath",
                elem_id="sidecars",
            )
            add_btn = gr.Button("Add to the warehouse", interactive=False, elem_id="add-warehouse")
        warehouse_status = gr.HTML(elem_id="warehouse-status")

        results = [
            headline,
            utterance,
            curves,
            heat,
            table,
            page_caption,
            page_no,
            transcript_lane,
            bursts,
            highlights,
            dl_audio,
            dl_result,
            dl_embedding,
            dl_zip,
            *players,
        ]

        def cleared() -> dict:
            out = {c: None for c in results}
            out.update(
                {
                    page_no: 1,
                    page_caption: "",
                    transcript_lane: gr.Dataframe(value=None, visible=False),
                    **{
                        b: gr.DownloadButton(visible=False)
                        for b in (dl_audio, dl_result, dl_embedding, dl_zip)
                    },
                    **{p: gr.Audio(value=None, visible=False) for p in players},
                }
            )
            return out

        def shown(outcome: Outcome) -> dict:
            rows, caption, first = frame_page(outcome.frames, 1)
            out = {
                headline: headline_html(outcome),
                utterance: outcome.result["scores"],
                curves: outcome.figure,
                heat: str(outcome.heatmap_png),
                table: rows,
                page_caption: caption,
                page_no: first,
                bursts: _moments_table(
                    outcome.bursts, ["emotion", "t_start", "t_end", "duration_s", "peak"]
                ),
                highlights: _moments_table(
                    outcome.highlights,
                    ["rank_by", "rank", "t_start", "t_end", "dominant_emotion", "score"],
                ),
                transcript_lane: gr.Dataframe(
                    value=None if outcome.transcript is None else outcome.transcript.to_pandas(),
                    visible=outcome.transcript is not None,
                ),
                dl_audio: gr.DownloadButton(
                    value=str(outcome.files["processed_audio.wav"]), visible=True
                ),
                dl_result: gr.DownloadButton(value=str(outcome.files["result.json"]), visible=True),
                dl_embedding: gr.DownloadButton(
                    value=str(outcome.files["embedding.npy"])
                    if "embedding.npy" in outcome.files
                    else None,
                    visible="embedding.npy" in outcome.files,
                ),
                dl_zip: gr.DownloadButton(value=str(outcome.zip_path), visible=True),
            }
            for i, player in enumerate(players):
                moment = outcome.moments[i] if i < len(outcome.moments) else None
                out[player] = gr.Audio(
                    value=str(moment.clip) if moment else None,
                    label=moment.label if moment else None,
                    visible=moment is not None,
                )
            return out

        def analyse(
            upload_path,
            transcript_path,
            granularity_value,
            embedding_value,
            request,
            progress=gr.Progress(),  # noqa: B008 (Gradio's API)
        ):
            if not upload_path:
                yield {
                    status: _status("error", "Choose a recording first."),
                    session: None,
                    add_btn: gr.Button(interactive=False),
                }
                return
            name = Path(upload_path).name
            visitor = _visitor(request)
            if visitor is None or not request.session_hash:
                yield {status: _status("error", "This page needs cookies to keep your files.")}
                return
            folder = files.open(request.session_hash, visitor)
            job = Request(
                upload=Path(upload_path),
                name=name,
                granularity=granularity_value,
                embedding=bool(embedding_value),
                transcript=Path(transcript_path) if transcript_path else None,
            )
            events: queue.Queue = queue.Queue()
            box: dict = {}

            def work() -> None:
                try:
                    box["outcome"] = runner.run(
                        job,
                        into=folder,
                        on_log=lambda text: events.put(("log", text)),
                        on_progress=lambda f, what: events.put(("progress", (f, what))),
                    )
                except InputRejected as exc:
                    box["rejected"] = str(exc)
                except Exception as exc:  # the server keeps serving; the person gets one line
                    log.exception("analysis of %s failed", name)
                    box["rejected"] = f"The analysis of {name} failed: {type(exc).__name__}: {exc}"
                finally:
                    if not files.is_live(folder):  # the tab closed while it ran
                        shutil.rmtree(folder, ignore_errors=True)
                    events.put(("done", None))

            lines: list[str] = []
            yield {
                **cleared(),
                status: _status("busy", f"Analysing {name}…"),
                log_box: "",
                session: None,
                add_btn: gr.Button(interactive=False),
                warehouse_status: "",
            }
            threading.Thread(target=work, name="analysis", daemon=True).start()
            while True:
                kind, payload = events.get()
                if kind == "log":
                    lines.append(f"{dt.datetime.now():%H:%M:%S} {payload}")
                    yield {log_box: "\n".join(lines)}
                elif kind == "progress":
                    progress(payload[0], desc=payload[1])
                else:
                    break
            if "rejected" in box:
                lines.append(f"{dt.datetime.now():%H:%M:%S} rejected: {box['rejected']}")
                yield {status: _status("error", box["rejected"]), log_box: "\n".join(lines)}
                return
            outcome: Outcome = box["outcome"]
            yield {
                **shown(outcome),
                status: _status("ok", f"Done: {name} analysed."),
                log_box: "\n".join(lines),
                session: PageSession(outcome.out_dir, outcome.input_copy, name, outcome.frames),
                add_btn: gr.Button(interactive=True),
            }

        def turn_page(state: PageSession | None, page_value, step: int):
            rows, caption, page_value = frame_page(
                state.frames if state else None, int(page_value or 1) + step
            )
            return rows, caption, page_value

        def add(state: PageSession | None, day_text: str, sidecar_paths, transcript_path):
            if state is None or not state.input_copy.is_file():
                return _status(
                    "error", "Analyse a recording first: only analysed uploads can be added."
                )
            extra = [Path(p) for p in (sidecar_paths or [])]
            if transcript_path:
                extra.append(Path(transcript_path))
            try:
                dropped = add_to_warehouse(
                    layout, day_text, state.input_copy, state.name, extra, partitions=partitions()
                )
            except DropRefused as exc:
                return _status("error", str(exc))
            where = layout.relative(dropped.recording)
            said = "was already" if dropped.already_there else "is now"
            sides = (
                f" with {', '.join(p.name for p in dropped.sidecars)}" if dropped.sidecars else ""
            )
            return _status(
                "ok",
                f"{state.name} {said} in the warehouse as {where}{sides}; the raw_folder_sensor "
                "starts its run within a minute when it is on.",
                link=(
                    "Runs of that day in the Dagster UI",
                    dagster_runs_url(dagster_ui_url, dropped.day),
                ),
            )

        start.click(
            _with_request(analyse, gr.Request),
            api_name="analyse",
            inputs=[upload, transcript, granularity, embedding],
            outputs=[status, log_box, session, add_btn, warehouse_status, *results],
            concurrency_limit=1,
            concurrency_id="model",
        )
        for button, step in ((prev_btn, -1), (next_btn, 1)):
            button.click(
                lambda s, p, step=step: turn_page(s, p, step),
                inputs=[session, page_no],
                outputs=[table, page_caption, page_no],
                concurrency_limit=None,
            )
        page_no.submit(
            lambda s, p: turn_page(s, p, 0),
            inputs=[session, page_no],
            outputs=[table, page_caption, page_no],
            concurrency_limit=None,
        )
        add_btn.click(
            add,
            api_name="add_to_warehouse",
            inputs=[session, day, sidecars, transcript],
            outputs=[warehouse_status],
            concurrency_limit=None,
        )
        # A closed or reloaded tab ends its session: its folder goes at once.
        page.unload(_with_request(lambda request: files.end(request.session_hash), gr.Request))
    return page


def _stop(signum, frame) -> None:
    """SIGTERM ends the server like Ctrl-C does, so its folder is removed."""
    raise KeyboardInterrupt


def work_folder(parent: Path) -> Path:
    """A new folder for this server inside `parent`; those of servers that died (killed, no
    cleanup ran) are removed first."""
    import psutil

    parent.mkdir(parents=True, exist_ok=True)
    for old in parent.glob(f"{WORK_PREFIX}*"):
        pid = old.name.removeprefix(WORK_PREFIX).partition("-")[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-", dir=parent))


def serve(host: str | None = None, port: int | None = None, model: str | None = None) -> int:
    """Load the model, build the page and serve it until interrupted (SIGINT or SIGTERM)."""
    from starlette.middleware import Middleware

    from emotion_assets.audio.vad import VadParams
    from emotion_assets.defs.partitions import daily_partitions, partition_bounds
    from emotion_assets.pipeline.one_file import load_engine_or_tiny
    from emotion_assets.settings import load_settings

    settings = load_settings()
    work = work_folder(settings.app.outputs_dir(settings.storage.data_dir))
    # Gradio reads its upload folder from the environment when it is imported; the sessions'
    # folders sit inside it, so Gradio serves their files without copying them or allowed_paths.
    os.environ["GRADIO_TEMP_DIR"] = str(work)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    files = SessionFiles(work)
    signal.signal(signal.SIGTERM, _stop)
    page = None
    try:
        engine = load_engine_or_tiny(model, settings)
        runner = Runner(
            engine,
            outputs_root=files.sessions,
            limits=Limits.from_settings(settings.app),
            analytics=settings.analytics,
            vad=VadParams.from_settings(settings.audio),
        )
        page = build_page(
            runner,
            layout=DataLayout(settings.storage.data_dir),
            dagster_ui_url=settings.app.dagster_ui_url,
            partitions=lambda: partition_bounds(daily_partitions(settings.storage)),
            files=files,
        )
        page.queue(default_concurrency_limit=1)
        print(f"model: {runner.model_id}; working folder: {work}", flush=True)
        page.launch(
            server_name=host or settings.app.app_host,
            server_port=port or settings.app.app_port,
            max_file_size=int(settings.app.app_max_upload_mb * 1e6),
            ssr_mode=False,
            css=CSS,
            footer_links=[],
            quiet=False,
            app_kwargs={"middleware": [Middleware(SessionFileGuard, files=files)]},
        )
    except KeyboardInterrupt:
        pass
    finally:
        if page is not None:
            page.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0
