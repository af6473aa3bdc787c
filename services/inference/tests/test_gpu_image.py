"""The GPU image recipe, checked statically (building it needs a GPU-sized download, see the
README): weights fetched in RUN steps at build time into the folders the settings and the k8s
Deployment name, offline at run time, a non-root user with writable caches, a build context
that carries what the Dockerfile copies; and bench/gpu_check.sh parses."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from gateway import k8s_cluster, k8s_pods, k8s_services
from services.inference.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "deploy" / "docker" / "inference-gpu.Dockerfile"
IGNORE = ROOT / "deploy" / "docker" / "inference-gpu.Dockerfile.dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(ln for ln in DOCKERFILE.read_text().splitlines() if not ln.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines() if line.strip()]


def env() -> dict[str, str]:
    out: dict[str, str] = {}
    for op, args in instructions():
        if op == "ENV":
            out.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    return out


def test_weights_are_downloaded_in_run_steps_before_the_image_goes_offline():
    steps = instructions()
    runs = [args for op, args in steps if op == "RUN"]
    assert any("download_model('large-v3', output_dir='/opt/models/whisper-large-v3')" in r for r in runs)
    assert any("preprocessor_config.json" in r for r in runs)  # 128 mel bins
    assert any("snapshot_download" in r and "local_dir='/opt/models/llm'" in r for r in runs)
    offline = next(i for i, (op, args) in enumerate(steps) if op == "ENV" and "HF_HUB_OFFLINE=1" in args)
    downloads = [i for i, (op, args) in enumerate(steps) if op == "RUN" and ("download" in args)]
    assert downloads and max(downloads) < offline
    assert "id=hf_token" in DOCKERFILE.read_text() and "HF_TOKEN=" not in " ".join(a for o, a in steps if o == "ENV")


def test_nothing_is_downloaded_at_run_time():
    e = env()
    assert e["HF_HUB_OFFLINE"] == "1" and e["TRANSFORMERS_OFFLINE"] == "1"
    op, cmd = instructions()[-1]
    assert op == "CMD" and cmd == '["python", "-m", "services.inference"]'


def test_runs_as_the_non_root_user_k8s_expects_with_writable_caches():
    users = [args for op, args in instructions() if op == "USER"]
    assert users == [str(k8s_pods.UID)] and k8s_pods.UID != 0
    e = env()
    cache = k8s_services.GPU_CACHE
    for name in ("HOME", "HF_HOME", "VLLM_CACHE_ROOT", "TRITON_CACHE_DIR", "XDG_CACHE_HOME"):
        assert e[name].startswith(cache), name
    chown = next(a for o, a in instructions() if o == "RUN" and "chown" in a)
    assert f"{k8s_pods.UID}:{k8s_pods.UID} {cache}" in chown


def test_paths_and_environment_agree_with_settings_and_the_k8s_deployment():
    s = Settings(environment="test", http_port=0, grpc_port=0)
    e = env()
    assert e["INFERENCE_STT_GPU_MODEL"] == s.stt_gpu_model == f"{k8s_services.GPU_MODEL_ROOT}/whisper-large-v3"
    assert e["INFERENCE_LLM_GPU_MODEL"] == s.llm_gpu_model == f"{k8s_services.GPU_MODEL_ROOT}/llm"
    k8s_env = k8s_services.Env()
    k8s_services.gpu_env(k8s_env, "INFERENCE")
    deployed = {item["name"]: item["value"] for item in k8s_env.items}
    assert deployed["INFERENCE_STT_MODEL"] == s.stt_gpu_model and deployed["INFERENCE_LLM_GPU_MODEL"] == s.llm_gpu_model
    for name in ("HF_HUB_OFFLINE", "VLLM_WORKER_MULTIPROC_METHOD", "HOME", "HF_HOME", "VLLM_CACHE_ROOT",
                 "TRITON_CACHE_DIR", "XDG_CACHE_HOME"):
        assert deployed[name] == e[name], name
    assert k8s_cluster.gpu_image("inference").endswith("-cuda")


def test_installs_the_gpu_requirements_and_the_context_carries_them():
    runs = " ".join(a for o, a in instructions() if o == "RUN")
    assert "pip install -r requirements-gpu.txt" in runs and "--no-deps mediapipe==0.10.21" in runs
    copied = [a.split()[0] for o, a in instructions() if o == "COPY"]
    allowed = [ln[1:].rstrip("/") for ln in IGNORE.read_text().splitlines() if ln.startswith("!")]
    for path in copied:
        assert (ROOT / path).exists(), path
        assert any(path.rstrip("/") == a or path.startswith(a + "/") for a in allowed), f"{path} not in the context"
    assert "services/*/tests" in IGNORE.read_text()


def test_gpu_check_script_parses():
    script = ROOT / "bench" / "gpu_check.sh"
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = script.read_text()
    for figure in ("1, 5, 16, 64", "KV cache", "BatchedInferencePipeline", "int8_float16", "EngineCore", "REPORT.md"):
        assert figure in text, figure
