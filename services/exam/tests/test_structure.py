"""Exam's own part of the house style: one package per feature with exactly routes / service /
queries / schemas, and every documented error status keeps all of its codes (no SQL in routes
and short route functions are checked for every service by tests/test_house_style.py)."""
from __future__ import annotations

from pathlib import Path

from services.exam.main import build
from services.exam.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ("analytics", "attempt_lists", "attempts", "diagnostics", "exams", "item_banks", "item_import", "items", "reports")
FILES = {"__init__.py", "routes.py", "service.py", "queries.py", "schemas.py"}


def test_each_feature_is_a_package_of_the_four_files() -> None:
    packages = sorted(p.parent.name for p in ROOT.glob("*/routes.py"))
    assert packages == sorted(FEATURES)
    for name in FEATURES:
        assert {p.name for p in (ROOT / name).glob("*.py")} == FILES, name


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
