"""requirements-gpu.txt resolves for the GPU image's platform (Linux x86_64, glibc 2.36, CPython
3.11) without installing anything here: pip's resolver in a dry run with `--report`, against
PyPI, into a throwaway target.

- `PIP_CONFIG_FILE=/dev/null`: this machine's pip configuration caps torch (a constraint file
  for the CPU wheels on its disk) and adds local indexes; the GPU set needs PyPI's CUDA torch.
- Slow, and why: the index reached here publishes no separate wheel metadata (PEP 658), so pip
  downloads every wheel whole to read its METADATA (vLLM, torch and the CUDA libraries: several
  GB; 3-5 minutes here). `--use-feature=fast-deps` (HTTP range requests) was tried: no faster,
  pip still fetches the chosen wheels whole at the end.
- pip 23 does not expand `manylinux_2_36` to the older manylinux tags, so each is listed.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GPU = ROOT / "requirements-gpu.txt"
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)] + ["manylinux2014_x86_64"]


def _pins(path: Path) -> dict[str, str]:
    """name -> the requirement line without its comment, for `name==...`/`name>=...` lines."""
    out = {}
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        name = re.split(r"[=<>!~\[ ;]", line, maxsplit=1)[0].lower()
        out[name] = line
    return out


def test_gpu_set_keeps_the_platform_pins_except_marked_overrides():
    platform, gpu = _pins(ROOT / "requirements.txt"), _pins(GPU)
    overrides = {name for name in gpu if re.search(rf"^{re.escape(name)}\S*\s+# override:", GPU.read_text(),
                                                    re.MULTILINE | re.IGNORECASE)}
    assert overrides == {"fastapi", "numpy"}
    for name, line in platform.items():
        assert name in gpu, f"requirements-gpu.txt lacks the platform's {line}"
        if name not in overrides:
            assert gpu[name] == line, f"requirements-gpu.txt has {gpu[name]!r}, requirements.txt {line!r}"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("gpu-resolve")
    out = tmp / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
           "--report", str(out), "--target", str(tmp / "target"),
           "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
           *[arg for p in PLATFORMS for arg in ("--platform", p)], "-r", str(GPU)]
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": "", "PIP_CONSTRAINT": ""}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, f"requirements-gpu.txt does not resolve:\n{done.stderr[-6000:]}"
    data = json.loads(out.read_text())
    assert not list((tmp / "target").glob("*")), "a dry run installed something"
    return {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
            for item in data["install"]}


def test_resolves_with_the_torch_and_cuda_libraries_vllm_needs(report):
    assert report["vllm"] == "0.33.0"
    assert report["torch"] == "2.14.0"  # vLLM 0.33's pin; PyPI's Linux build is the CUDA 13 one
    assert report["transformers"].startswith("5.20.")  # vLLM 0.33: transformers<5.21
    assert report["nvidia-cudnn-cu13"].startswith("9.")
    assert report["nvidia-cublas"].startswith("13.")  # torch's cuBLAS (nvidia/cu13/lib)
    assert report["nvidia-nccl-cu13"]
    assert report["nvidia-ml-py"]
    runtime_cu12 = [name for name in report if re.fullmatch(
        r"nvidia-(cuda-runtime|cuda-nvrtc|cudnn|cufft|curand|cusolver|cusparse|nccl|nvjitlink)-cu12", name)]
    assert not runtime_cu12, f"a second CUDA 12 stack would shadow torch's libraries: {runtime_cu12}"


def test_ctranslate2_gets_the_cuda_major_it_was_built_for(report):
    """ctranslate2 4.8.x dlopens libcublas.so.12 (CUDA 12): its cuBLAS must be the cu12 wheel,
    beside torch's CUDA 13 one; cuDNN 9 (one soname for both majors) comes from torch."""
    assert report["ctranslate2"] == "4.8.5" and report["faster-whisper"] == "1.2.1"
    assert report["nvidia-cublas-cu12"].startswith("12.")
    assert "nvidia-cudnn-cu12" not in report  # would overwrite nvidia/cudnn/lib of the cu13 wheel


def test_platform_overrides_are_what_vllm_accepts(report):
    assert report["fastapi"] == "0.136.3" and report["numpy"] == "2.3.5"
    assert report["grpcio"] == "1.85.1" and report["opentelemetry-sdk"] == "1.45.2"
    assert report["sentence-transformers"] == "6.2.0"
