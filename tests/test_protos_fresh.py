"""Generated gRPC code in libs/mcproto matches protos/ (run `make protos` when this fails)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_proto_code_is_fresh() -> None:
    spec = importlib.util.spec_from_file_location("protos_build", ROOT / "protos" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.stale() == []


def test_every_service_with_grpc_api_has_a_proto_package() -> None:
    packages = {p.parent.parent.name for p in (ROOT / "protos" / "mcproto").rglob("*.proto")}
    assert {"auth", "tenant", "cat", "inference", "events"} <= packages
