"""Storage roots for the storage tests: the real S3 server (SeaweedFS) and a local folder."""

from __future__ import annotations

import pytest

from emotion_assets.settings import StorageSettings
from emotion_assets.storage import Storage


def s3_settings(s3_server, url: str, **overrides) -> StorageSettings:
    values = {
        "storage_url": url,
        "aws_endpoint_url": s3_server.endpoint_url,
        "aws_access_key_id": s3_server.access_key_id,
        "aws_secret_access_key": s3_server.secret_access_key,
        "aws_region": s3_server.region,
        **overrides,
    }
    return StorageSettings(**values)


@pytest.fixture
def s3_storage(s3_server, s3_bucket) -> Storage:
    storage = Storage.from_settings(s3_settings(s3_server, f"s3://{s3_bucket}/emotion"))
    storage.validate()
    return storage


@pytest.fixture(params=["local", "s3"])
def any_storage(request, tmp_path) -> Storage:
    """The same contract on both backends."""
    if request.param == "local":
        return Storage.from_settings(StorageSettings(storage_url=str(tmp_path / "root")))
    return request.getfixturevalue("s3_storage")
