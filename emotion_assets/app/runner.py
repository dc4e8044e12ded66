"""The web page's pure core: one upload and its options in; outputs, tables, figure, log out.

The same steps as `emotion-assets analyze` (decode with ffmpeg to 16 kHz mono, score every 20 ms
frame, write the outputs folder through emotion_assets.pipeline.one_file, so result.json is the same
document), then what the page shows: voice activity, smoothed curves, bursts and highlights with
clips, the heat map and the transcript lane, all written inside the outputs folder.

Bad input raises InputRejected with one sentence for the person, before the outputs folder
exists; a failure after that removes the folder again, so a rejected upload leaves nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from emotion_assets.analytics import find_bursts, find_highlights, smooth_frames
from emotion_assets.analytics.highlights import write_clip
from emotion_assets.app.transcript_lane import TranscriptError, lane, read_cues
from emotion_assets.app.warehouse_drop import safe_file_name
from emotion_assets.audio.decode import DecodeError, decode
from emotion_assets.audio.probe import probe_file
from emotion_assets.audio.vad import VadParams, speech_regions
from emotion_assets.engine.tables import frame_table
from emotion_assets.foundation.atomic_files import write_bytes_atomically
from emotion_assets.foundation.labels import SAMPLE_RATE, n_frames
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.pipeline.one_file import outputs_dir, result_document, write_outputs
from emotion_assets.reports import pictures
from emotion_assets.reports.palette import is_meaningless_model
from emotion_assets.reports.render import interactive_figure
from emotion_assets.reports.series import duration_s, heatmap
from emotion_assets.settings import AnalyticsSettings, AppSettings

log = logging.getLogger(__name__)

LogSink = Callable[[str], None]
ProgressSink = Callable[[float, str], None]
MAX_CLIP_S = 30.0  # a burst clip longer than this is cut to its first 30 s
INPUT_FOLDER = "input"  # the upload's copy inside the outputs folder (not in the zip)


class InputRejected(ValueError):
    """The upload can't be analysed; the message is one sentence for the person."""


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int
    max_duration_s: float

    @classmethod
    def from_settings(cls, settings: AppSettings) -> Limits:
        return cls(int(settings.app_max_upload_mb * 1e6), float(settings.app_max_duration_s))


@dataclass(frozen=True)
class Request:
    upload: Path  # where the upload sits now (Gradio's temporary folder, a test's tmp_path)
    name: str  # the file name the person gave it
    granularity: str = "frame"
    embedding: bool = False
    transcript: Path | None = None


@dataclass(frozen=True)
class Moment:
    """A burst or highlight and its clip, for a player on the page."""

    label: str
    clip: Path


@dataclass
class Outcome:
    out_dir: Path
    input_copy: Path
    recording_id: str
    model_id: str
    result: dict
    frames: pl.DataFrame
    smoothed: pl.DataFrame
    bursts: pl.DataFrame
    highlights: pl.DataFrame
    figure: object  # plotly Figure
    heatmap_png: Path
    zip_path: Path
    files: dict[str, Path]  # processed_audio.wav, result.json and embedding.npy when asked
    moments: list[Moment] = field(default_factory=list)
    transcript: pl.DataFrame | None = None
    log_lines: list[str] = field(default_factory=list)


