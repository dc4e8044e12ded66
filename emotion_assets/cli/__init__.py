"""`emotion-assets COMMAND ...`: the project's one command line (docs/operations.md).

Each command lives in its own module here and is imported only when it runs, so `emotion-assets
worker` does not pay for the web page's imports, nor `emotion-assets sql` for torch.
"""

from __future__ import annotations

import importlib
import sys

# command -> (module under emotion_assets.cli, one line of help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "copy the bundled samples into today's folder, run everything, show tables"),
    "analyze": ("analyze", "score the emotions of one audio file into an outputs folder"),
    "serve": ("serve", "the web page for one recording (docs/app.md)"),
    "sql": ("sql", "query the warehouse read-only; --check the lake; --refresh the views"),
    "instance": ("instance", "write $DAGSTER_HOME/dagster.yaml (SQLite or PostgreSQL storage)"),
    "worker": ("worker", "start a Celery worker for the cpu or the gpu queue"),
    "worker-config": ("worker", "print a Celery worker's config file (YAML)"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    return "usage: emotion-assets COMMAND [ARGS]  (COMMAND --help for its options)\n\n" + (
        "\n".join(lines)
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"emotion-assets: unknown command {name!r}.\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")
    if name == "worker-config":
        return module.print_config(rest)
    return module.main(rest)
