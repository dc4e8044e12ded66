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


def test_type_checkers_see_exactly_the_lazy_names_from_their_submodules() -> None:
    """Three lists name the exports (ruff and type checkers read only literal __all__ and
    TYPE_CHECKING imports): they must agree with _EXPORTS, which serves them at run time."""
    import ast
    import importlib
    from pathlib import Path

    for package in ("emotion_assets.engine", "emotion_assets.reports"):
        module = importlib.import_module(package)
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        (block,) = [
            n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
        ]
        seen = {
            alias.name: node.module.rsplit(".", 1)[-1]
            for node in block.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert seen == module._EXPORTS, package
        assert sorted(module.__all__) == sorted(seen), package
