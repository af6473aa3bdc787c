# syntax=docker/dockerfile:1
# The inference service's GPU image, `megacity/inference:<tag>-cuda` (the tag
# gateway/k8s_cluster.gpu_image deploys). The build context is the repository root:
#   DOCKER_BUILDKIT=1 docker build -f deploy/docker/inference-gpu.Dockerfile \
#     --secret id=hf_token,env=HF_TOKEN -t megacity/inference:<tag>-cuda .
# CUDA comes from PyPI's nvidia-* wheels (requirements-gpu.txt); the node brings only the NVIDIA
# driver (R580+, CUDA 13) through the container runtime (k8s runtimeClassName nvidia).
# Every weight is downloaded here, at build time; the running container never reaches a hub
# (HF_HUB_OFFLINE=1, set only after the downloads).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app:/app/libs
# Triton (vLLM's kernels) compiles a small launcher with the system C compiler at run time.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin megacity
WORKDIR /app
COPY requirements.txt requirements-gpu.txt ./
RUN pip install -r requirements-gpu.txt && pip install --no-deps mediapipe==0.10.21

# Weights, at build time, into the folders the settings and the k8s Deployment name.
# whisper large-v3 through faster-whisper's own downloader, which keeps preprocessor_config.json
# (without it large-v3 computes 80 mel bins instead of 128).
RUN python -c "from faster_whisper import download_model; download_model('large-v3', output_dir='/opt/models/whisper-large-v3')" \
    && test -s /opt/models/whisper-large-v3/model.bin \
    && test -s /opt/models/whisper-large-v3/preprocessor_config.json
# The LLM: Gemma 3 4B instruct (the CPU model's family; 8.6 GiB in bf16, fits a 24 GB card beside
# large-v3, see services/inference/README.md). Gated on the hub: the token is a build secret,
# never a layer.
ARG LLM_REPO=google/gemma-3-4b-it
ARG LLM_REVISION=main
RUN --mount=type=secret,id=hf_token,required=false \
    HF_TOKEN="$(cat /run/secrets/hf_token 2>/dev/null || true)" python -c "import sys; from huggingface_hub import snapshot_download; snapshot_download(sys.argv[1], revision=sys.argv[2], local_dir='/opt/models/llm', allow_patterns=['*.json', '*.safetensors', '*.model', '*.jinja', 'tokenizer*'])" "$LLM_REPO" "$LLM_REVISION" \
    && test -s /opt/models/llm/config.json \
    && rm -rf /opt/models/llm/.cache /root/.cache

# Run time: offline, non-root, caches on a writable volume (k8s mounts one at /var/cache/megacity
# over a read-only root filesystem; the folders below are the image's own when none is mounted).
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HOME=/var/cache/megacity/home \
    XDG_CACHE_HOME=/var/cache/megacity \
    HF_HOME=/var/cache/megacity/huggingface \
    VLLM_CACHE_ROOT=/var/cache/megacity/vllm \
    TRITON_CACHE_DIR=/var/cache/megacity/triton \
    VLLM_WORKER_MULTIPROC_METHOD=spawn \
    INFERENCE_DEVICE=cuda \
    INFERENCE_STT_GPU_MODEL=/opt/models/whisper-large-v3 \
    INFERENCE_LLM_GPU_MODEL=/opt/models/llm
RUN mkdir -p /var/cache/megacity/home /var/cache/megacity/huggingface /var/cache/megacity/vllm \
        /var/cache/megacity/triton \
    && chown -R 10001:10001 /var/cache/megacity && chmod -R a+rX /opt/models
COPY libs/ libs/
COPY services/__init__.py services/__init__.py
COPY services/inference/ services/inference/
ENV SERVICE=inference
USER 10001
EXPOSE 8106 9106
CMD ["python", "-m", "services.inference"]
