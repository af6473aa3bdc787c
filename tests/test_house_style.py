"""The house style (ARCHITECTURE.md, "Inside a service"; issue #10), checked rather than hoped for:

- every public service's HTTP lives in feature packages of routes / service / schemas (+ queries
  where the feature has SQL), and nowhere else;
- a `routes.py` holds no SQL and no transaction handling, and no route function is longer
  than 40 lines;
- documented errors are merged with `problems(...)`: `{**a, **b}` keeps only the last entry of
  a status and silently drops codes from the OpenAPI;
- every error code a feature raises (`AppError(<status>, "<code>"` in its package) is in the
  OpenAPI of its routes;
- the pages service (web) holds no business rules and reaches no data: no database, gRPC or
  event code in it (the browser calls api.<domain> itself).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from fastapi import APIRouter

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ("auth", "tenant", "exam", "kzone", "classroom", "arena")
# Public, but pages (HTML shells) rather than an API: no service / queries layer to check.
PAGES = ("web",)
# What a pages service must not import: databases, other services' gRPC, events.
DATA_ACCESS = ("sqlalchemy", "psycopg", "alembic", "megacity.db", "megacity.events", "megacity.grpc",
               "megacity.tenant_lookups", "mcproto", "grpc", "nats")
SQL_MARKERS = ("text(", "select(", "execute(", "begin(", "tenant_transaction", "commit(", "sqlalchemy")
ROUTE_METHODS = {"get", "post", "put", "patch", "delete"}
MAX_ROUTE_LINES = 40
RAISED = re.compile(r'AppError\(\s*(\d{3}),\s*"([a-z0-9_.]+)"')


def _routes_files() -> list[Path]:
    return sorted(p for p in (ROOT / "services").rglob("routes.py") if "tests" not in p.parts)


def _route_functions(tree: ast.AST) -> list[ast.AsyncFunctionDef | ast.FunctionDef]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr in ROUTE_METHODS:
                    out.append(node)
    return out


def test_routes_hold_no_sql_and_short_route_functions() -> None:
    files = _routes_files()
    assert len(files) >= 10, files  # the rule applies to something
    problems = []
    for path in files:
        source = path.read_text()
        problems += [f"{path.relative_to(ROOT)}: contains {m!r}" for m in SQL_MARKERS if m in source]
        for fn in _route_functions(ast.parse(source)):
            length = fn.end_lineno - fn.lineno + 1
            if length > MAX_ROUTE_LINES:
                problems.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name} is {length} lines")
        if re.search(r"responses\s*=\s*\{\s*\*\*", source):
            problems.append(f"{path.relative_to(ROOT)}: responses={{**...}} loses codes of one status; use problems()")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("service", PUBLIC)
def test_http_lives_only_in_feature_packages(service: str) -> None:
    base = ROOT / "services" / service
    stray = [str(p.relative_to(ROOT)) for p in base.rglob("*.py")
             if "tests" not in p.parts and p.name != "routes.py" and "APIRouter(" in p.read_text()]
    assert not stray, f"routers outside routes.py: {stray}"
    features = [p.parent for p in base.rglob("routes.py") if "tests" not in p.parts]
    assert features
    for feature in features:
        missing = [f for f in ("service.py", "schemas.py") if not (feature / f).exists()]
        assert not missing, f"{feature.relative_to(ROOT)} lacks {missing}"


@pytest.mark.parametrize("service", PUBLIC)
def test_every_raised_code_is_documented(service: str) -> None:
    """Each feature's literal AppError codes appear in the responses of that feature's routes."""
    import importlib

    from megacity.settings import ServiceSettings  # noqa: F401  (settings classes import it)

    main = importlib.import_module(f"services.{service}.main")
    settings = importlib.import_module(f"services.{service}.settings").Settings(environment="test")
    spec = main.build(settings).app.openapi()
    missing = []
    for routes in (ROOT / "services" / service).rglob("routes.py"):
        if "tests" in routes.parts:
            continue
        package = routes.parent
        module = ".".join(routes.relative_to(ROOT).with_suffix("").parts)
        routers = [v for v in vars(importlib.import_module(module)).values() if isinstance(v, APIRouter)]
        paths = {getattr(r, "path_format", None) for router in routers for r in router.routes} - {None}
        documented = {(int(status), code) for path, ops in spec["paths"].items() if path in paths
                      for op in ops.values() for status, resp in op.get("responses", {}).items() if status.isdigit()
                      for code in _codes(resp)}
        raised = {(int(s), c) for f in package.glob("*.py") for s, c in RAISED.findall(f.read_text())}
        missing += [f"{package.relative_to(ROOT)}: {s} {c}" for s, c in sorted(raised - documented)]
    assert not missing, "raised but not in the OpenAPI of the feature's routes:\n" + "\n".join(missing)


@pytest.mark.parametrize("service", PAGES)
def test_pages_service_reaches_no_data(service: str) -> None:
    found = []
    for path in (ROOT / "services" / service).rglob("*.py"):
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                      if any(n == banned or n.startswith(banned + ".") for banned in DATA_ACCESS)]
    assert not found, "\n".join(found)
    from megacity.db.migrations import has_migrations

    assert not has_migrations(service)


def _codes(response: dict) -> set[str]:
    content = response.get("content", {}).get("application/problem+json", {})
    codes = {content["example"]["code"]} if "example" in content else set()
    return codes | {ex["value"]["code"] for ex in content.get("examples", {}).values()}
