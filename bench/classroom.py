"""Classroom live sessions at class scale (issue #14): one classroom process holding 1 session ×
1,000 participants plus 40 sessions × 30 participants (2,200 WebSockets at once), measured by a
load generator in a separate process (`python -m bench.classroom load CONFIG OUT`, killed after
LOAD_TIMEOUT_S):

- join latency over the 2,200 anonymous HTTP joins (JOIN_CONCURRENCY in flight, a closed loop),
  plus one at a time (a join's own time) and an open loop at a fixed arrival rate;
- chat fan-out: teacher sends -> the last of the session's receivers has the frame;
- 1,000 answers to one card at random instants in a 2 s window: acked, stored, tally = stored;
- the service's RSS growth per participant connection;
- messages lost across a replica restart: replica A is sent SIGTERM mid-stream, its clients
  reconnect to replica B with their last seq and must receive every chat seq exactly once.

Why sans-I/O clients: the load generator shares the 2 cores with the service, so it must spend
little per frame. websockets' ClientProtocol and h11 do the protocol work (handshake, framing, pongs,
HTTP/1.1 parsing) without I/O of their own; a minimal asyncio Protocol (uvloop when installed) feeds
them, with no task or queue per connection as a full client would have, so the latency measured is
mostly the service's (websockets' frame parser costs ~18 µs of load-generator CPU per received chat
frame, socket to Recorder, against ~13 µs for the hand-written parser it replaced: ~5 ms more per
1,000-receiver fan-out). Every receiver timestamps a frame when its bytes reach the client's event loop.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h11
import httpx
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from bench import common
from bench.common import (
    JwksServer,
    create_database,
    drop_database,
    free_port,
    purge_nats,
    purge_redis,
    start_service,
    stop,
)

HOST = "api.univprepai.com"  # zone 1
ZONE_ID = 1
# BENCH_CLASSROOM_SMOKE=1: a small run (50 + 3 × 5 participants) to try the bench out quickly.
_SMOKE = bool(os.environ.get("BENCH_CLASSROOM_SMOKE"))
BIG = 50 if _SMOKE else 1000
SMALL_SESSIONS = 3 if _SMOKE else 40
SMALL = 5 if _SMOKE else 30
JOIN_CONCURRENCY = 20
WARM_JOINS = 40
SEQUENTIAL_JOINS = 100  # one at a time: the service time of a join without queueing
PACED_JOINS, PACED_RATE_HZ = 300, 30.0  # open loop: a school arriving (1,000 in a minute is ~17/s)
CONNECT_CONCURRENCY = 50
BIG_MESSAGES = 100  # >= 100 samples, so p99 is not simply the maximum
BIG_SPACING_S = 0.2
SMALL_MESSAGES = 10  # per small session, one every SMALL_SPACING_S, sessions staggered
SMALL_SPACING_S = 2.0
ANSWER_WINDOW_S = 2.0
RESTART_PARTICIPANTS = 100
RESTART_RATE_HZ = 20
RESTART_STREAM_S = 6.0
RESTART_KILL_AFTER_S = 2.0
LOAD_TIMEOUT_S = 420
SECRET = "bench-classroom-secret-key-0123456789abcdef"


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered))) - 1))]


# --- the load generator's clients: sans-I/O protocol objects driven by the event loop -------------

class KeepAliveHttp:
    """One keep-alive HTTP/1.1 connection, JSON bodies: h11's state machine over an asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, port: int) -> KeepAliveHttp:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """Raises ConnectionError when the server has closed the connection (its keep-alive timeout)."""
        conn = self.conn
        if conn.our_state is not h11.IDLE:
            raise ConnectionError(f"connection not reusable (h11 state {conn.our_state}/{conn.their_state})")
        data = json.dumps(body).encode() if body is not None else b""
        headers = [("Host", HOST), ("Content-Length", str(len(data)))]
        if body is not None:
            headers.append(("Content-Type", "application/json"))
        if token:
            headers.append(("Authorization", f"Bearer {token}"))
        self.writer.write(conn.send(h11.Request(method=method, target=path, headers=headers))
                          + conn.send(h11.Data(data=data)) + conn.send(h11.EndOfMessage()))
        status, chunks = 0, []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                received = await self.reader.read(65536)
                if not received:
                    raise ConnectionError("the server closed the connection")
                conn.receive_data(received)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif not isinstance(event, h11.InformationalResponse):
                raise ConnectionError(f"unexpected {event!r}")
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        payload = b"".join(chunks)
        return status, (json.loads(payload) if payload else None)

    def close(self) -> None:
        self.writer.close()


