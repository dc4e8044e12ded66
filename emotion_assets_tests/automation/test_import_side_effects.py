"""Importing the package changes nothing global; settings reach the pipeline as an object, never
through os.environ (issue 26, item 4)."""

from __future__ import annotations

import ast
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from emotion_assets.defs.in_process import run_day
from emotion_assets.foundation.quiet import QUIET_LOGGERS, QUIET_WARNINGS

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "emotion_assets"

# A fresh interpreter: the levels of the loggers quiet.py lowers, and whether any of its warning
# filters is set, after importing the modules a library user (or a test) imports first.
PROBE = f"""
import logging, warnings
import emotion_assets, emotion_assets.settings, emotion_assets.defs.in_process
import emotion_assets.definitions
levels = [logging.getLogger(n).level for n in {QUIET_LOGGERS!r}]
ours = [f for f in warnings.filters if f[1] is not None and f[1].pattern in {QUIET_WARNINGS!r}]
print(levels, ours)
"""


def test_importing_the_package_leaves_logging_and_warnings_alone() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"{[logging.NOTSET] * len(QUIET_LOGGERS)} []"


def test_a_day_run_in_this_process_writes_no_setting_into_the_environment(
    pipeline_env: Path, shared_audio: Path, tmp_path: Path
) -> None:
    clip = shared_audio / "speech" / "librispeech_198-209-0000.ogg"
    elsewhere = tmp_path / "elsewhere"  # not EMOTION_DATA_DIR: the run is told its folder
    (elsewhere / "raw" / "2024-06-03").mkdir(parents=True)
    shutil.copyfile(clip, elsewhere / "raw" / "2024-06-03" / clip.name)
    before = dict(os.environ)
    outcome = run_day(elsewhere, "2024-06-03")
    assert outcome["success"]
    assert (elsewhere / "warehouse.duckdb").is_file()  # the data dir given was the one used
    assert not (pipeline_env / "warehouse.duckdb").exists()
    ours = {k for k in {*before, *os.environ} if k.startswith("EMOTION_")}  # libraries set theirs
    changed = {k for k in ours if before.get(k) != os.environ.get(k)}
    assert changed == set()


def test_no_module_writes_our_settings_into_the_environment() -> None:
    # os.environ["EMOTION_..."] = ... and os.environ.update(...) (which took a whole dict of
    # them in the stack): a setting goes to the code that needs it as an object.
    writes = []
    for source in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if (
                    isinstance(target, ast.Subscript)
                    and "environ" in ast.unparse(target.value)
                    and "EMOTION_" in ast.unparse(target.slice)
                ):
                    writes.append(f"{source.relative_to(REPO)}:{node.lineno}")
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(
                ("environ.update", "putenv")
            ):
                writes.append(f"{source.relative_to(REPO)}:{node.lineno}")
    assert writes == []
