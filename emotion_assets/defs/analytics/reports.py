"""emotion_reports: pictures in the Dagster UI, PNG + interactive HTML under data/reports/<date>/."""

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from emotion_assets.defs.common import filter_day
from emotion_assets.defs.resources import StorageResource
from emotion_assets.reports.markdown import markdown_image
from emotion_assets.storage import Storage, push
from emotion_assets.storage.tracks import remove_other_tracks, track_stems

# Markdown metadata is stored in the event log: embed a few pictures, link the rest.
MAX_EMBEDDED = 4


def index_paths(root: Storage, days: list[str]) -> dict[str, MetadataValue]:
    """Each day's index.html as a path entry ("index_html", or "index_html <day>" per day).

    A path, not a link: browsers refuse file:// links on the UI's http:// page (and Markdown
    drops them), while the UI copies a path with one click, to paste into the address bar.
    """
    paths = {day: MetadataValue.path(root.uri(f"reports/{day}/index.html")) for day in days}
    if len(paths) == 1:
        return {"index_html": next(iter(paths.values()))}
    return {f"index_html {day}": path for day, path in sorted(paths.items())}


def emotion_reports_asset(partitions: PartitionsDefinition) -> AssetsDefinition:
    @asset(
        partitions_def=partitions,
        group_name="analytics",
        kinds={"matplotlib", "plotly", "html"},
        code_version="reports-v2",
    )
    def emotion_reports(
        context: AssetExecutionContext,
        storage: StorageResource,
        frame_emotion_scores: pl.DataFrame,
        smoothed_emotion_curves: pl.DataFrame,
        emotion_bursts: pl.DataFrame,
        emotion_highlights: pl.DataFrame,
        recording_summary: pl.DataFrame,
        utterance_emotion_scores: pl.DataFrame,
        raw_recordings: pl.DataFrame,
        segment_emotions: pl.DataFrame,
    ) -> pl.DataFrame:
        """Per track: a PNG of the nine curves, a heat map and an HTML report (with the transcript
        under the curves); an index per day."""
        from emotion_assets.reports.day import render_day  # matplotlib: in this step only

        layout = storage.layout
        tables = []
        for day in context.partition_keys:
            tables.append(
                render_day(
                    layout,
                    day,
                    frames=filter_day(frame_emotion_scores, day),
                    smoothed=filter_day(smoothed_emotion_curves, day),
                    bursts=filter_day(emotion_bursts, day),
                    highlights=filter_day(emotion_highlights, day),
                    summary=filter_day(recording_summary, day),
                    utterances=filter_day(utterance_emotion_scores, day),
                    recordings=filter_day(raw_recordings, day),
                    sentences=filter_day(segment_emotions, day),
                )
            )
        table = pl.concat(tables, how="vertical")
        root = storage.storage()
        for day in context.partition_keys:  # rendered in scratch, published under the root
            # Pages and pictures of tracks not rendered now (a deleted or replaced recording) go.
            stems = track_stems(filter_day(table, day))
            remove_other_tracks(root, f"reports/{day}", layout.root, stems)
            push(root, f"reports/{day}", layout.root, exact=False)
        curves, heat_maps = [], []
        for row in table.head(MAX_EMBEDDED).iter_rows(named=True):
            heading = f"### {row['file_name']} · track {row['track']}\n\n"
            name = row["file_name"] or ""
            curves.append(
                heading + markdown_image((layout.root / row["curves_png"]).read_bytes(), name)
            )
            heat_maps.append(
                heading + markdown_image((layout.root / row["heatmap_png"]).read_bytes(), name)
            )
        if table.height > MAX_EMBEDDED:
            more = f"…and {table.height - MAX_EMBEDDED} more in the index pages below."
            curves.append(more)
            heat_maps.append(more)
        context.add_output_metadata(
            {
                "curves": MetadataValue.md("\n\n".join(curves) or "no recordings"),
                "heat_maps": MetadataValue.md("\n\n".join(heat_maps) or "no recordings"),
                **index_paths(root, context.partition_keys),
                "reports": table.height,
            }
        )
        return table

    return emotion_reports
