"""The edge's own answers, behind Traefik: problem JSON where Traefik alone would answer in plain
text, and (natively) static files. The zones' pages are the web service's, not the edge's.

Traefik routes here with `replacePath` (unknown host, blocked path, admin allow-list), with the
`errors` middleware (upstream down, rate limited) or with `addPrefix` (static files):

    /_edge/unknown-host            404 edge.unknown_host
    /_edge/not-found               404 edge.not_found
    /_edge/admin-forbidden         403 edge.admin_forbidden
    /_edge/rate-limited            429 edge.rate_limited (Retry-After)
    /_edge/upstream-unavailable    503 edge.upstream_unavailable (Retry-After)
    /_edge/method-not-allowed      405 edge.method_not_allowed (Allow), for TRACE and CONNECT
    /_edge/static/<zone>/<path>    a file under --static-root/<zone>/ (native runs; S3 elsewhere)
    /healthz                       200 ok

    python -m gateway.edge_answers --host 0.0.0.0 --port 8080 [--static-root DIR]

A plain ASGI app (no framework): it is on the path of every refused request, so it stays tiny.
"""
from __future__ import annotations

import argparse
import mimetypes
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

from gateway import policy

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PROBLEMS: dict[str, tuple[int, str, list[tuple[bytes, bytes]]]] = {
    "/_edge/unknown-host": (404, policy.UNKNOWN_HOST, []),
    "/_edge/not-found": (404, policy.NOT_FOUND, []),
    "/_edge/admin-forbidden": (403, policy.ADMIN_FORBIDDEN, []),
    "/_edge/rate-limited": (429, policy.RATE_LIMITED, [(b"retry-after", str(policy.RATE_LIMIT_RETRY_AFTER).encode())]),
    "/_edge/upstream-unavailable": (503, policy.UPSTREAM_UNAVAILABLE, [(b"retry-after", b"5")]),
    "/_edge/method-not-allowed": (405, policy.METHOD_NOT_ALLOWED, [(b"allow", policy.ALLOWED_METHODS.encode())]),
}
STATIC_PREFIX = "/_edge/static/"
CHUNK = 256 * 1024


async def _answer(send: Send, status: int, body: bytes, content_type: str,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class EdgeAnswers:
    """The ASGI app; `static_root` (None outside native runs) holds `<zone>/<file>` trees."""

    def __init__(self, static_root: Path | None = None) -> None:
        self.static_root = static_root.resolve() if static_root else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path in PROBLEMS:
            status, body, extra = PROBLEMS[path]
            await _answer(send, status, body.encode(), policy.PROBLEM_CONTENT_TYPE, extra)
        elif path == "/healthz":
            await _answer(send, 200, b"ok", "text/plain")
        elif path.startswith(STATIC_PREFIX) and (file := self._static_file(path[len(STATIC_PREFIX):])):
            await self._send_file(send, file, scope["method"] == "HEAD")
        else:
            await _answer(send, 404, policy.NOT_FOUND.encode(), policy.PROBLEM_CONTENT_TYPE)

    def _static_file(self, rest: str) -> tuple[Path, int] | None:
        """`<zone>/<path>` under the static root, never outside it (no `..`, no symlink escape),
        with its size. Local files only (native runs): reading them inline is fine."""
        if self.static_root is None:
            return None
        candidate = (self.static_root / rest).resolve()
        if not candidate.is_relative_to(self.static_root) or not candidate.is_file():
            return None
        return candidate, candidate.stat().st_size

    async def _send_file(self, send: Send, file: tuple[Path, int], head_only: bool) -> None:
        path, size = file
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", content_type.encode()), (b"content-length", str(size).encode()),
            (b"cache-control", b"public, max-age=3600")]})
        if head_only:
            await send({"type": "http.response.body", "body": b""})
            return
        for chunk in _chunks(path):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--static-root", type=Path, default=None)
    args = parser.parse_args()
    uvicorn.run(EdgeAnswers(args.static_root), host=args.host, port=args.port, log_level="warning",
                access_log=False, server_header=False, proxy_headers=False)


if __name__ == "__main__":
    main()
