"""Write $DAGSTER_HOME/dagster.yaml: the shipped instance config, SQLite or PostgreSQL storage.

`deploy/dagster.yaml` holds the rules every deployment shares (run queue, pools, monitoring);
`deploy/postgres-storage.yaml` adds PostgreSQL storage for a shared deployment. Both live in the
repository (the code location image copies it), so this works from a checkout or the image.

    emotion-assets instance DAGSTER_HOME [--postgres]
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from emotion_assets.foundation.atomic_files import write_atomically

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BASE = DEPLOY / "dagster.yaml"
POSTGRES = DEPLOY / "postgres-storage.yaml"
POSTGRES_VARIABLES = (
    "DAGSTER_PG_USERNAME",
    "DAGSTER_PG_PASSWORD",
    "DAGSTER_PG_HOST",
    "DAGSTER_PG_PORT",
    "DAGSTER_PG_DB",
)


def instance_yaml(*, postgres: bool) -> str:
    text = BASE.read_text()
    if postgres:
        text = text.rstrip("\n") + "\n\n" + POSTGRES.read_text()
    return text


def postgres_env(url: str) -> dict[str, str]:
    """The DAGSTER_PG_* variables for a postgresql://user[:password]@host[:port]/db URL."""
    parts = urlsplit(url)
    if (
        parts.scheme.split("+")[0] != "postgresql"
        or not parts.hostname
        or not parts.path.strip("/")
    ):
        raise ValueError(f"not a postgresql://user@host:port/database URL: {url!r}")
    values = (
        unquote(parts.username or "postgres"),
        unquote(parts.password or "unused"),  # trust auth ignores it; the config requires one
        parts.hostname,
        str(parts.port or 5432),
        parts.path.strip("/"),
    )
    return dict(zip(POSTGRES_VARIABLES, values, strict=True))


def write_instance(home: Path, *, postgres: bool) -> Path:
    """Write (atomically) `home`/dagster.yaml and return its path."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    write_atomically(target, lambda tmp: tmp.write_text(instance_yaml(postgres=postgres)))
    return target
