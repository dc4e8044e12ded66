"""Small values handed from one op to the next inside a graph-backed asset (the model step's
plan of work units, each unit's summary), kept on the storage root so that the op that reads
one may run on another machine than the op that wrote it.

Each value is one object, `handoff/<run id>/<step key>/<output>[/<mapping key>].pickle`, written
whole (Storage.put_bytes: a rename on a folder, one PUT on S3). The values are this code's own
dataclasses and dicts, a few kilobytes a unit; a run's objects stay for re-execution from a
failed step and can be deleted with the run.
"""

from __future__ import annotations

import pickle
from typing import Any

from dagster import ConfigurableIOManager, InputContext, OutputContext

from emotion_assets.defs.common import not_retried
from emotion_assets.defs.resources import StorageResource
from emotion_assets.storage.store import StorageConfigError

PREFIX = "handoff"
# The resource key of the manager: the ops of the graph-backed assets name it on their outputs.
HANDOFF = "handoff_io_manager"


def handoff_key(identifier: list[str]) -> str:
    """`handoff/<run>/<step>/<output>[/<mapping>].pickle`: step keys hold `[` `]` and dots, and
    mapping keys only letters, digits and underscores, so every part is a safe name."""
    safe = [part.replace("[", "(").replace("]", ")") for part in identifier]
    return "/".join([PREFIX, *safe]) + ".pickle"


class HandoffIOManager(ConfigurableIOManager):
    """Op outputs that are not tables: pickled, one object each, on the storage root."""

    storage: StorageResource

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        with not_retried(StorageConfigError):
            self.storage.storage().put_bytes(
                handoff_key(context.get_identifier()), pickle.dumps(obj)
            )

    def load_input(self, context: InputContext) -> Any:
        key = handoff_key(context.upstream_output.get_identifier())
        with not_retried(StorageConfigError):
            return pickle.loads(self.storage.storage().get_bytes(key))
