"""DuckDB extensions loaded without a network, and the S3 secret built from the settings.

Extension binaries come from the `duckdb-extension-<name>` wheels (fts, httpfs; the bench's ducklake,
delta, iceberg), whose version must equal the installed duckdb's (their files live under extensions/v<version>/).
Loading by path is the documented offline way (`LOAD '<file>'`): nothing is downloaded. The
`delta` extension, which the views of the work units' tables need, is INSTALLed from its file
once (`install_offline`), so that analysts' own DuckDB connections autoload it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import duckdb

if TYPE_CHECKING:
    from emotion_assets.settings import StorageSettings

S3_SECRET = "emotion_storage"


class ExtensionUnavailable(RuntimeError):
    """An extension cannot be loaded offline; the message says what to install."""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def extension_file(name: str) -> Path:
    """`<name>.duckdb_extension` matching the installed duckdb, from its wheel."""
    version = duckdb.__version__
    package = f"duckdb-extension-{name}=={version}"
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or spec.origin is None:
        raise ExtensionUnavailable(
            f"DuckDB's {name} extension is not installed: pip install {package}."
        )
    folder = Path(spec.origin).parent / "extensions"
    target = folder / f"v{version}" / f"{name}.duckdb_extension"
    if not target.is_file():
        shipped = ", ".join(sorted(p.name.lstrip("v") for p in folder.glob("v*"))) or "none"
        raise ExtensionUnavailable(
            f"duckdb-extension-{name} ships the {name} extension for DuckDB {shipped}, but "
            f"DuckDB {version} is installed; install the same version of both."
        )
    return target


def load_offline(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """LOAD `name` on `con`: an extension DuckDB already has, else the wheel's file."""
    try:
        con.execute(f"LOAD {name}")
        return
    except duckdb.Error:
        pass
    con.execute(f"LOAD {_quote(str(extension_file(name)))}")


def install_offline(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """LOAD `name` on `con`, first INSTALLing the wheel's file into DuckDB's extension folder
    (~/.duckdb/extensions by default) when it is not there.

    Installed, the extension autoloads in any DuckDB of this version on this machine: an
    analyst's plain `duckdb.connect('data/warehouse.duckdb')` reads the views that need it.
    """
    try:
        con.execute(f"LOAD {name}")
        return
    except duckdb.Error:
        pass
    path = _quote(str(extension_file(name)))
    try:
        con.execute(f"INSTALL {path}")
        con.execute(f"LOAD {name}")
    except duckdb.Error:  # an extension folder we may not write: this connection only
        con.execute(f"LOAD {path}")


def create_s3_secret(con: duckdb.DuckDBPyConnection, storage: StorageSettings) -> None:
    """httpfs plus a temporary S3 secret from the same settings the pipeline uses (AWS_*).

    Temporary: it lives in this connection only and is never written to disk. A custom
    endpoint (SeaweedFS, MinIO) gets path-style URLs; TLS follows the endpoint's scheme.
    """
    load_offline(con, "httpfs")
    options = {"TYPE": "s3", "REGION": _quote(storage.aws_region)}
    if storage.aws_access_key_id:
        options["KEY_ID"] = _quote(storage.aws_access_key_id)
        options["SECRET"] = _quote(storage.aws_secret_access_key.get_secret_value())
    if token := storage.aws_session_token.get_secret_value():
        options["SESSION_TOKEN"] = _quote(token)
    if storage.aws_endpoint_url:
        endpoint = urlsplit(storage.aws_endpoint_url)
        options["ENDPOINT"] = _quote(endpoint.netloc)
        options["URL_STYLE"] = "'path'"
        options["USE_SSL"] = "true" if endpoint.scheme == "https" else "false"
    body = ", ".join(f"{key} {value}" for key, value in options.items())
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET {S3_SECRET} ({body})")
