"""A tiny local stand-in for the Hugging Face hub, for download tests without network.

It serves the endpoints `huggingface_hub.snapshot_download` uses (huggingface_hub 2.x):

- ``GET /api/{type}s/{repo}/revision/{rev}``: repo info with the commit ``sha``;
- ``GET /api/{type}s/{repo}/tree/{rev}[/{path}]?recursive=..``: the file listing, paginated
  with a ``Link: <...>; rel="next"`` header like the hub;
- ``HEAD|GET /{type}s/{repo}/resolve/{rev}/{file}``: file metadata (``X-Repo-Commit``, ``ETag``)
  and content, honouring ``Range: bytes=N-`` with ``206``.

Files above `lfs_threshold` bytes are listed as LFS (``lfs.oid`` = sha256, ETag = sha256),
smaller ones as git blobs (``oid`` = git blob sha1). `drop_once` makes the first GET of a file
send only part of the body and close the connection, to exercise resuming; a file in `broken`
answers with its HTTP status (5xx are retried by the client with backoff, 403 is not); a file
in `stall` sends half its body and hangs until `release` is set.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["FakeHub", "serve"]


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeHub:
    """Repository content and a request log shared with the HTTP handler."""

    repo_id: str
    files: dict[str, bytes]
    repo_type: str = "dataset"
    commit: str = "0123456789abcdef0123456789abcdef01234567"
    page_size: int = 1000
    lfs_threshold: int = 64
    drop_once: dict[str, int] = field(default_factory=dict)
    broken: dict[str, int] = field(default_factory=dict)
    stall: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    log: list[tuple[str, str, str | None]] = field(default_factory=list)
    url: str = ""

    def gets(self, kind: str = "resolve") -> list[str]:
        """Paths of the successful GET requests to an endpoint kind (``resolve``, ``tree``)."""
        return [p for m, p, _ in self.log if m == "GET" and f"/{kind}/" in p]

    def downloaded(self) -> list[str]:
        """Repository files fetched by GET, in request order."""
        marker = f"/resolve/{self.commit}/"
        return [unquote(p.split(marker, 1)[1]) for p in self.gets() if marker in p]

    def entry(self, path: str) -> dict:
        data = self.files[path]
        out = {"type": "file", "path": path, "size": len(data), "oid": git_blob_id(data)}
        if len(data) > self.lfs_threshold:
            sha = hashlib.sha256(data).hexdigest()
            out["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 134}
        return out

    def tree(self, prefix: str, recursive: bool) -> list[dict]:
        prefix = prefix.strip("/")
        entries, folders = [], set()
        for path in sorted(self.files):
            if prefix and not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1 :] if prefix else path
            parts = rest.split("/")
            for i in range(1, len(parts)):
                folder = "/".join(([prefix] if prefix else []) + parts[:i])
                if (recursive or i == 1) and folder not in folders:
                    folders.add(folder)
                    entries.append({"type": "directory", "path": folder, "oid": "0" * 40})
            if recursive or len(parts) == 1:
                entries.append(self.entry(path))
        return entries


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: FakeHub

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):  # a client killed by a test
            pass

    def _json(self, obj: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _not_found(self, code: str) -> None:
        body = json.dumps({"error": f"{code}: {self.path}"}).encode()
        self.send_response(404)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", f"{code}: {self.path}")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int) -> None:
        self.send_response(status)
        self.send_header("X-Error-Message", f"fake hub refuses {self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self._route()

    def do_GET(self) -> None:
        self._route()

    def _route(self) -> None:
        hub = self.hub
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        hub.log.append((self.command, self.path, self.headers.get("Range")))
        api = f"/api/{hub.repo_type}s/{hub.repo_id}/"
        prefix = "" if hub.repo_type == "model" else f"{hub.repo_type}s/"
        resolve = f"/{prefix}{hub.repo_id}/resolve/"
        revs = {hub.commit, "main"}
        if url.path == api.rstrip("/") or url.path.startswith(api + "revision/"):
            if unquote(url.path[len(api + "revision/") :] or "main") not in revs:
                return self._not_found("RevisionNotFound")
            return self._json({"id": hub.repo_id, "sha": hub.commit, "private": False})
        if url.path.startswith(api + "tree/"):
            rev, _, sub = unquote(url.path[len(api + "tree/") :]).partition("/")
            if rev not in revs:
                return self._not_found("RevisionNotFound")
            entries = hub.tree(sub, query.get("recursive", ["false"])[0].lower() == "true")
            start = int(query.get("cursor", ["0"])[0])
            page = entries[start : start + hub.page_size]
            headers = {}
            if start + hub.page_size < len(entries):
                nxt = f"{hub.url}{url.path}?recursive={query.get('recursive', ['false'])[0]}"
                headers["Link"] = f'<{nxt}&cursor={start + hub.page_size}>; rel="next"'
            return self._json(page, headers)
        if url.path.startswith(resolve):
            rev, _, name = unquote(url.path[len(resolve) :]).partition("/")
            if rev not in revs:
                return self._not_found("RevisionNotFound")
            if name not in hub.files:
                return self._not_found("EntryNotFound")
            if name in hub.broken:
                return self._error(hub.broken[name])
            return self._file(name)
        return self._not_found("RepoNotFound")

    def _file(self, name: str) -> None:
        hub, data = self.hub, self.hub.files[name]
        entry = hub.entry(name)
        etag = entry["lfs"]["oid"] if "lfs" in entry else entry["oid"]
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and self.command == "GET":
            start = int(match.group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("X-Repo-Commit", hub.commit)
        self.send_header("ETag", f'"{etag}"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if self.command == "HEAD":
            return
        if name in hub.stall:  # half the body, then hang until released (a client to kill)
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            hub.release.wait(30)
            self.close_connection = True
            return
        cut = hub.drop_once.pop(name, None) if start == 0 else None
        if cut is not None:
            self.wfile.write(data[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data[start:])


@contextmanager
def serve(hub: FakeHub) -> Iterator[FakeHub]:
    """Serve ``hub`` on 127.0.0.1 (free port) for the duration of the block; sets ``hub.url``."""
    handler = type("Handler", (_Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        hub.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