class Ws(asyncio.Protocol):
    """A WebSocket client connection: websockets' sans-I/O ClientProtocol (handshake checks, RFC 6455
    framing, pongs to pings) fed straight from data_received, so a frame is timestamped when its bytes
    reach the event loop. No extension is offered (no permessage-deflate); no message size limit."""

    def __init__(self, path: str, on_text: Callable[[bytes, float], None]) -> None:
        self.on_text = on_text
        # The Host header comes from the URI (HOST, port 80 left out); the TCP connection goes to 127.0.0.1.
        self.proto = ClientProtocol(parse_uri(f"ws://{HOST}{path}"), max_size=None)
        self.transport: asyncio.Transport | None = None
        self.upgraded = asyncio.get_running_loop().create_future()
        self.lost = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None
        self.partial: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proto.send_request(self.proto.connect())
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed before the upgrade"))
        if not self.lost.done():
            self.lost.set_result(self.close_code)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        proto = self.proto
        proto.receive_data(data)
        control = False
        for event in proto.events_received():
            if not isinstance(event, Frame):  # the handshake's response
                control = True
            elif event.opcode is Opcode.TEXT and event.fin:  # the common case, kept short: it runs per frame
                self.on_text(bytes(event.data), now)  # bytes already: no copy
            else:
                control = True
                self._frame(event, now)
        if control or proto.state is not State.OPEN:  # pongs, close echoes, handshake results, failures
            if not self.upgraded.done():
                if proto.handshake_exc is not None:
                    self.upgraded.set_exception(ConnectionError(f"upgrade refused: {proto.handshake_exc}"))
                elif proto.state is State.OPEN:
                    self.upgraded.set_result(None)
            self._flush()
            if proto.close_expected() and self.transport is not None:
                self.transport.close()  # a close frame echoed (or the upgrade failed): done, as before

    def _frame(self, frame: Frame, now: float) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY or opcode is Opcode.CONT:
            payload = bytes(frame.data)
            if not frame.fin:
                self.partial.append(payload)
                return
            if self.partial:
                payload, self.partial = b"".join([*self.partial, payload]), []
            self.on_text(payload, now)
        elif opcode is Opcode.CLOSE and self.proto.close_rcvd is not None:
            self.close_code = self.proto.close_rcvd.code  # 1005 when the frame has none

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for chunk in self.proto.data_to_send():
            if chunk:
                transport.write(chunk)
            else:  # websockets' SEND_EOF
                transport.close()

    def send_json(self, obj: Any) -> None:
        if self.transport is not None and not self.transport.is_closing() and self.proto.state is State.OPEN:
            self.proto.send_text(json.dumps(obj).encode())
            self._flush()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            if self.proto.state is State.OPEN:
                self.proto.send_close(1000)
                self._flush()
            self.transport.close()


class Recorder:
    """Chat arrivals across all participant clients: body -> [receivers, first, last arrival]."""

    def __init__(self) -> None:
        self.chat: dict[str, list[float]] = {}
        self.card_shown = 0

    def arrived(self, body: str, now: float) -> None:
        got = self.chat.get(body)
        if got is None:
            self.chat[body] = [1, now, now]
        else:
            got[0] += 1
            got[2] = now


