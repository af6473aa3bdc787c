"""Generate Python code for every .proto under protos/ into libs/ (package `mcproto`), or
check that the committed generated code is current: `python protos/build.py [--check]`."""
from __future__ import annotations

import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
OUT = ROOT / "libs"
PACKAGE = "mcproto"


def generate(out: Path) -> list[Path]:
    sources = sorted(PROTOS.rglob("*.proto"))
    include = str(Path(protoc.__file__).parent / "_proto")
    args = ["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}", f"--pyi_out={out}",
            f"--grpc_python_out={out}", *[str(s) for s in sources]]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for folder in [out / PACKAGE, *(p for p in (out / PACKAGE).rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    return sorted(p.relative_to(out) for p in (out / PACKAGE).rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def stale() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        expected = generate(Path(tmp))
        current = sorted(p.relative_to(OUT) for p in (OUT / PACKAGE).rglob("*")
                         if p.is_file() and "__pycache__" not in p.parts) if (OUT / PACKAGE).exists() else []
        problems = [f"missing or extra: {p}" for p in sorted(set(expected) ^ set(current))]
        problems += [f"stale: {p}" for p in expected if p in current
                     and not filecmp.cmp(Path(tmp) / p, OUT / p, shallow=False)]
        return problems


if __name__ == "__main__":
    if "--check" in sys.argv:
        problems = stale()
        for p in problems:
            print(p)
        if problems:
            print("generated proto code is stale: run `make protos`")
        sys.exit(1 if problems else 0)
    import shutil

    shutil.rmtree(OUT / PACKAGE, ignore_errors=True)
    files = generate(OUT)
    print(f"generated {len(files)} files into libs/{PACKAGE}")
