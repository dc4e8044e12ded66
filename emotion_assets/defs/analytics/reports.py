"""emotion_reports: pictures in the Dagster UI, PNG + interactive HTML under data/reports/<date>/.

Rendering is per track (~7 s a recording on one core), so it runs in work units like the ingest
and the model step (docs/scale.md): `plan_report_units` packs the run's tracks into units of at
most EMOTION_UNIT_AUDIO_HOURS, each `render_report_unit` step renders its tracks on any CPU
worker, and `publish_reports` writes each day's index and the report table.
"""

from dataclasses import dataclass

import polars as pl
from dagster import (
    AssetOut,
    AssetsDefinition,
    DynamicOut,
    DynamicOutput,
    In,
    MetadataValue,
    OpExecutionContext,
    Out,
    Output,
    PartitionsDefinition,
    graph_multi_asset,
    op,
)

from emotion_assets.contracts import REPORT_SCHEMA
from emotion_assets.defs.common import not_retried, retry_policy, run_days
from emotion_assets.defs.handoff import HANDOFF
from emotion_assets.defs.resources import StorageResource
from emotion_assets.foundation.labels import FRAME_HOP_S
from emotion_assets.foundation.work_units import filter_day, pack, rows_of, unit_name
from emotion_assets.reports.markdown import markdown_image
from emotion_assets.settings import ExecutionSettings
from emotion_assets.storage import Storage, push
from emotion_assets.storage.store import StorageConfigError
from emotion_assets.storage.tracks import remove_other_tracks, track_stem, track_stems

# Markdown metadata is stored in the event log: embed a few pictures, link the rest.
MAX_EMBEDDED = 4
# The tables a report is drawn from, by the name render_tracks gives them.
REPORT_INPUTS = {
    "frame_emotion_scores": "frames",
    "smoothed_emotion_curves": "smoothed",
    "emotion_bursts": "bursts",
    "emotion_highlights": "highlights",
    "recording_summary": "summary",
    "utterance_emotion_scores": "utterances",
    "raw_recordings": "recordings",
    "segment_emotions": "sentences",
}


@dataclass(frozen=True)
class ReportUnit:
    day: str
    index: int
    tracks: tuple[tuple[str, int], ...]

    @property
    def name(self) -> str:
        return unit_name(self.day, self.index)


def index_paths(root: Storage, days: list[str]) -> dict[str, MetadataValue]:
    """Each day's index.html as a path entry ("index_html", or "index_html <day>" per day).

    A path, not a link: browsers refuse file:// links on the UI's http:// page (and Markdown
    drops them), while the UI copies a path with one click, to paste into the address bar.
    """
    paths = {day: MetadataValue.path(root.uri(f"reports/{day}/index.html")) for day in days}
    if len(paths) == 1:
        return {"index_html": next(iter(paths.values()))}
    return {f"index_html {day}": path for day, path in sorted(paths.items())}


def _of_unit(tables: dict[str, pl.DataFrame | pl.LazyFrame], unit: ReportUnit) -> dict:
    """Each table's rows of the unit's recordings on its day, by render_tracks' names: the
    tables come as scans, so a unit reads its own recordings, never the day."""
    ids = sorted({rid for rid, _ in unit.tracks})
    return {
        REPORT_INPUTS[name]: rows_of(filter_day(t, unit.day), ids) for name, t in tables.items()
    }