class Runner:
    """Holds the engine loaded once per process; one analysis at a time uses the model."""

    def __init__(
        self,
        engine,
        *,
        outputs_root: Path,
        limits: Limits,
        analytics: AnalyticsSettings | None = None,
        vad: VadParams | None = None,
    ) -> None:
        self.engine = engine
        self.outputs_root = Path(outputs_root).resolve()
        self.limits = limits
        self.analytics = analytics or AnalyticsSettings()
        self.vad = vad or VadParams()
        self._model_lock = threading.Lock()  # the page's queue serialises too; this is the rule

    @property
    def model_id(self) -> str:
        return str(self.engine.model_id)

    @property
    def meaningless(self) -> bool:
        return is_meaningless_model(self.model_id)

    # --- steps ---------------------------------------------------------------------
    def _validate(self, req: Request, name: str, say: LogSink):
        size = Path(req.upload).stat().st_size
        if size == 0:
            raise InputRejected(f"{name} is empty (0 bytes): there is nothing to analyse.")
        if size > self.limits.max_upload_bytes:
            raise InputRejected(
                f"{name} is {size / 1e6:.3g} MB, over the limit of "
                f"{self.limits.max_upload_bytes / 1e6:.3g} MB (EMOTION_APP_MAX_UPLOAD_MB)."
            )
        probe = probe_file(req.upload, max_duration_s=self.limits.max_duration_s)
        if probe.duration_s is not None and probe.duration_s > self.limits.max_duration_s:
            raise InputRejected(
                f"{name} is longer than the page's limit of {self.limits.max_duration_s:.0f} s "
                "(EMOTION_APP_MAX_DURATION_S); drop long recordings into the warehouse instead."
            )
        if not probe.ok:
            raise InputRejected(f"{name} was not analysed: {probe.problem}")
        say(
            f"validating audio: duration={probe.duration_s:.1f}s, "
            f"sample_rate={probe.sample_rate}Hz, channels={probe.channels}, "
            f"format={probe.container}/{probe.codec}"
        )
        return probe

    def _score(self, wave: np.ndarray, embedding: bool, progress: ProgressSink):
        total = n_frames(len(wave))
        features = np.zeros((total, self.engine.embed_dim), dtype=np.float32) if embedding else None

        def sink(start: int, block: np.ndarray) -> None:  # called window by window
            if features is not None:
                features[start : start + len(block)] = block
            progress(0.15 + 0.65 * (start + len(block)) / max(total, 1), "scoring frames")

        with self._model_lock:
            scores = self.engine.score(wave, with_features=False, on_features=sink)
        scores.features = features
        return scores

    def run(
        self,
        req: Request,
        *,
        into: Path | None = None,
        on_log: LogSink | None = None,
        on_progress: ProgressSink | None = None,
    ) -> Outcome:
        """Analyse one upload into a new outputs_*/ folder inside `into` (default: the runner's
        outputs root; the page gives each session its own)."""
        lines: list[str] = []

        def say(text: str) -> None:
            lines.append(text)
            log.info(text)
            if on_log:
                on_log(text)

        def progress(fraction: float, what: str) -> None:
            if on_progress:
                on_progress(min(max(fraction, 0.0), 1.0), what)

        if req.granularity not in ("utterance", "frame"):
            raise InputRejected(f"granularity must be utterance or frame, not {req.granularity!r}.")
        name = safe_file_name(req.name)
        progress(0.0, "validating audio")
        probe = self._validate(req, name, say)
        try:
            wave = decode(req.upload, sample_rate=SAMPLE_RATE, mode="mono")[0]
        except DecodeError as exc:
            raise InputRejected(f"{name} could not be decoded: {exc.detail or exc}.") from exc
        say(f"converted to 16 kHz mono WAV ({len(wave):,} samples)")
        progress(0.1, "finding speech")
        regions = speech_regions(wave, **asdict(self.vad))
        if not regions:
            raise InputRejected(
                f"No speech was found in {name} (voice-activity detection heard nobody talk): "
                "there is nothing to score."
            )
        speech_s = sum(end - start for start, end in regions)
        say(f"speech: {len(regions)} regions, {speech_s:.1f} s of {len(wave) / SAMPLE_RATE:.1f} s")
        say(f"scoring 20 ms frames with {self.model_id}")
        scores = self._score(wave, req.embedding, progress)

        out = outputs_dir(Path(into) if into is not None else self.outputs_root)
        try:
            outcome = self._write(req, name, probe, wave, regions, scores, out, say, progress)
        except BaseException:
            shutil.rmtree(out, ignore_errors=True)  # a failed run leaves no half folder
            raise
        outcome.log_lines = lines
        progress(1.0, "done")
        return outcome

    def _write(self, req, name, probe, wave, regions, scores, out, say, progress) -> Outcome:
        input_copy = out / INPUT_FOLDER / name
        input_copy.parent.mkdir()
        shutil.copyfile(req.upload, input_copy)
        result = result_document(
            scores, granularity=req.granularity, model_id=self.model_id, n_samples=len(wave)
        )
        written = write_outputs(out, wave=wave, result=result, features=scores.features)
        say(f"output written to {out.name}/")  # no server path: the page shows this line
        progress(0.85, "analytics")

        frames = frame_table(
            scores,
            recording_id=probe.recording_id,
            recording_date=dt.date.today(),
            track=0,
            model_id=self.model_id,
            speech_segments=regions,
            turns=[],
        )
        smoothed = smooth_frames(frames, self.analytics.smoothing_window)
        bursts = find_bursts(smoothed, self.analytics.burst_rules)
        highlights = find_highlights(
            smoothed, None, DataLayout(out), self.analytics, write_clips=False
        )
        moments = self._clips(out, written.processed_audio, bursts, highlights)
        say(f"{bursts.height} bursts, {highlights.height} highlights")
        figure = interactive_figure(frames, smoothed=smoothed, bursts=bursts, highlights=highlights)
        title = pictures.title_for(
            title=name,
            recording_id=probe.recording_id,
            track=0,
            speaker=None,
            model_id=self.model_id,
            meaningless=self.meaningless,
        )
        heat_png = write_bytes_atomically(
            out / "heatmap.png",
            pictures.heatmap_png(heatmap(frames), total_s=duration_s(frames), title=title),
        )
        transcript = None
        if req.transcript is not None:
            try:
                transcript = lane(read_cues(req.transcript), frames)
                say(f"transcript: {transcript.height} cues")
            except TranscriptError as exc:
                say(f"transcript ignored: {exc}")
        files = {"processed_audio.wav": written.processed_audio, "result.json": written.result_json}
        if written.embedding is not None:
            files["embedding.npy"] = written.embedding
        zip_path = self._zip(out)
        return Outcome(
            out_dir=out,
            input_copy=input_copy,
            recording_id=probe.recording_id,
            model_id=self.model_id,
            result=result,
            frames=frames,
            smoothed=smoothed,
            bursts=bursts,
            highlights=highlights,
            figure=figure,
            heatmap_png=heat_png,
            zip_path=zip_path,
            files=files,
            moments=moments,
            transcript=transcript,
        )

    @staticmethod
    def _clips(
        out: Path, audio: Path, bursts: pl.DataFrame, highlights: pl.DataFrame
    ) -> list[Moment]:
        """WAV clips of every highlight and burst under out/clips/, for the page's players."""
        moments = []
        for h in highlights.iter_rows(named=True):
            clip = out / "clips" / f"highlight_{h['rank_by']}_{h['rank']}.wav"
            write_clip(audio, clip, h["t_start"], h["t_end"])
            label = (
                f"highlight #{h['rank']} by {h['rank_by']}: {h['dominant_emotion']} "
                f"{h['t_start']:.1f}–{h['t_end']:.1f} s"
            )
            moments.append(Moment(label, clip))
        for i, b in enumerate(bursts.iter_rows(named=True), start=1):
            clip = out / "clips" / f"burst_{i}_{b['emotion']}.wav"
            write_clip(audio, clip, b["t_start"], min(b["t_end"], b["t_start"] + MAX_CLIP_S))
            label = (
                f"{b['emotion']} burst {b['t_start']:.1f}–{b['t_end']:.1f} s, peak {b['peak']:.2f}"
            )
            moments.append(Moment(label, clip))
        return moments

    @staticmethod
    def _zip(out: Path) -> Path:
        """The whole outputs folder (without the upload's copy) as one zip beside its files."""
        target = out / f"{out.name}.zip"
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(out.rglob("*")):
                rel = path.relative_to(out)
                if path.is_file() and path != target and rel.parts[0] != INPUT_FOLDER:
                    zf.write(path, f"{out.name}/{rel.as_posix()}")
        return target
