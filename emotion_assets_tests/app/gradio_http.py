"""A visitor of the page over plain HTTP: what the browser's Gradio client does, with httpx.

Its cookie jar is the browser's; it uploads, calls the page's events through Gradio's queue
(sse_v3) and holds the heartbeat that keeps its session alive (closing it ends the session).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx


class Visitor:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=300)
        self.http.get("/")  # the page, as a browser loads it first
        self.session = secrets.token_hex(6)
        self.config = self.http.get("/config").json()
        self._heart = threading.Thread(target=self._beat, daemon=True)
        self._heart.start()

    def _beat(self) -> None:
        try:
            with self.http.stream("GET", f"/gradio_api/heartbeat/{self.session}") as stream:
                for _ in stream.iter_bytes():
                    pass
        except httpx.HTTPError:  # closed by leave()
            pass

    def upload(self, path: Path) -> dict:
        with open(path, "rb") as handle:
            response = self.http.post("/gradio_api/upload", files={"files": handle})
        response.raise_for_status()
        (server_path,) = response.json()
        return {"path": server_path, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def call(self, api_name: str, data: list) -> list:
        """Run the page's event `api_name` with `data`; its outputs' final values."""
        (dep,) = [d for d in self.config["dependencies"] if d.get("api_name") == api_name]
        body = {
            "data": data,
            "fn_index": dep["id"],
            "trigger_id": dep["targets"][0][0],
            "session_hash": self.session,
            "event_data": None,
        }
        self.http.post("/gradio_api/queue/join", json=body).raise_for_status()
        with self.http.stream(
            "GET", "/gradio_api/queue/data", params={"session_hash": self.session}
        ) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message["msg"] == "process_completed":
                    assert message["success"], message
                    return message["output"]["data"]
        raise AssertionError(f"{api_name} did not complete")

    def get(self, url: str) -> httpx.Response:
        return self.http.get(url)

    def leave(self) -> None:
        """Close the tab: the heartbeat connection ends, and with it the session."""
        self.http.close()
        self._heart.join(30)


def file_urls(outputs: list) -> Iterator[str]:
    """The URLs of every file in a Gradio event's outputs (downloads, players, pictures)."""
    if isinstance(outputs, dict):
        if outputs.get("url") and outputs.get("path"):
            yield outputs["url"]
        for value in outputs.values():
            yield from file_urls(value)
    elif isinstance(outputs, list):
        for value in outputs:
            yield from file_urls(value)