def emotion_reports_asset(
    partitions: PartitionsDefinition, execution: ExecutionSettings
) -> AssetsDefinition:
    unit_audio_s = execution.unit_audio_s

    @op(ins={"frame_emotion_scores": In()}, out=DynamicOut(ReportUnit, io_manager_key=HANDOFF))
    def plan_report_units(context: OpExecutionContext, frame_emotion_scores: pl.LazyFrame):
        """The run's tracks in units of bounded audio (counted lazily: never the day's frames)."""
        for day in run_days(context):
            lengths = (
                filter_day(frame_emotion_scores, day)
                .group_by("recording_id", "track")
                .agg((pl.len() * FRAME_HOP_S).alias("s"))
                .sort("recording_id", "track")
                .collect()
            )
            seconds = {(rid, track): s for rid, track, s in lengths.iter_rows()}
            groups = pack(list(seconds), seconds.__getitem__, unit_audio_s)
            for i, group in enumerate(groups):
                unit = ReportUnit(day, i, tuple(group))
                yield DynamicOutput(unit, mapping_key=unit.name)

    @op(
        ins={"unit": In(ReportUnit), **{name: In() for name in REPORT_INPUTS}},
        out=Out(dict, io_manager_key=HANDOFF),
        retry_policy=retry_policy,
    )
    def render_report_unit(
        context: OpExecutionContext,
        storage: StorageResource,
        unit: ReportUnit,
        frame_emotion_scores: pl.LazyFrame,
        smoothed_emotion_curves: pl.LazyFrame,
        emotion_bursts: pl.LazyFrame,
        emotion_highlights: pl.LazyFrame,
        recording_summary: pl.LazyFrame,
        utterance_emotion_scores: pl.LazyFrame,
        raw_recordings: pl.LazyFrame,
        segment_emotions: pl.LazyFrame,
    ) -> dict:
        """Pictures and an HTML report of each of the unit's tracks, published to the root."""
        from emotion_assets.reports.day import render_tracks  # matplotlib: in this step only

        tables = {
            "frame_emotion_scores": frame_emotion_scores,
            "smoothed_emotion_curves": smoothed_emotion_curves,
            "emotion_bursts": emotion_bursts,
            "emotion_highlights": emotion_highlights,
            "recording_summary": recording_summary,
            "utterance_emotion_scores": utterance_emotion_scores,
            "raw_recordings": raw_recordings,
            "segment_emotions": segment_emotions,
        }
        layout = storage.layout
        table, index_rows = render_tracks(
            layout, unit.day, list(unit.tracks), **_of_unit(tables, unit)
        )
        with not_retried(StorageConfigError):
            root = storage.storage()
            if not root.shares(layout.root):
                stems = {track_stem(rid, track) for rid, track in unit.tracks}
                folder = layout.reports_day(unit.day)
                for path in sorted(folder.iterdir()) if folder.is_dir() else []:
                    if path.is_file() and any(path.name.startswith(s) for s in stems):
                        root.put_file(layout.relative(path), path)
        context.log.info(f"unit {unit.name}: {table.height} report(s)")
        return {"table": table, "index_rows": index_rows}

    @op(ins={"units": In(list[dict])}, out={"emotion_reports": Out()}, retry_policy=retry_policy)
    def publish_reports(context: OpExecutionContext, storage: StorageResource, units: list[dict]):
        """Each day's index and the report table; pages of tracks gone are removed."""
        from emotion_assets.reports.day_index import render_day_index  # matplotlib-free

        layout = storage.layout
        days = run_days(context)
        parts = [u["table"] for u in units]
        table = pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=REPORT_SCHEMA)
        table = table.sort("recording_date", "recording_id", "track")
        index_rows = sorted(
            (row for u in units for row in u["index_rows"]),
            key=lambda r: (r["recording_id"], r["track"]),
        )
        with not_retried(StorageConfigError):
            root = storage.storage()
            for day in days:
                # Always rewritten: a day whose recordings are all gone must not keep listing them.
                render_day_index(
                    layout, day, [r for r in index_rows if str(r["recording_date"]) == day]
                )
                # Pages and pictures of tracks not rendered now (a deleted recording) go.
                stems = track_stems(filter_day(table, day))
                remove_other_tracks(root, f"reports/{day}", layout.root, stems)
                push(root, f"reports/{day}", layout.root, exact=False)
            curves, heat_maps = [], []
            for row in table.head(MAX_EMBEDDED).iter_rows(named=True):
                heading = f"### {row['file_name']} · track {row['track']}\n\n"
                name = row["file_name"] or ""
                for pictures, column in ((curves, "curves_png"), (heat_maps, "heatmap_png")):
                    png = root.local_copy(row[column], layout.root)  # rendered maybe elsewhere
                    pictures.append(heading + markdown_image(png.read_bytes(), name))
        if table.height > MAX_EMBEDDED:
            more = f"…and {table.height - MAX_EMBEDDED} more in the index pages below."
            curves.append(more)
            heat_maps.append(more)
        yield Output(
            table,
            output_name="emotion_reports",
            metadata={
                "curves": MetadataValue.md("\n\n".join(curves) or "no recordings"),
                "heat_maps": MetadataValue.md("\n\n".join(heat_maps) or "no recordings"),
                **index_paths(root, days),
                "reports": table.height,
                "work_units": len(units),
            },
        )

    @graph_multi_asset(
        outs={
            "emotion_reports": AssetOut(
                description="Per track: a PNG of the nine curves, a heat map and an HTML report "
                "(with the transcript under the curves); an index per day.",
                kinds={"matplotlib", "plotly", "html"},
                code_version="reports-v2",
            )
        },
        group_name="analytics",  # graph_multi_asset ignores AssetOut's group_name
        partitions_def=partitions,
    )
    def emotion_reports(
        frame_emotion_scores,
        smoothed_emotion_curves,
        emotion_bursts,
        emotion_highlights,
        recording_summary,
        utterance_emotion_scores,
        raw_recordings,
        segment_emotions,
    ):
        tables = {
            "frame_emotion_scores": frame_emotion_scores,
            "smoothed_emotion_curves": smoothed_emotion_curves,
            "emotion_bursts": emotion_bursts,
            "emotion_highlights": emotion_highlights,
            "recording_summary": recording_summary,
            "utterance_emotion_scores": utterance_emotion_scores,
            "raw_recordings": raw_recordings,
            "segment_emotions": segment_emotions,
        }
        units = plan_report_units(frame_emotion_scores)
        done = units.map(lambda unit: render_report_unit(unit=unit, **tables)).collect()
        return {"emotion_reports": publish_reports(done)}

    return emotion_reports
