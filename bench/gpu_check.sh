#!/usr/bin/env bash
# The first GPU run, prepared (issue 12). On a GPU node, inside the GPU image or a venv with
# requirements-gpu.txt and the models under /opt/models:  bash bench/gpu_check.sh
# Prints and appends to bench/REPORT.md: versions and CUDA visibility; load time and GPU memory
# after each model; vLLM's KV cache and max concurrency (from its log); time to first token
# p50/p95 and tokens/s at 1, 5, 16, 64 streams; whisper large-v3 RTF and WER on 30 s and 10 min of
# espeak-ng speech (beam 5/1, plain/batched+VAD, float16/int8_float16); all models together for
# MIXED_SECONDS (180) with peak memory; readiness after vLLM's engine process is killed.
# Nothing here has run yet: no GPU was available where it was written. Budget: < 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD:$PWD/libs" HF_HUB_OFFLINE=1 VLLM_WORKER_MULTIPROC_METHOD=spawn INFERENCE_DEVICE=cuda
LOG=$(mktemp /tmp/gpu_check.XXXXXX.log)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python - <<'PY'
import importlib.metadata as md
for p in ("vllm", "torch", "transformers", "ctranslate2", "faster-whisper", "sentence-transformers", "nvidia-ml-py"):
    print(p, md.version(p))
import ctranslate2, torch
print("CUDA: torch", torch.cuda.is_available(), torch.version.cuda, "| ctranslate2 devices", ctranslate2.get_cuda_device_count())
PY
timeout "${GPU_CHECK_TIMEOUT:-540}" python - "$LOG" <<'PY' 2>&1 | tee "$LOG"
import asyncio, os, subprocess, sys, tempfile, threading, time
from statistics import median, quantiles
import numpy as np, psutil, pynvml
from bench.inference import PASSAGE
from services.inference.backends.llm import GenerateParams
from services.inference.gate import CancelToken
from services.inference.models import InferenceState, ModelSet
from services.inference.scoring import word_error_rate
from services.inference.settings import Settings

pynvml.nvmlInit(); gpu = pynvml.nvmlDeviceGetHandleByIndex(0)
used = lambda: pynvml.nvmlDeviceGetMemoryInfo(gpu).used / 2**30
rows = [f"## GPU check ({pynvml.nvmlDeviceGetName(gpu)}, {time.strftime('%Y-%m-%d')})\n", "| what | figure |", "|---|---|"]
row = lambda k, v: (rows.append(f"| {k} | {v} |"), print(k, "=", v, flush=True))
settings = Settings(environment="test", http_port=0, grpc_port=0, device="cuda", models="llm,stt,embed")
models = ModelSet(settings)
for m in ("llm", "stt", "embed"):
    models.load((m,)); row(f"load {m}", f"{models.load_seconds[m]:.1f} s, GPU memory used {used():.1f} GiB")
llm, stt = models.backends["llm"], models.backends["stt"]
row("memory plan", str(llm.plan))

async def streams(n, tokens=128):
    async def one():
        t0, first, count = time.perf_counter(), None, 0
        async for piece in llm.stream(GenerateParams(PASSAGE + " Summarise this.", tokens), CancelToken(), None):
            first = first or time.perf_counter() - t0
            count = getattr(piece, "completion_tokens", count)
        return first, count
    t0 = time.perf_counter(); res = await asyncio.gather(*(one() for _ in range(n))); wall = time.perf_counter() - t0
    ttft = sorted(r[0] for r in res); p95 = quantiles(ttft, n=20)[-1] if n > 1 else ttft[0]
    row(f"LLM {n} streams", f"TTFT p50 {median(ttft)*1000:.0f} ms, p95 {p95*1000:.0f} ms; {sum(r[1] for r in res)/wall:.0f} tokens/s")

async def llm_figures():
    await llm.warm_up_async()
    for n in (1, 5, 16, 64): await streams(n)
asyncio.run(llm_figures())

tmp = tempfile.mkdtemp(); wav = os.path.join(tmp, "p.wav")
subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", wav, PASSAGE], check=True)
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.audio import decode_audio
one = decode_audio(wav)
def clip(seconds):
    reps = int(np.ceil(seconds * 16000 / len(one))); a = np.tile(one, reps)[: int(seconds * 16000)]
    return a, " ".join([PASSAGE] * reps)
for ctype in ("float16", "int8_float16"):
    model = stt._model if ctype == "float16" else WhisperModel(settings.stt_gpu_model, device="cuda", compute_type=ctype)
    batched = BatchedInferencePipeline(model)
    for seconds in (30, 600):
        audio, ref = clip(seconds)
        for beam in (5, 1):
            for name, run in (("plain", lambda: model.transcribe(audio, language="en", beam_size=beam)),
                              ("batched+VAD", lambda: batched.transcribe(audio, language="en", beam_size=beam, vad_filter=True, batch_size=16))):
                if seconds == 600 and (beam, name) not in ((5, "batched+VAD"), (1, "plain")): continue
                t0 = time.perf_counter(); segs, _ = run(); text = " ".join(s.text for s in segs); dt = time.perf_counter() - t0
                row(f"whisper {ctype} {seconds}s beam {beam} {name}", f"RTF {dt/seconds:.4f}, WER {word_error_rate(ref[:len(text)*2], text):.2f} (ref cut to length: approximate)")

peak, stop = [used()], threading.Event()
def sample():
    while not stop.is_set(): peak.append(used()); time.sleep(0.5)
async def mixed(seconds):
    end = time.monotonic() + seconds; audio, _ = clip(30); n = [0, 0, 0]
    async def gen():
        while time.monotonic() < end: await streams(16, 64); n[0] += 16
    def asr():
        while time.monotonic() < end: stt.transcribe(audio, "en", CancelToken()); n[1] += 1
    def emb():
        while time.monotonic() < end: models.backends["embed"].embed([PASSAGE] * 64, CancelToken()); n[2] += 64
    await asyncio.gather(gen(), asyncio.to_thread(asr), asyncio.to_thread(emb))
    return n
threading.Thread(target=sample, daemon=True).start()
n = asyncio.run(mixed(float(os.environ.get("MIXED_SECONDS", "180")))); stop.set()
row("all models together", f"{n[0]} LLM streams, {n[1]} transcriptions, {n[2]} embeddings; peak GPU memory {max(peak):.1f} GiB")

async def kill_engine():
    state = InferenceState(settings, models); llm.on_fatal = state.report_fatal; await state.check_health()
    cores = [p for p in psutil.Process().children(recursive=True) if "EngineCore" in " ".join(p.cmdline()) or "EngineCore" in p.name()]
    for p in cores: p.kill()
    await asyncio.sleep(2)
    try: await state.check_health()
    except Exception as exc: print("check_health:", exc)
    row("vLLM engine killed", f"{len(cores)} engine process(es) killed; fatal -> NOT_SERVING: {bool(state.fatal)} ({state.fatal[:80]})")
asyncio.run(kill_engine())
with open(sys.argv[1] + ".md", "w") as f: f.write("\n".join(rows) + "\n")
PY
grep -hiE "KV cache size|Maximum concurrency" "$LOG" | sed 's/^/vLLM: /' | tee -a "$LOG.md"
{ echo; cat "$LOG.md"; } >> bench/REPORT.md
echo "figures appended to bench/REPORT.md"
