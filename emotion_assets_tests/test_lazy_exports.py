"""lazy_exports: a package's names resolve from their submodules on first use, once."""

from __future__ import annotations

import subprocess
import sys


def test_names_load_their_submodule_on_first_use_and_unknown_names_fail() -> None:
    script = (
        "import sys\n"
        "import emotion_assets.reports as reports\n"
        "before = 'emotion_assets.reports.render' in sys.modules\n"
        "files = reports.ReportFiles\n"
        "after = 'emotion_assets.reports.render' in sys.modules\n"
        "cached = 'ReportFiles' in vars(reports)\n"
        "try:\n"
        "    reports.no_such_name\n"
        "    unknown = 'found'\n"
        "except AttributeError as exc:\n"
        "    unknown = str(exc)\n"
        "print(before, after, cached, files.__module__, unknown, sep='|')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    before, after, cached, module, unknown = out.stdout.strip().splitlines()[-1].split("|")
    assert (before, after, cached) == ("False", "True", "True")
    assert module == "emotion_assets.reports.render"
    assert unknown == "module 'emotion_assets.reports' has no attribute 'no_such_name'"
