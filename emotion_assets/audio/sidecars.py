"""Files beside a recording that say who speaks: <name>.rttm (when) and <name>.json (who, team).

Readers never raise for bad content: they return what they could use plus problem sentences.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

log = logging.getLogger(__name__)

# .vtt/.srt (and <name>.transcript.json) are transcripts: emotion_assets/transcripts.
SIDECAR_SUFFIXES: tuple[str, ...] = (".rttm", ".json", ".vtt", ".srt")
MAX_SIDECAR_BYTES = 10 * 1024 * 1024  # a sidecar bigger than this is not a sidecar
KNOWN_KEYS = ("speaker", "team", "teams", "channels", "compare_with")
# Names are copied into every frame row and every report: a 2 MB "speaker" must not become gigabytes.
MAX_NAME_CHARS = 200
# Per-speaker tables, reports and team health grow with the speakers; an RTTM naming more than
# this is not a diarization of one recording (and is ignored whole, with a reason).
MAX_SPEAKERS = 500
# Deeper JSON is not a metadata sidecar; json would otherwise recurse until RecursionError.
MAX_JSON_DEPTH = 32
# At most this many malformed RTTM lines are listed one by one; the rest are counted.
MAX_LISTED_LINES = 20
# RTTM times: plain decimals ("6.690", "1e-3"); float() would also take "1_0", "nan", "inf".
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_RTTM_FIELDS = 10  # type file chan onset dur ortho stype name conf slat


class FolderNames:
    """The names in a day folder, to find the sidecars of a recording.

    A sidecar is <stem><suffix> with the suffix in any case (talk.VTT and talk.Json are talk's).
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = set(names)
        self._by_lower: dict[str, list[str]] = {}
        for name in sorted(self.names):
            self._by_lower.setdefault(name.lower(), []).append(name)

    def sidecars(self, stem: str, suffix: str) -> list[str]:
        """Every file named <stem><suffix>, the suffix in any case; the exact spelling first."""
        exact = stem + suffix
        found = [n for n in self._by_lower.get(exact.lower(), []) if n.startswith(stem)]
        return sorted(found, key=lambda n: n != exact)


def shared_stems(recordings: Iterable[str]) -> dict[str, list[str]]:
    """{stem: names} of the stems several recordings share (same.mp3, same.flac): a sidecar
    named after such a stem could be either's, so it is used for none (`shared_stem_reason`)."""
    by_stem: dict[str, list[str]] = {}
    for name in sorted(recordings):
        by_stem.setdefault(Path(name).stem, []).append(name)
    return {stem: names for stem, names in by_stem.items() if len(names) > 1}


def shared_stem_reason(sidecar: str, recordings: list[str]) -> str:
    return (
        f"{sidecar} goes with the name {Path(recordings[0]).stem}, which {len(recordings)} "
        f"recordings share ({', '.join(recordings)}); whose it is is unknown, so it was used "
        "for none of them: give each recording its own name."
    )


@dataclass(frozen=True)
class Turn:
    speaker: str
    t_start: float
    t_end: float


@dataclass(frozen=True)
class RecordingMetadata:
    speaker: str | None = None
    team: str | None = None
    teams: dict[str, str] = field(default_factory=dict)
    channels: dict[int, str] = field(default_factory=dict)
    compare_with: str | None = None
    extra: dict = field(default_factory=dict)  # every other key, untouched
    raw_json: str | None = None  # the whole sidecar, re-serialised (None when unreadable)

    def team_of(self, speaker: str | None) -> str | None:
        """The speaker's team from the `teams` map, else the recording-level `team`."""
        if speaker is not None and speaker in self.teams:
            return self.teams[speaker]
        return self.team

    @property
    def channel_map_json(self) -> str | None:
        if not self.channels:
            return None
        return json.dumps({str(k): v for k, v in sorted(self.channels.items())})


def _read_text(path: Path, kind: str) -> tuple[str | None, str | None]:
    try:
        size = path.stat().st_size
        if size > MAX_SIDECAR_BYTES:
            return (
                None,
                f"The {kind} sidecar {path.name} is too large ({size} bytes) and was ignored.",
            )
        return path.read_text(encoding="utf-8-sig"), None  # -sig: tolerate a byte-order mark
    except UnicodeDecodeError:
        return None, f"The {kind} sidecar {path.name} is not UTF-8 text and was ignored."
    except OSError as exc:
        return None, f"The {kind} sidecar {path.name} could not be read ({exc.strerror})."


def read_rttm(path: str | Path) -> tuple[list[Turn], list[str]]:
    """SPEAKER lines of an RTTM file: type file chan onset dur ortho stype name conf slat.

    Comments (;;) and other record types are skipped silently; a malformed SPEAKER line is skipped
    and reported with its line number.
    """
    path = Path(path)
    text, problem = _read_text(path, "RTTM")
    if text is None:
        return [], [problem] if problem else []
    turns: list[Turn] = []
    problems: list[str] = []
    for no, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith(";;") or fields[0].upper() != "SPEAKER":
            if fields and not fields[0].startswith(";;") and not fields[0].isupper():
                problems.append(
                    f"{path.name} line {no}: not an RTTM record ({line.strip()[:60]!r})."
                )
            continue
        if len(fields) < 8:
            problems.append(
                f"{path.name} line {no}: a SPEAKER line needs at least 8 fields, found {len(fields)}."
            )
            continue
        if not (_NUMBER.match(fields[3]) and _NUMBER.match(fields[4])):
            problems.append(
                f"{path.name} line {no}: onset {fields[3][:40]!r} and duration {fields[4][:40]!r} "
                "must be numbers of seconds."
            )
            continue
        onset, duration = float(fields[3]), float(fields[4])
        if not (math.isfinite(onset) and math.isfinite(duration)) or onset < 0 or duration <= 0:
            problems.append(
                f"{path.name} line {no}: onset must be >= 0 and duration > 0 "
                f"(got {fields[3][:40]}, {fields[4][:40]})."
            )
            continue
        speaker = fields[7]
        if len(fields) > _RTTM_FIELDS:
            # RTTM fields are separated by blanks, so a name with spaces spills into the next
            # fields; the last two are always confidence and lookahead.
            speaker = " ".join(fields[7:-2])
            problems.append(
                f"{path.name} line {no}: the speaker name has spaces; it was read as "
                f"{speaker[:60]!r} (RTTM separates fields by blanks: use _ instead)."
            )
        if len(speaker) > MAX_NAME_CHARS:
            problems.append(
                f"{path.name} line {no}: the speaker name is {len(speaker)} characters long "
                f"(at most {MAX_NAME_CHARS}); the line was skipped."
            )
            continue
        turns.append(Turn(speaker, onset, onset + duration))
    n_speakers = len({t.speaker for t in turns})
    if n_speakers > MAX_SPEAKERS:
        return [], [
            f"{path.name} names {n_speakers} different speakers; at most {MAX_SPEAKERS} per "
            "recording are supported, so the RTTM was ignored."
        ]
    if len(problems) > MAX_LISTED_LINES:
        more = len(problems) - MAX_LISTED_LINES
        problems = problems[:MAX_LISTED_LINES] + [
            f"{path.name}: {more} more line(s) with problems were skipped (not listed)."
        ]
    turns.sort(key=lambda t: (t.t_start, t.t_end, t.speaker))
    if problems:
        log.warning("%s: %d malformed line(s) skipped", path.name, len(problems))
    return turns, problems


def _bare_name(value: str) -> bool:
    """A file name in the same folder: no separators, no '..', not absolute, not hidden."""
    return (
        bool(value)
        and value not in (".", "..")
        and "/" not in value
        and "\\" not in value
        and "\x00" not in value
        and not PurePosixPath(value).is_absolute()
        and not PureWindowsPath(value).drive
        and not value.startswith(".")
    )


def _depth(doc: object) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            stack += [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack += [(v, depth + 1) for v in value]
    return deepest


def _nesting_of_text(text: str) -> int:
    """Upper bound of the bracket nesting of JSON text (strings skipped), without parsing it."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0  # cannot be deeper than the limit: skip the character loop
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def read_metadata(
    path: str | Path, *, recording_name: str | None = None
) -> tuple[RecordingMetadata, list[str]]:
    """The JSON sidecar. Not JSON or not an object: empty metadata and a problem.

    A known key with the wrong type is dropped with a problem; the rest is still used.
    NaN/Infinity (not JSON, though Python's json accepts them) become null with a problem.
    `recording_name`: the recording the sidecar belongs to (so compare_with cannot name itself).
    """
    path = Path(path)
    text, problem = _read_text(path, "JSON")
    if text is None:
        return RecordingMetadata(), [problem] if problem else []
    if (depth := _nesting_of_text(text)) > MAX_JSON_DEPTH:
        return RecordingMetadata(), [
            f"The JSON sidecar {path.name} is nested {depth} levels deep (at most "
            f"{MAX_JSON_DEPTH}); it was ignored."
        ]
    constants: list[str] = []

    def non_finite(name: str) -> None:
        constants.append(name)
        return None

    try:
        doc = json.loads(text, parse_constant=non_finite)
    except json.JSONDecodeError as exc:
        return RecordingMetadata(), [
            f"The JSON sidecar {path.name} is not valid JSON (line {exc.lineno}: {exc.msg}); "
            "it was ignored."
        ]
    except RecursionError:  # belt and braces: _nesting_of_text should have caught it
        return RecordingMetadata(), [
            f"The JSON sidecar {path.name} is nested too deeply to read; it was ignored."
        ]
    if not isinstance(doc, dict):
        return RecordingMetadata(), [
            f"The JSON sidecar {path.name} must hold an object ({{...}}), not a "
            f"{type(doc).__name__}; it was ignored."
        ]
    if _depth(doc) > MAX_JSON_DEPTH:  # unreachable when the text check holds; cheap to be sure
        return RecordingMetadata(), [f"The JSON sidecar {path.name} is nested too deeply."]
    problems: list[str] = []
    if constants:
        problems.append(
            f"{path.name}: {', '.join(sorted(set(constants)))} is not a JSON number; "
            "it was stored as null."
        )

    def text_field(key: str) -> str | None:
        value = doc.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            if len(value.strip()) <= MAX_NAME_CHARS:
                return value.strip()
            problems.append(
                f"{path.name}: '{key}' is {len(value.strip())} characters long (at most "
                f"{MAX_NAME_CHARS}); it was ignored."
            )
            return None
        problems.append(f"{path.name}: '{key}' must be a non-empty string; it was ignored.")
        return None

    def str_map(key: str) -> dict[str, str]:
        value = doc.get(key)
        if value is None:
            return {}
        if isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
        ):
            long = [k for k, v in value.items() if max(len(k), len(v.strip())) > MAX_NAME_CHARS]
            if long or len(value) > MAX_SPEAKERS:
                problems.append(
                    f"{path.name}: '{key}' has more than {MAX_SPEAKERS} entries or names longer "
                    f"than {MAX_NAME_CHARS} characters; it was ignored."
                )
                return {}
            return {k: v.strip() for k, v in value.items()}
        problems.append(
            f"{path.name}: '{key}' must map names to non-empty strings; it was ignored."
        )
        return {}

    channels: dict[int, str] = {}
    for key, speaker in str_map("channels").items():
        if key.strip().isdigit():
            channels[int(key)] = speaker
        else:
            problems.append(
                f'{path.name}: channel {key!r} is not a channel number ("0", "1", ...); '
                "it was ignored."
            )

    compare_with = text_field("compare_with")
    if compare_with is not None and not _bare_name(compare_with):
        problems.append(
            f"{path.name}: compare_with must be the name of a file in the same folder, "
            f"not a path ({compare_with!r}); it was ignored."
        )
        compare_with = None
    elif compare_with is not None and compare_with == recording_name:
        problems.append(
            f"{path.name}: compare_with names the recording itself ({compare_with!r}); "
            "a take is compared with another recording, so it was ignored."
        )
        compare_with = None
    elif compare_with is not None and not (path.parent / compare_with).is_file():
        problems.append(
            f"{path.name}: compare_with names {compare_with!r}, which is not in the folder."
        )

    meta = RecordingMetadata(
        speaker=text_field("speaker"),
        team=text_field("team"),
        teams=str_map("teams"),
        channels=channels,
        compare_with=compare_with,
        extra={k: v for k, v in doc.items() if k not in KNOWN_KEYS},
        raw_json=json.dumps(doc, ensure_ascii=False, sort_keys=True, allow_nan=False),
    )
    return meta, problems
