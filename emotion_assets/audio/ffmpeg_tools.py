"""Which ffmpeg to run and how to point it at a file safely (there is no ffprobe)."""

from __future__ import annotations

from pathlib import Path

import ffmpeg

# Demuxers ffmpeg may pick by content. Playlist/concat demuxers (hls, concat, ...) are left out on
# purpose: they would make ffmpeg open other files named inside a hostile "recording".
AUDIO_DEMUXERS: tuple[str, ...] = (
    "wav",
    "w64",
    "rf64",
    "aiff",
    "caf",
    "au",
    "voc",
    "sox",
    "flac",
    "ogg",
    "mp3",
    "aac",
    "loas",
    "mov",
    "matroska",
    "asf",
    "avi",
    "flv",
    "mpeg",
    "mpegts",
    "amr",
    "amrnb",
    "amrwb",
    "ac3",
    "eac3",
    "dts",
    "truehd",
    "mlp",
    "wv",
    "ape",
    "tta",
    "mpc",
    "mpc8",
    "tak",
    "gsm",
    "dsf",
    "iff",
    "rm",
    "oma",
    "xwma",
    "shn",
    "ircam",
    "nistsphere",
    "smjpeg",
    "spdif",
    "wsaud",
)


def ffmpeg_binary(override: str | None = None) -> str:
    """override (FFMPEG_BINARY, through AudioSettings), else the imageio-ffmpeg wheel's binary."""
    if override:
        return override
    import imageio_ffmpeg  # imported late: only needed when nothing else was configured

    return imageio_ffmpeg.get_ffmpeg_exe()


def input_url(path: Path) -> str:
    """The `file:` prefix stops names with a colon being read as a protocol ("a:b.wav")."""
    return "file:" + str(Path(path).resolve())


def scrub(stderr: str, path: Path) -> str:
    """ffmpeg's stderr without the file name, so a name holding a newline and a fake
    "Stream #0:0: Audio: ..." line cannot steer the banner parser."""
    return stderr.replace(input_url(path), "<input>")


def safe_input(path: Path, **input_kwargs: object) -> ffmpeg.nodes.FilterableStream:
    """An ffmpeg input for a local file: format found by content, only local files, audio demuxers."""
    return ffmpeg.input(
        input_url(path),
        protocol_whitelist="file",
        format_whitelist=",".join(AUDIO_DEMUXERS),
        **input_kwargs,
    )


def last_error_line(stderr: str) -> str:
    """The most telling line of ffmpeg's stderr, for the `detail` column."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "rror" in ln or "nvalid" in ln or "No such" in ln:
            return ln
    return lines[-1] if lines else ""
