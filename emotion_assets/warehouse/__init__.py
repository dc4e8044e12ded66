"""The warehouse: a Parquet lake partitioned by recording date, and DuckDB views over it.

Each partition of each table is one Parquet file, replaced atomically, so any number of processes
can write different partitions at once and analysts can read while they do. The DuckDB file only
holds views; it is opened for writing only when a table's schema changes.
"""

from emotion_assets.warehouse.lake import (
    list_tables,
    partition_file,
    read_partitions,
    write_partitions,
)
from emotion_assets.warehouse.views import connect_readonly, ensure_views

__all__ = [
    "connect_readonly",
    "ensure_views",
    "list_tables",
    "partition_file",
    "read_partitions",
    "write_partitions",
]