class Client:
    """One participant's (or teacher's) live connection; survives reconnects (last_seq kept)."""

    def __init__(self, code: str, token: str, rec: Recorder | None, staff: bool = False) -> None:
        self.code, self.token, self.rec, self.staff = code, token, rec, staff
        self.ws: Ws | None = None
        self.last_seq: int | None = None
        self.snapshot: asyncio.Future[dict[str, Any]] | None = None
        self.waiters: dict[str, asyncio.Future[tuple[float, dict[str, Any]]]] = {}
        self.chat_seqs: list[int] = []
        self.chat_by_body: dict[str, int] = {}
        self.close_codes: list[int | None] = []
        self.resyncs = 0

    def on_text(self, raw: bytes, now: float) -> None:
        frame = json.loads(raw)
        kind = frame.get("type")
        seq = frame.get("seq")
        if kind == "snapshot":
            if self.last_seq is None:
                self.last_seq = seq
            self.resyncs += bool(frame.get("resync"))
            if self.snapshot is not None and not self.snapshot.done():
                self.snapshot.set_result(frame)
            return
        if seq is not None and (self.last_seq is None or seq > self.last_seq):
            self.last_seq = seq
        ref = frame.get("ref")
        if ref is not None:
            fut = self.waiters.pop(ref, None)
            if fut is not None and not fut.done():
                fut.set_result((now, frame))
        elif kind == "chat":
            self.chat_seqs.append(seq)
            if self.staff:
                self.chat_by_body[frame["data"]["body"]] = seq
            elif self.rec is not None:
                self.rec.arrived(frame["data"]["body"], now)
        elif kind == "card_shown" and self.rec is not None:
            self.rec.card_shown += 1

    async def connect(self, port: int, timeout: float = 60.0) -> float:
        """Open, hello (with last_seq), wait for the snapshot; returns seconds it took."""
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        self.snapshot = loop.create_future()
        path = f"/api/v1/classroom/sessions/{self.code}/ws"
        _, ws = await loop.create_connection(lambda: Ws(path, self.on_text), "127.0.0.1", port)
        self.ws = ws
        await asyncio.wait_for(ws.upgraded, timeout)
        ws.send_json({"type": "hello", "data": {"token": self.token, "last_seq": self.last_seq}})
        snapshot = asyncio.ensure_future(self.snapshot)
        done, _ = await asyncio.wait({snapshot, ws.lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if snapshot not in done:
            snapshot.cancel()
            raise ConnectionError(f"no snapshot (closed {ws.close_code})")
        return time.perf_counter() - start

    def request(self, kind: str, data: dict[str, Any], ref: str) -> asyncio.Future[tuple[float, dict[str, Any]]]:
        fut: asyncio.Future[tuple[float, dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.waiters[ref] = fut
        assert self.ws is not None
        self.ws.send_json({"type": kind, "ref": ref, "data": data})
        return fut


# --- the load generator ----------------------------------------------------------------------------

async def _joins(port: int, plan: list[tuple[str, str]], concurrency: int = JOIN_CONCURRENCY,
                 ) -> tuple[list[dict[str, Any]], list[float], dict[str, int]]:
    """POST /join/{code} for each (code, nickname) over `concurrency` keep-alive connections."""
    results: list[dict[str, Any]] = [{} for _ in plan]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(plan)):
        queue.put_nowait(i)

    async def worker() -> None:
        http = await KeepAliveHttp.open(port)
        try:
            while not queue.empty():
                i = queue.get_nowait()
                code, nick = plan[i]
                start = time.perf_counter()
                status, body = await http.request("POST", f"/api/v1/classroom/join/{code}",
                                                  {"nickname": nick, "avatar": "fox"})
                latencies.append((time.perf_counter() - start) * 1000)
                if status == 201:
                    results[i] = body
                else:
                    key = f"{status} {body.get('code') if isinstance(body, dict) else ''}"
                    errors[key] = errors.get(key, 0) + 1
        finally:
            http.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, latencies, errors


async def _paced_joins(port: int, plan: list[tuple[str, str]], rate_hz: float) -> tuple[list[float], int]:
    """Open loop: join i is sent at i / rate_hz whatever the earlier ones are doing (a pool of
    keep-alive connections, a new one opened when all are busy); latency from its send."""
    idle: list[KeepAliveHttp] = [await KeepAliveHttp.open(port) for _ in range(JOIN_CONCURRENCY)]
    opened = list(idle)
    latencies: list[float] = []
    failed = 0
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal failed
        await asyncio.sleep(max(0.0, start + i / rate_hz - time.perf_counter()))
        http = idle.pop() if idle else await KeepAliveHttp.open(port)
        if http not in opened:
            opened.append(http)
        code, nick = plan[i]
        try:
            t = time.perf_counter()
            status, _ = await http.request("POST", f"/api/v1/classroom/join/{code}", {"nickname": nick, "avatar": "owl"})
        except ConnectionError:  # the server closed it after its keep-alive timeout
            http.close()
            http = await KeepAliveHttp.open(port)
            opened.append(http)
            t = time.perf_counter()
            status, _ = await http.request("POST", f"/api/v1/classroom/join/{code}", {"nickname": nick, "avatar": "owl"})
        latencies.append((time.perf_counter() - t) * 1000)
        failed += status != 201
        idle.append(http)

    await asyncio.gather(*(one(i) for i in range(len(plan))))
    for http in opened:
        http.close()
    return latencies, failed


async def _connect_all(clients: list[Client], port: int) -> tuple[list[float], int]:
    sem = asyncio.Semaphore(CONNECT_CONCURRENCY)
    took: list[float] = []
    failed = 0

    async def one(c: Client) -> None:
        nonlocal failed
        async with sem:
            try:
                took.append(await c.connect(port) * 1000)
            except (OSError, ConnectionError, TimeoutError):
                failed += 1

    await asyncio.gather(*(one(c) for c in clients))
    return took, failed


def _rss(pid: int) -> int:
    import psutil  # type: ignore[import-untyped]

    return int(psutil.Process(pid).memory_info().rss)


async def _settle(pid: int, max_s: float = 30.0) -> None:
    """Wait until the service's CPU use drops (its backlog of fan-out done), at most `max_s`."""
    import psutil  # type: ignore[import-untyped]

    proc = psutil.Process(pid)
    proc.cpu_percent(None)
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if proc.cpu_percent(None) < 15:
            return


async def _wait_for(cond: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def _fanout(big_teacher: Client, small_teachers: list[Client], rec: Recorder) -> dict[str, Any]:
    """Big session: BIG_MESSAGES at BIG_SPACING_S; at the same time each small session's teacher
    sends SMALL_MESSAGES at SMALL_SPACING_S (staggered). Latency: send -> last receiver."""
    sent: dict[str, tuple[float, int]] = {}  # body -> (send time, expected receivers)

    async def stream(teacher: Client, prefix: str, count: int, spacing: float, offset: float, expect: int) -> None:
        await asyncio.sleep(offset)
        for i in range(count):
            body = f"{prefix} {i}"
            sent[body] = (time.perf_counter(), expect)
            teacher.request("chat", {"body": body}, f"{prefix}-{i}")
            await asyncio.sleep(spacing)

    lag: list[float] = []  # the load generator's own event-loop delay, to tell its queueing from the service's
    running = True

    async def watch() -> None:
        while running:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lag.append((time.perf_counter() - t - 0.01) * 1000)

    watcher = asyncio.create_task(watch())
    tasks = [stream(big_teacher, "big", BIG_MESSAGES, BIG_SPACING_S, 0.0, BIG)]
    tasks += [stream(t, f"s{j}", SMALL_MESSAGES, SMALL_SPACING_S, j * SMALL_SPACING_S / len(small_teachers), SMALL)
              for j, t in enumerate(small_teachers)]
    await asyncio.gather(*tasks)
    await _wait_for(lambda: all(rec.chat.get(b, [0])[0] >= n for b, (_, n) in sent.items()), 15.0)
    running = False
    await watcher
    out: dict[str, Any] = {"client_lag_p99": _pct(lag, 99), "client_lag_max": max(lag or [0.0])}
    for name, pick in (("big", lambda b: b.startswith("big ")), ("small", lambda b: not b.startswith("big "))):
        lat, first, spread, missing = [], [], [], 0
        for body, (t0, expect) in sent.items():
            if not pick(body):
                continue
            got = rec.chat.get(body)
            if got is None:
                missing += expect
                continue
            missing += expect - int(got[0])
            lat.append((got[2] - t0) * 1000)
            first.append((got[1] - t0) * 1000)
            spread.append((got[2] - got[1]) * 1000)
        out[name] = {"messages": len(lat), "p50": _pct(lat, 50), "p99": _pct(lat, 99), "max": max(lat or [0]),
                     "first_p50": _pct(first, 50), "first_p99": _pct(first, 99), "spread_p50": _pct(spread, 50),
                     "spread_p99": _pct(spread, 99), "missing": missing}
    return out


async def _answers(cfg: dict[str, Any], players: list[Client], rec: Recorder) -> dict[str, Any]:
    big = cfg["sessions"][0]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cfg['port']}", headers={"Host": HOST},
                                 timeout=30) as http:
        resp = await http.post(f"/api/v1/classroom/sessions/{big['id']}/cards",
                               headers={"Authorization": f"Bearer {cfg['admin_token']}"},
                               json={"problem_id": cfg["problem_id"], "seconds": 60})
        resp.raise_for_status()
        shown = await _wait_for(lambda: rec.card_shown >= len(players), 20.0)
        t0 = time.perf_counter() + 0.2
        rng = random.Random(14)
        futs: list[asyncio.Future[tuple[float, dict[str, Any]]]] = []
        sent_at: list[float] = []

        async def answer(c: Client, i: int) -> None:
            await asyncio.sleep(max(0.0, t0 + rng.uniform(0, ANSWER_WINDOW_S) - time.perf_counter()))
            sent_at.append(time.perf_counter())
            futs.append(c.request("answer", {"card_no": 1, "answer": "apple" if i % 3 else f"pear{i % 4}"}, "a1"))

        await asyncio.gather(*(answer(c, i) for i, c in enumerate(players)))
        window = max(sent_at) - min(sent_at)
        done, pending = await asyncio.wait(futs, timeout=30)
        acked, ack_ms, last_ack = 0, [], 0.0
        errors: dict[str, int] = {}
        for f, s in zip(futs, sent_at, strict=True):
            if f not in done:
                continue
            now, frame = f.result()
            if frame["type"] == "answer_ack":
                acked += 1
                ack_ms.append((now - s) * 1000)
                last_ack = max(last_ack, now)
            else:
                code = frame.get("data", {}).get("code", frame["type"])
                errors[code] = errors.get(code, 0) + 1
        await asyncio.sleep(1.0)
        tally = (await http.get(f"/api/v1/classroom/sessions/{big['id']}/cards/1/tally",
                                headers={"Authorization": f"Bearer {cfg['admin_token']}"})).json()
    return {"sent": len(futs), "window_s": window, "card_shown_all": shown, "acked": acked, "errors": errors,
            "no_reply": len(pending), "acks_done_s": last_ack - min(sent_at), "ack_p50": _pct(ack_ms, 50), "ack_p99": _pct(ack_ms, 99),
            "tally_answered": tally["answered"], "stored": tally["stored"]["answered"],
            "tally_correct": tally["correct"], "stored_correct": tally["stored"]["correct"]}


async def _restart(cfg: dict[str, Any]) -> dict[str, Any]:
    """~100 participants on replica A, the teacher publishing on replica B; A gets SIGTERM
    mid-stream; its clients reconnect to B with their last seq."""
    sess = cfg["restart_session"]
    joined, _, errors = await _joins(cfg["port"], [(sess["code"], f"rs{i:03d}") for i in range(RESTART_PARTICIPANTS)])
    clients = [Client(sess["code"], j["token"], None) for j in joined if j]
    teacher = Client(sess["code"], cfg["admin_token"], None, staff=True)
    await teacher.connect(cfg["port_b"])
    _, failed = await _connect_all(clients, cfg["port"])
    reconnect_ms: list[float] = []
    reconnect_failed = 0
    drop_ms: list[float] = []
    killed_t: float | None = None

    async def follow(c: Client) -> None:
        """Reconnect to B whenever the connection drops (as a client behind a balancer would)."""
        nonlocal reconnect_failed
        while c.ws is not None:
            code = await c.ws.lost
            c.close_codes.append(code)
            if c.ws is None or code == 1000:
                return
            dropped = time.perf_counter()
            if killed_t is not None:
                drop_ms.append((dropped - killed_t) * 1000)
            for _ in range(50):
                try:
                    await c.connect(cfg["port_b"], timeout=10)
                    reconnect_ms.append((time.perf_counter() - dropped) * 1000)
                    break
                except (OSError, ConnectionError, TimeoutError):
                    await asyncio.sleep(0.1)
            else:
                reconnect_failed += 1
                return

    followers = [asyncio.create_task(follow(c)) for c in clients]
    acks: list[asyncio.Future[tuple[float, dict[str, Any]]]] = []
    n = int(RESTART_STREAM_S * RESTART_RATE_HZ)
    killed_at = None
    start = time.perf_counter()
    for i in range(n):
        acks.append(teacher.request("chat", {"body": f"r {i}"}, f"r{i}"))
        if killed_at is None and time.perf_counter() - start >= RESTART_KILL_AFTER_S:
            os.kill(cfg["pid_a"], signal.SIGTERM)
            killed_at, killed_t = i, time.perf_counter()
        await asyncio.sleep(1 / RESTART_RATE_HZ)
    await asyncio.wait(acks, timeout=15)
    await _wait_for(lambda: sum(b.startswith("r ") for b in teacher.chat_by_body) >= len(acks), 10.0)
    await _wait_for(lambda: all(len(c.chat_seqs) >= len(acks) for c in clients), 10.0)
    published = {b: s for b, s in teacher.chat_by_body.items() if b.startswith("r ")}
    want = set(published.values())
    lost = dups = clients_complete = 0
    for c in clients:
        got = [s for s in c.chat_seqs if s in want]
        lost += len(want - set(got))
        dups += len(got) - len(set(got))
        clients_complete += want <= set(got)
    codes: dict[str, int] = {}
    for c in clients:
        for code in c.close_codes:
            codes[str(code)] = codes.get(str(code), 0) + 1
    for c in [*clients, teacher]:
        ws, c.ws = c.ws, None
        if ws is not None:
            ws.close()
    for f in followers:
        f.cancel()
    await asyncio.gather(*followers, return_exceptions=True)
    return {"participants": len(clients), "join_errors": errors, "connect_failed": failed,
            "published": len(published), "acked": sum(1 for a in acks if a.done()), "killed_after_msg": killed_at,
            "lost": lost, "duplicates": dups, "clients_complete": clients_complete, "close_codes": codes,
            "reconnected": len(reconnect_ms), "reconnect_failed": reconnect_failed,
            "reconnect_p50": _pct(reconnect_ms, 50), "reconnect_p99": _pct(reconnect_ms, 99),
            "resyncs": sum(c.resyncs for c in clients), "drop_p50": _pct(drop_ms, 50), "drop_p99": _pct(drop_ms, 99)}


async def _load(cfg: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    sessions = cfg["sessions"]
    plan = [(sessions[0]["code"], f"kid{i:04d}") for i in range(BIG)]
    plan += [(s["code"], f"s{j:02d}kid{i:02d}") for j, s in enumerate(sessions[1:]) for i in range(SMALL)]
    random.Random(2200).shuffle(plan)
    # Warm-up (not counted): the service's first joins open DB connections and load the word lists.
    await _joins(cfg["port"], [(cfg["restart_session"]["code"], f"warm{i:02d}") for i in range(WARM_JOINS)])
    _, seq_ms, _ = await _joins(cfg["port"], [(cfg["restart_session"]["code"], f"one{i:03d}")
                                              for i in range(SEQUENTIAL_JOINS)], concurrency=1)
    out["join_one"] = {"count": len(seq_ms), "p50": _pct(seq_ms, 50), "p99": _pct(seq_ms, 99)}
    paced_ms, paced_failed = await _paced_joins(cfg["port"], [(cfg["restart_session"]["code"], f"pace{i:03d}")
                                                              for i in range(PACED_JOINS)], PACED_RATE_HZ)
    out["join_paced"] = {"count": len(paced_ms), "failed": paced_failed, "p50": _pct(paced_ms, 50),
                         "p99": _pct(paced_ms, 99)}
    t = time.perf_counter()
    joined, join_ms, join_errors = await _joins(cfg["port"], plan)
    out["join"] = {"count": len(join_ms), "ok": sum(1 for j in joined if j), "errors": join_errors,
                   "p50": _pct(join_ms, 50), "p99": _pct(join_ms, 99), "max": max(join_ms),
                   "seconds": time.perf_counter() - t}
    rec = Recorder()
    by_code = {s["code"]: i for i, s in enumerate(sessions)}
    teachers = [Client(s["code"], cfg["admin_token"], None, staff=True) for s in sessions]
    _, teacher_failed = await _connect_all(teachers, cfg["port"])
    await asyncio.sleep(1.0)
    rss_before = _rss(cfg["pid_a"])
    players: list[list[Client]] = [[] for _ in sessions]
    everyone = []
    for (code, _), j in zip(plan, joined, strict=True):
        if j:
            c = Client(code, j["token"], rec)
            players[by_code[code]].append(c)
            everyone.append(c)
    t = time.perf_counter()
    half = len(everyone) // 2
    connect_ms, failed = await _connect_all(everyone[:half], cfg["port"])
    await _settle(cfg["pid_a"], 10)
    rss_mid = _rss(cfg["pid_a"])
    more_ms, more_failed = await _connect_all(everyone[half:], cfg["port"])
    connect_ms, failed = connect_ms + more_ms, failed + more_failed
    out["connect"] = {"count": len(everyone), "failed": failed + teacher_failed, "teachers": len(teachers),
                      "p50": _pct(connect_ms, 50), "p99": _pct(connect_ms, 99), "seconds": time.perf_counter() - t}
    await _settle(cfg["pid_a"], 15)
    await asyncio.sleep(1.0)
    rss_after = _rss(cfg["pid_a"])
    out["rss"] = {"before": rss_before, "mid": rss_mid, "after": rss_after, "connections": len(everyone) - failed,
                  "half": half}
    open_now = sum(1 for c in [*everyone, *teachers] if c.ws is not None and not c.ws.lost.done())
    out["open_at_once"] = open_now
    gc_before = await _gc_pauses(cfg["port"])
    out["fanout"] = await _fanout(teachers[0], teachers[1:], rec)
    out["fanout"]["gc"] = _gc_delta(gc_before, await _gc_pauses(cfg["port"]))
    out["answers"] = await _answers(cfg, players[0], rec)
    out["still_open"] = sum(1 for c in [*everyone, *teachers] if c.ws is not None and not c.ws.lost.done())
    for c in [*everyone, *teachers]:
        if c.ws is not None:
            c.ws.close()
    await _settle(cfg["pid_a"], 30)
    out["restart"] = await _restart(cfg)
    out["load_after"] = os.getloadavg()[0]
    return out


async def _gc_pauses(port: int) -> dict[str, float]:
    """The service's garbage-collector pause counters (`mc_gc_pause_seconds`, generation 2) from /metrics."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
        text = (await c.get("/metrics")).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("mc_gc_pause_seconds") and 'generation="2"' in line:
            name, value = line.rsplit(" ", 1)
            if name.startswith("mc_gc_pause_seconds_count"):
                out["count"] = float(value)
            elif name.startswith("mc_gc_pause_seconds_sum"):
                out["sum"] = float(value)
            elif 'le="0.05"' in name:
                out["le50ms"] = float(value)
    return out


def _gc_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in ("count", "sum", "le50ms")}
    return {"count": d["count"], "mean_ms": 1000 * d["sum"] / d["count"] if d["count"] else 0.0,
            "over_50ms": d["count"] - d["le50ms"]}


def load_main(config_path: str, out_path: str) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    cfg = json.loads(Path(config_path).read_text())
    result = asyncio.run(asyncio.wait_for(_load(cfg), LOAD_TIMEOUT_S - 10))
    Path(out_path).write_text(json.dumps(result))


# --- the bench (service set-up, load generator run, report) ---------------------------------------

def _service_settings(dbname: str, prefix: str, jwks_url: str) -> dict[str, str]:
    from megacity.db import bootstrap
    from megacity.db.engine import with_database

    return {"GRPC_PORT": str(free_port()),
            "DATABASE_URL": with_database(common.PG_URL, dbname, bootstrap.app_role("classroom")),
            "REDIS_URL": common.REDIS_URL, "REDIS_KEY_PREFIX": prefix, "NATS_URL": common.NATS_URL,
            "EVENTS_NAMESPACE": prefix, "JWKS_URL": jwks_url, "SECRET_KEY": SECRET,
            "JOIN_PER_CODE_PER_MINUTE": "100000", "JOIN_PER_ADDRESS_PER_MINUTE": "100000"}


def run() -> str:
    from megacity.auth.tokens import SigningKey, issue_access_token
    from megacity.db import bootstrap
    from megacity.db.engine import with_database
    from megacity.db.migrations import upgrade

    prefix = f"benchcls{uuid.uuid4().hex[:8]}"
    key = SigningKey.generate()
    jwks = JwksServer(key)
    procs: list[subprocess.Popen] = []
    dbname: str | None = None
    tmp = tempfile.TemporaryDirectory()
    load_rc: int | str = "not run"
    try:
        dbname = create_database(common.PG_URL, "mc_bench_classroom_")
        bootstrap.bootstrap(with_database(common.PG_URL, dbname), ["classroom"])
        upgrade("classroom", with_database(common.PG_URL, dbname, bootstrap.owner_role("classroom")))
        settings = _service_settings(dbname, prefix, jwks.url)
        port_a, port_b = free_port(), free_port()
        procs.append(start_service("classroom", port_a, settings))
        procs.append(start_service("classroom", port_b, {**settings, "GRPC_PORT": str(free_port())}))
        org = uuid.uuid4()
        admin = issue_access_token(key, user_id=uuid.uuid4(), zone_id=ZONE_ID, org_id=org, role="org_admin",
                                   ttl=3600)[0]
        with httpx.Client(base_url=f"http://127.0.0.1:{port_a}", timeout=30,
                          headers={"Host": HOST, "Authorization": f"Bearer {admin}"}) as http:
            problem = http.post("/api/v1/classroom/problems", json={
                "type": "vocabulary", "difficulty": 2, "grade": 5, "prompt": "사과 in English?", "answer": "apple"})
            problem.raise_for_status()
            sessions = []
            for i in range(SMALL_SESSIONS + 2):
                resp = http.post("/api/v1/classroom/sessions", json={"class_id": str(uuid.uuid4()),
                                                                     "title": f"bench {i}"})
                resp.raise_for_status()
                sessions.append({"id": resp.json()["id"], "code": resp.json()["code"]})
        cfg = {"port": port_a, "port_b": port_b, "pid_a": procs[0].pid, "admin_token": admin,
               "problem_id": problem.json()["id"], "sessions": sessions[:SMALL_SESSIONS + 1],
               "restart_session": sessions[-1]}
        cfg_path, out_path = Path(tmp.name) / "cfg.json", Path(tmp.name) / "out.json"
        cfg_path.write_text(json.dumps(cfg))
        env = {**os.environ, "PYTHONPATH": f"{common.ROOT}:{common.ROOT / 'libs'}"}
        try:
            load = subprocess.run([sys.executable, "-m", "bench.classroom", "load", str(cfg_path), str(out_path)],
                                  cwd=common.ROOT, env=env, timeout=LOAD_TIMEOUT_S, check=False)
            load_rc = load.returncode
        except subprocess.TimeoutExpired:
            load_rc = f"killed after {LOAD_TIMEOUT_S} s"
        if not out_path.exists():
            raise SystemExit(f"classroom load generator produced no result (rc {load_rc})")
        result = json.loads(out_path.read_text())
        try:
            result["restart"]["a_exit"] = procs[0].wait(timeout=30)
        except subprocess.TimeoutExpired:
            result["restart"]["a_exit"] = "none: still running 30 s after SIGTERM"
    finally:
        stop(*procs)
        jwks.close()
        tmp.cleanup()
        purge_redis(prefix, common.REDIS_URL)
        purge_nats(prefix, common.NATS_URL)
        if dbname is not None:
            drop_database(common.PG_URL, dbname)
    return _report(result)


def _verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def _report(r: dict[str, Any]) -> str:
    j, one, c, f, a, rs, rr = (r["join"], r["join_one"], r["connect"], r["fanout"], r["answers"], r["rss"],
                               r["restart"])
    pj = r["join_paced"]
    rest = rs["connections"] - rs["half"]
    per_conn_kb = (rs["after"] - rs["before"]) / max(1, rs["connections"]) / 1024
    lost = a["sent"] - a["stored"]
    answers_ok = lost == 0 and a["tally_answered"] == a["stored"] and a["acked"] == a["stored"]
    restart_ok = rr["lost"] == 0 and rr["duplicates"] == 0
    big, small = f["big"], f["small"]
    codes = ", ".join(f"{k} × {v}" for k, v in sorted(rr["close_codes"].items())) or "none"
    errs = ", ".join(f"{k} × {v}" for k, v in a["errors"].items()) or "none"
    rows = [
        (f"join `POST /join/{{code}}` ({j['count']:,} joins, {JOIN_CONCURRENCY} in flight, keep-alive): "
         "p50 / p99 / max",
         f"{j['p50']:.1f} / **{j['p99']:.1f}** / {j['max']:.1f} ms ({j['ok']:,} seats, "
         f"{j['count'] / j['seconds']:.0f} joins/s)",
         f"p99 ≤ 20 ms: {_verdict(j['p99'] <= 20)}"),
        (f"join, one at a time ({one['count']} joins, nothing else in flight): p50 / p99",
         f"{one['p50']:.1f} / {one['p99']:.1f} ms", f"p99 ≤ 20 ms: {_verdict(one['p99'] <= 20)}"),
        (f"join, open loop at {PACED_RATE_HZ:.0f}/s ({pj['count']} joins, each sent on schedule): p50 / p99",
         f"{pj['p50']:.1f} / {pj['p99']:.1f} ms ({pj['failed']} failed)", f"p99 ≤ 20 ms: {_verdict(pj['p99'] <= 20)}"),
        ("WebSockets open at once",
         f"**{r['open_at_once']:,}** ({c['count']:,} participants + {c['teachers']} teachers; {c['failed']} failed)",
         "2,200 (Kahoot: 2,000 per game)"),
        (f"connect → snapshot ({CONNECT_CONCURRENCY} in flight): p50 / p99",
         f"{c['p50']:.0f} / {c['p99']:.0f} ms ({c['seconds']:.0f} s for all)", "—"),
        (f"chat fan-out, {BIG:,}-participant session: send → last receiver p50 / p99 / max "
         f"({big['messages']} messages, {BIG_SPACING_S * 1000:.0f} ms apart)",
         f"{big['p50']:.0f} / **{big['p99']:.0f}** / {big['max']:.0f} ms ({big['missing']} deliveries missing)",
         f"p99 ≤ 150 ms: {_verdict(big['p99'] <= 150 and big['missing'] == 0)}"),
        (f"… of which send → first receiver p50 / p99 (stored, published), and first → last receiver p50 / p99 "
         f"(the spread over {BIG:,} sockets)",
         f"{big['first_p50']:.0f} / {big['first_p99']:.0f} ms; {big['spread_p50']:.0f} / {big['spread_p99']:.0f} ms",
         f"load generator's own loop delay p99 / max {f['client_lag_p99']:.0f} / {f['client_lag_max']:.0f} ms"),
        ("full garbage collections (generation 2) in the service during the fan-out: count, mean pause, pauses "
         "over 50 ms",
         f"{f['gc']['count']:.0f}, {f['gc']['mean_ms']:.0f} ms, {f['gc']['over_50ms']:.0f}",
         "each stops the event loop (`mc_gc_pause_seconds`)"),
        (f"chat fan-out, {SMALL}-participant sessions at the same time: send → last receiver p50 / p99 "
         f"({small['messages']} messages)",
         f"{small['p50']:.0f} / {small['p99']:.0f} ms ({small['missing']} deliveries missing)",
         f"same goal: {_verdict(small['p99'] <= 150 and small['missing'] == 0)}"),
        (f"{a['sent']:,} answers to one card, random instants in {a['window_s']:.2f} s: acked / stored / tally",
         f"{a['acked']:,} / {a['stored']:,} / {a['tally_answered']:,} (correct: stored {a['stored_correct']}, "
         f"tally {a['tally_correct']}; errors: {errs}; no reply: {a['no_reply']})",
         f"0 lost, tally = stored: {_verdict(answers_ok)} (ClassQuiz loses answers at 100+ players)"),
        (f"answers lost ({a['sent']:,} − stored)", f"**{lost}**", "0"),
        ("answer → `answer_ack` p50 / p99; last ack after the first answer",
         f"{a['ack_p50']:.0f} / {a['ack_p99']:.0f} ms; {a['acks_done_s']:.1f} s "
         f"({a['acked'] / max(a['acks_done_s'], 1e-9):.0f} answers/s)", "—"),
        (f"service RSS per participant connection ((after − before) / {rs['connections']:,})",
         f"**{per_conn_kb:.1f} KB** ({rs['before'] / 2**20:.0f} → {rs['after'] / 2**20:.0f} MiB; first "
         f"{rs['half']:,}: {(rs['mid'] - rs['before']) / rs['half'] / 1024:.1f} KB each, the next "
         f"{rest:,}: {(rs['after'] - rs['mid']) / max(1, rest) / 1024:.1f} KB each)",
         f"≤ 40 KB: {_verdict(per_conn_kb <= 40)}"),
        (f"replica restart: chat frames lost / duplicated over {rr['participants']} clients × "
         f"{rr['published']} messages",
         f"**{rr['lost']} / {rr['duplicates']}** ({rr['clients_complete']}/{rr['participants']} clients got every "
         f"seq; {rr['resyncs']} resyncs)",
         f"0 lost, 0 duplicates: {_verdict(restart_ok)} (Kahoot and ClassQuiz lose state on rejoin)"),
        ("replica restart: close codes seen; SIGTERM → client dropped p50 / p99; drop → snapshot on B p50 / p99",
         f"{codes}; {rr['drop_p50']:.0f} / {rr['drop_p99']:.0f} ms; {rr['reconnect_p50']:.0f} / "
         f"{rr['reconnect_p99']:.0f} ms ({rr['reconnected']} reconnects, {rr['reconnect_failed']} failed)", "—"),
    ]
    table = "\n".join(f"| {m} | {v} | {g} |" for m, v, g in rows)
    return f"""## Classroom live sessions at class scale (issue #14)

One classroom process (`python -m services.classroom`, log level WARNING, join limits raised to
100,000/min per code and per address since every join comes from 127.0.0.1) on real PostgreSQL,
Redis and NATS; a load generator in a separate process (`python -m bench.classroom load`: websockets'
and h11's sans-I/O protocols driven by asyncio Protocols on uvloop, killed after {LOAD_TIMEOUT_S} s) holding
1 session × {BIG:,} participants plus {SMALL_SESSIONS} sessions × {SMALL} participants, and a teacher
connection (an `org_admin` token) per session. {os.cpu_count()} cores shared by the service, the load
generator, PostgreSQL, Redis, NATS and whatever else runs (load average {r["load_before"]:.1f} before,
{r["load_after"]:.1f} after): the latencies are of this machine, not of a server sized for the load.

| measure | this run | goal / anchor |
|---|---|---|
{table}

How it was measured. Joins: after {WARM_JOINS} warm-up joins (not counted), the {j["count"]:,} joins shuffled across
the {SMALL_SESSIONS + 1} sessions, {JOIN_CONCURRENCY} keep-alive connections each sending the next join when its
last was answered (latency = request written → reply read): a closed loop, so once the service is saturated
the latency is the queue ({JOIN_CONCURRENCY} in flight ÷ joins/s). The one-at-a-time row is a join's own time; the open-loop
row sends {PACED_JOINS} joins on a fixed schedule ({PACED_RATE_HZ:.0f}/s, about two classes of 30 arriving per
second) into another session, as a school arriving would.
RSS: `psutil` on the service's pid after the {SMALL_SESSIONS + 1} teacher connections, after half of the participant
connections and again after all {c["count"]:,} had their snapshots and the service's CPU had settled (so the
connect-time garbage of snapshots is in the first half's figure more than the second's). Fan-out: the teachers send
`chat` over their own WebSockets (teachers are not paced); the big session's {BIG_MESSAGES} messages and the
{SMALL_SESSIONS} small sessions' {SMALL_MESSAGES} messages each ({SMALL_SPACING_S:.0f} s apart, staggered)
go out in the same {BIG_MESSAGES * BIG_SPACING_S:.0f} s; a frame's arrival is when its bytes reach the load
generator's event loop (one process, one clock), so the figure includes the client's own queueing. Answers:
the teacher shows a card over HTTP; once every participant has `card_shown`, each answers at its own random
instant in a {ANSWER_WINDOW_S:.0f} s window ("apple" for two in three, a wrong answer otherwise); `stored`
is what `GET .../cards/1/tally` counts in PostgreSQL, `tally` the live Redis count. Replica restart: a second
classroom process (replica B, same database, Redis and NATS); {rr["participants"]} participants of another
session on replica A, the teacher on B sending {RESTART_RATE_HZ} chat messages/s for {RESTART_STREAM_S:.0f} s;
A gets SIGTERM {RESTART_KILL_AFTER_S:.0f} s in (after message {rr["killed_after_msg"]}; it exited with rc
{rr["a_exit"]}), each dropped client reconnects to B with `hello.last_seq` = the last seq it had, and its chat
seqs are compared with those the teacher saw published.
"""


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "load":
        load_main(sys.argv[2], sys.argv[3])
    else:
        print(run())
