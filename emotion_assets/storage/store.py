"""One storage root, a local folder or an S3 bucket prefix, addressed by relative keys.

Keys are POSIX paths relative to the root ("lake/frames/recording_date=2024-06-03/data.parquet",
"processed/2024-06-03/a_t0.wav"): tables and steps hand each other keys, never absolute local
paths, so a worker on another machine resolves them against the same root.

Atomicity: locally a put is atomic_files' temp file + fsync + rename; on S3 it is one
PutObject of the complete body (S3 makes an object visible only once its PUT completes, and a
single PUT has no parts that a killed writer could leave half-written). A reader therefore sees
the old object or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from emotion_assets.foundation.atomic_files import write_atomically, write_bytes_atomically

if TYPE_CHECKING:
    from emotion_assets.settings import StorageSettings

# S3 accepts one PUT of up to 5 GiB; anything larger would need a multipart upload.
MAX_SINGLE_PUT_BYTES = 5 * 1024**3


class StorageError(RuntimeError):
    """The storage root cannot be used; the message is one sentence naming the setting to fix."""


class StorageConfigError(StorageError):
    """A setting is wrong (no such bucket, refused credentials, a folder that can't be made):
    trying again cannot help, so runs fail at once instead of retrying. An unreachable
    endpoint stays a plain StorageError: a server that restarts answers the next try."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the root
    size: int
    version: str  # S3: the ETag; local: the mtime in ns (changes whenever the content may have)


def check_key(key: str) -> str:
    """A relative POSIX key that stays under the root, else ValueError."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or "\\" in key:
        raise ValueError(f"a storage key must be a relative path under the root: {key!r}")
    return path.as_posix()


def _hidden(key: str) -> bool:
    """Temp files (".name.pid.xxxx.tmp") and other dot-files are never part of the data."""
    return any(part.startswith(".") for part in PurePosixPath(key).parts)


class Storage:
    """The root every artifact lives under; see the module docstring."""

    def __init__(
        self, url: str, *, local_root: Path | None = None, fs: Any = None, endpoint: str = ""
    ) -> None:
        self.url = url
        self.endpoint = endpoint or "AWS S3"  # what people see: a folder or s3://bucket/prefix
        self._local = Path(local_root).resolve() if local_root is not None else None
        self._fs = fs
        self.settings: StorageSettings | None = None
        if self._local is None:
            rest = url[len("s3://") :].strip("/")
            self.bucket, _, prefix = rest.partition("/")
            self.prefix = prefix.strip("/")

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings: StorageSettings) -> Storage:
        storage = cls._from_settings(settings)
        storage.settings = settings  # DuckDB's S3 secret is built from the same settings
        return storage

    @classmethod
    def _from_settings(cls, settings: StorageSettings) -> Storage:
        url = settings.storage_url
        if not url:
            return cls(str(settings.data_dir), local_root=settings.data_dir)
        if url.startswith("file://"):
            return cls(url, local_root=Path(url[len("file://") :]).expanduser())
        if not url.startswith("s3://"):
            return cls(url, local_root=Path(url).expanduser())
        import s3fs

        fs = s3fs.S3FileSystem(
            key=settings.aws_access_key_id or None,
            secret=settings.aws_secret_access_key.get_secret_value() or None,
            token=settings.aws_session_token.get_secret_value() or None,
            endpoint_url=settings.aws_endpoint_url or None,
            client_kwargs={"region_name": settings.aws_region},
            # Fail in seconds, not after botocore's minutes of retries, on a wrong endpoint.
            config_kwargs={"connect_timeout": 5, "retries": {"max_attempts": 2}},
            use_listings_cache=False,  # another worker may have written since the last look
            skip_instance_cache=True,
        )
        return cls(url.rstrip("/"), fs=fs, endpoint=settings.aws_endpoint_url)

    @property
    def is_local(self) -> bool:
        return self._local is not None

    @property
    def local_root(self) -> Path | None:
        return self._local

    def shares(self, scratch: Path) -> bool:
        """True when the root is the scratch folder itself: nothing to copy either way."""
        return self._local is not None and self._local == Path(scratch).resolve()

    # --- addresses ------------------------------------------------------------------------
    def _s3_key(self, key: str) -> str:
        key = check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _local_path(self, key: str) -> Path:
        assert self._local is not None
        return self._local / check_key(key)

    def uri(self, key: str = "") -> str:
        """What DuckDB or a person opens: an absolute local path or s3://bucket/prefix/key."""
        if self._local is not None:
            return (self._local / key).as_posix() if key else self._local.as_posix()
        if not key:
            return f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"s3://{self.bucket}/{self._s3_key(key)}"

    # --- reads ----------------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        if self._local is not None:
            return self._local_path(key).is_file()
        return self._call(lambda: self._fs.isfile(f"{self.bucket}/{self._s3_key(key)}"))

    def get_bytes(self, key: str) -> bytes:
        if self._local is not None:
            return self._local_path(key).read_bytes()
        return self._call(lambda: self._fs.cat_file(f"{self.bucket}/{self._s3_key(key)}"))

    def info(self, key: str) -> ObjectInfo | None:
        """Size and version of one object, None when there is none."""
        if self._local is not None:
            try:
                st = self._local_path(key).stat()
            except FileNotFoundError:
                return None
            return ObjectInfo(check_key(key), st.st_size, str(st.st_mtime_ns))
        try:
            meta = self._call(
                lambda: self._fs.info(f"{self.bucket}/{self._s3_key(key)}", refresh=True)
            )
        except FileNotFoundError:
            return None
        if meta.get("type") != "file":
            return None
        return ObjectInfo(check_key(key), int(meta["size"]), str(meta.get("ETag", "")).strip('"'))

    def list(self, prefix: str) -> dict[str, ObjectInfo]:
        """Every object under `prefix` (recursively), by key; temp and dot-files left out."""
        prefix = check_key(prefix.strip("/"))
        found: dict[str, ObjectInfo] = {}
        if self._local is not None:
            base = self._local / prefix
            if not base.is_dir():
                return {}
            for path in sorted(base.rglob("*")):
                key = path.relative_to(self._local).as_posix()
                if _hidden(key[len(prefix) :]):
                    continue
                try:
                    st = path.lstat()
                except FileNotFoundError:  # removed while we looked
                    continue
                if path.is_file() and not path.is_symlink():
                    found[key] = ObjectInfo(key, st.st_size, str(st.st_mtime_ns))
            return found
        root = f"{self.bucket}/{self._s3_key(prefix)}"
        strip = f"{self.bucket}/{self.prefix}/" if self.prefix else f"{self.bucket}/"
        listing = self._call(lambda: self._fs.find(root, detail=True))
        for path, meta in sorted(listing.items()):
            key = path[len(strip) :]
            if meta.get("type") != "file" or _hidden(key[len(prefix) :]):
                continue
            found[key] = ObjectInfo(key, int(meta["size"]), str(meta.get("ETag", "")).strip('"'))
        return found

    def local_copy(self, key: str, scratch: Path) -> Path:
        """`scratch/key` holding the object's content, for libraries that need a path.

        Copied (atomically) from the root, a folder or S3, unless the copy there already has the
        object's size and is newer than the object. A root that is the scratch folder itself
        (`shares`) has nothing to copy: the file is returned in place.
        """
        target = Path(scratch) / check_key(key)
        if self._local is not None:
            source = self._local_path(key)
            if self.shares(scratch):
                return source
            st = source.stat()
            size, modified = st.st_size, st.st_mtime
        else:
            remote = self._call(
                lambda: self._fs.info(f"{self.bucket}/{self._s3_key(key)}", refresh=True)
            )
            stamp = remote.get("LastModified")
            size = int(remote["size"])
            modified = stamp.timestamp() if isinstance(stamp, dt.datetime) else None
        if target.is_file():
            st = target.stat()
            if st.st_size == size and modified is not None and st.st_mtime >= modified:
                os.utime(target)  # in use: prune_scratch measures age from the last use
                return target
        if self._local is not None:
            write_atomically(target, lambda tmp: shutil.copyfile(source, tmp))
        else:
            remote_path = f"{self.bucket}/{self._s3_key(key)}"
            write_atomically(
                target, lambda tmp: self._call(lambda: self._fs.get_file(remote_path, tmp))
            )
        return target

    # --- writes ---------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes) -> None:
        """Replace the object `key` with `data`, whole (see the module docstring)."""
        if self._local is not None:
            write_bytes_atomically(self._local_path(key), data)
            return
        self._put(key, data)

    def put_file(self, key: str, source: Path) -> None:
        """Replace the object `key` with the content of the local file `source`, whole."""
        source = Path(source)
        if self._local is not None:
            target = self._local_path(key)
            if target.exists() and os.path.samefile(target, source):
                return
            write_atomically(target, lambda tmp: shutil.copyfile(source, tmp))
            return
        size = source.stat().st_size
        if size > MAX_SINGLE_PUT_BYTES:
            raise StorageError(
                f"{source} is {size:,} bytes, more than one S3 PUT takes (5 GiB); split the "
                "recording before it reaches the pipeline."
            )
        with source.open("rb") as body:
            self._put(key, body)

    def _put(self, key: str, body: Any) -> None:
        s3_key = self._s3_key(key)
        # One PutObject: S3 publishes the object only when the whole body has arrived.
        self._call(
            lambda: self._fs.call_s3("put_object", Bucket=self.bucket, Key=s3_key, Body=body)
        )

    def delete(self, key: str) -> None:
        """Remove the object `key` (nothing happens when it is already gone)."""
        if self._local is not None:
            with contextlib.suppress(FileNotFoundError):
                self._local_path(key).unlink()
            return
        s3_key = self._s3_key(key)
        self._call(lambda: self._fs.call_s3("delete_object", Bucket=self.bucket, Key=s3_key))

    # --- configuration errors -------------------------------------------------------------
    def validate(self) -> None:
        """Raise StorageError (one sentence) unless the root can be listed and written.

        Called when the storage is first used by a run, the sensor or the warehouse CLI, so a
        wrong endpoint, wrong credentials or a missing bucket is named before any work starts.
        """
        if self._local is not None:
            try:
                self._local.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageConfigError(
                    f"The storage folder {self._local} cannot be created ({exc.strerror}); "
                    "set EMOTION_STORAGE_URL to a folder you can write."
                ) from exc
            return
        self._call(lambda: self._fs.call_s3("head_bucket", Bucket=self.bucket))

    def _call(self, action: Any) -> Any:
        """Run an S3 action; configuration problems become one StorageError sentence."""
        try:
            return action()
        except FileNotFoundError:
            if not self._bucket_exists():
                raise self._missing_bucket() from None
            raise
        except Exception as exc:  # noqa: BLE001 - botocore, aiohttp and s3fs errors vary
            raise self._explain(exc) from exc

    def _bucket_exists(self) -> bool:
        try:
            self._fs.call_s3("head_bucket", Bucket=self.bucket)
        except FileNotFoundError:
            return False
        except Exception:  # noqa: BLE001 - other problems are explained by the caller
            return True
        return True

    def _missing_bucket(self) -> StorageError:
        return StorageConfigError(
            f"The bucket {self.bucket!r} of EMOTION_STORAGE_URL={self.url} does not exist at "
            f"{self.endpoint}; create it or fix the bucket name."
        )

    def _explain(self, exc: Exception) -> Exception:
        text = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, StorageError):
            return exc
        if isinstance(exc, PermissionError) or any(
            code in text
            for code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403")
        ):
            return StorageConfigError(
                f"The S3 server at {self.endpoint} refused the credentials for "
                f"{self.url}; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
            )
        if "NoSuchBucket" in text or "404" in text:
            return self._missing_bucket()
        if any(
            word in text
            for word in ("EndpointConnectionError", "Could not connect", "ConnectionError",
                         "Connect timeout", "ConnectTimeout", "Cannot connect")
        ):  # fmt: skip
            return StorageError(
                f"The S3 endpoint {self.endpoint} cannot be reached for {self.url}; check "
                "AWS_ENDPOINT_URL and that the server is running."
            )
        return exc
