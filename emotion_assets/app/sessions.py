"""Each visitor's files on the page's server: served only to the browser that made them, a
session's folder deleted when the session ends.

A browser is known by a random cookie (VISITOR_COOKIE, set by SessionFileGuard on its first
request). Gradio keeps every file in one folder (GRADIO_TEMP_DIR, `root` here): its uploads,
named by a keyed hash of their content, and `sessions/<128 random bits>/`, the folder of one
session (one page load: Gradio's session hash), owned by its browser. SessionFileGuard, an ASGI
middleware in front of Gradio's routes, notes who uploaded what and answers 404 to a request for
a file under `root` that is not the requesting browser's, whatever path it names. Plain Python
and the ASGI protocol: no Gradio import.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

VISITOR_COOKIE = "emotion_visitor"
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
FILE_ROUTE = "/file="  # Gradio serves files at <root>/gradio_api/file=<path>
UPLOAD_ROUTE = "/gradio_api/upload"  # answers with the JSON list of the files' paths


@dataclass(frozen=True)
class _Folder:
    path: Path
    visitor: str


class SessionFiles:
    """Which browser owns each file under `root`: the sessions' folders and the uploads."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.sessions = self.root / "sessions"
        self.sessions.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._by_session: dict[str, _Folder] = {}
        self._by_token: dict[str, _Folder] = {}
        self._uploads: dict[Path, set[str]] = {}  # the same bytes uploaded twice: one file

    def open(self, session: str, visitor: str) -> Path:
        """The session's folder (made on first use), emptied of an earlier analysis."""
        with self._lock:
            folder = self._by_session.get(session)
            if folder is not None and folder.visitor != visitor:  # its cookie was cleared
                self._by_token.pop(folder.path.name, None)
                shutil.rmtree(folder.path, ignore_errors=True)
                folder = None
            if folder is None:
                token = secrets.token_hex(16)
                folder = _Folder(self.sessions / token, visitor)
                self._by_session[session] = folder
                self._by_token[token] = folder
        shutil.rmtree(folder.path, ignore_errors=True)
        folder.path.mkdir()
        return folder.path

    def is_live(self, path: Path) -> bool:
        """Whether `path` is the folder of a session that has not ended."""
        with self._lock:
            folder = self._by_token.get(Path(path).name)
        return folder is not None and folder.path == Path(path)

    def end(self, session: str) -> None:
        """The session ended (tab closed or reloaded): its folder and files are deleted."""
        with self._lock:
            folder = self._by_session.pop(session, None)
            if folder is not None:
                self._by_token.pop(folder.path.name, None)
        if folder is not None:
            shutil.rmtree(folder.path, ignore_errors=True)

    def claim_uploads(self, paths: list[str], visitor: str) -> None:
        with self._lock:
            for gone in [p for p in self._uploads if not p.exists()]:  # swept by Gradio
                del self._uploads[gone]
            for path in paths:
                self._uploads.setdefault(Path(os.path.realpath(path)), set()).add(visitor)

    def may_read(self, path: str, visitor: str | None) -> bool:
        """A file outside `root` is Gradio's business (its own assets); one inside only its
        owner's."""
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(self.root):
            return True
        if visitor is None:
            return False
        with self._lock:
            if real.is_relative_to(self.sessions) and real != self.sessions:
                folder = self._by_token.get(real.relative_to(self.sessions).parts[0])
                return folder is not None and folder.visitor == visitor
            return visitor in self._uploads.get(real, ())


def visitor_of(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The browser's id from its Cookie header, when it carries a well-formed one."""
    for key, value in headers:
        if key.lower() == b"cookie":
            morsel = SimpleCookie(value.decode("latin-1")).get(VISITOR_COOKIE)
            if morsel is not None and _VISITOR.match(morsel.value):
                return morsel.value
    return None


class SessionFileGuard:
    """ASGI middleware: every browser gets a visitor cookie, and files go only to their owner.

    The visitor id travels in scope["state"]["visitor"] (gr.Request.state.visitor in handlers),
    also on a browser's very first request, before it has stored the cookie.
    """

    def __init__(self, app, *, files: SessionFiles) -> None:
        self.app = app
        self.files = files

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        visitor = visitor_of(scope["headers"])
        fresh = visitor is None
        if fresh:
            visitor = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["visitor"] = visitor
        _, route, path = scope["path"].partition(FILE_ROUTE)  # already percent-decoded
        if route and not self.files.may_read(path, None if fresh else visitor):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"Not found"})
            return
        uploading = scope["method"] == "POST" and scope["path"].endswith(UPLOAD_ROUTE)
        if not (fresh or uploading):
            # Everything else passes untouched: Gradio's event streams (queue, heartbeat,
            # upload progress) hung the page's uploads now and then when their sends were wrapped.
            await self.app(scope, receive, send)
            return
        status, body = 0, bytearray()

        async def send_noting(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if fresh:
                    cookie = f"{VISITOR_COOKIE}={visitor}; Path=/; HttpOnly; SameSite=Lax"
                    headers = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
                    message = {**message, "headers": headers}
            elif uploading and status == 200 and message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):  # before the browser can ask for the files
                    self.files.claim_uploads(_paths(bytes(body)), visitor)
            await send(message)

        await self.app(scope, receive, send_noting)


def _paths(body: bytes) -> list[str]:
    try:
        paths = json.loads(body)
    except ValueError:
        return []
    return [p for p in paths if isinstance(p, str)] if isinstance(paths, list) else []
