"""The house style of the exam service, checked: one package per feature with exactly
routes / service / queries / schemas; routes hold no SQL and no route function is longer than
40 lines; every documented error status keeps all of its codes."""
from __future__ import annotations

import ast
from pathlib import Path

from services.exam.main import build
from services.exam.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ("analytics", "attempts", "diagnostics", "exams", "item_banks", "item_import", "items", "reports")
FILES = {"__init__.py", "routes.py", "service.py", "queries.py", "schemas.py"}


def test_each_feature_is_a_package_of_the_four_files() -> None:
    packages = sorted(p.parent.name for p in ROOT.glob("*/routes.py"))
    assert packages == sorted(FEATURES)
    for name in FEATURES:
        assert {p.name for p in (ROOT / name).glob("*.py")} == FILES, name


def test_routes_hold_no_sql_and_short_route_functions() -> None:
    for name in FEATURES:
        path = ROOT / name / "routes.py"
        source = path.read_text()
        for needle in ("text(", "select(", "execute(", "tenant_transaction", "sqlalchemy"):
            assert needle not in source, (path, needle)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and node.decorator_list:
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                assert length <= 40, (path, node.name, length)


def test_every_documented_error_code_survives() -> None:
    spec = build(Settings(environment="test", database_url="")).app.openapi()
    start = spec["paths"]["/api/v1/exams/{exam_id}/start"]["post"]["responses"]
    codes = set(start["409"]["content"]["application/problem+json"]["examples"])
    assert {"attempt.already_active", "exam.not_published", "attempt.limit_reached"} <= codes
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                content = response.get("content", {}).get("application/problem+json")
                if content and "examples" in content:  # several codes: each named by its code
                    assert all(k == v["value"]["code"] for k, v in content["examples"].items()), (method, path, status)
