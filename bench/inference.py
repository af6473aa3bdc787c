"""Inference on the CPU: speech real-time factor (whisper-base int8), pose frames/s (MediaPipe),
embedding throughput (all-MiniLM-L6-v2) and LLM tokens/s (Gemma 3 270M), with the models the
service loads (services.inference.models.ModelSet), timed in process. GPU figures (vLLM,
faster-whisper large-v3) need a GPU machine and are reported as not measured without one."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

import numpy as np

from services.inference import hardware
from services.inference.backends.llm import GenerateParams
from services.inference.gate import CancelToken
from services.inference.models import ModelSet
from services.inference.settings import Settings

PASSAGE = (
    "Please open your books and read the first chapter about the history of music. "
    "Korean popular music grew from many sources, and today it is heard all over the world. "
    "Singers train for years to learn singing, dancing and speaking in several languages. "
    "Practise each sentence slowly at first, then read it again at a natural speed. "
    "Listen carefully to the recording and repeat the words that you find difficult. "
    "When you are ready, record your voice and compare it with the teacher's example."
)


def _espeak(tmp: Path) -> Path:
    espeak = shutil.which("espeak-ng")
    if not espeak:
        raise SystemExit("espeak-ng is missing: run scripts/setup.sh")
    path = tmp / "passage.wav"
    subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", str(path), PASSAGE], check=True, timeout=120)
    return path


def _video(tmp: Path, frames: int = 150) -> Path:
    import cv2
    from skimage import data

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    h, w = image.shape[:2]
    path = tmp / "dance.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (w, h))
    for i in range(frames):
        writer.write(np.roll(image, int(20 * np.sin(i / 8)), axis=1))
    writer.release()
    return path


def _timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def _parallel(fn, workers: int) -> float:
    threads = [threading.Thread(target=fn) for _ in range(workers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def run() -> str:
    settings = Settings(environment="test", http_port=0, grpc_port=0, device="cpu")
    models = ModelSet(settings)
    load_started = time.perf_counter()
    models.load(("stt", "pose", "embed", "llm"))
    load_total = time.perf_counter() - load_started
    stt, pose, embed, llm = (models.backends[m] for m in ("stt", "pose", "embed", "llm"))
    load1 = os.getloadavg()[0]
    rows: list[str] = []

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        wav = _espeak(tmp)
        from faster_whisper.audio import decode_audio

        audio = decode_audio(str(wav))
        duration = len(audio) / 16000
        result = stt.transcribe(audio, "en", CancelToken())
        beam5 = _timed(lambda: stt.transcribe(audio, "en", CancelToken()), 3)
        stt.settings = settings.model_copy(update={"stt_beam_size": 1})
        beam1 = _timed(lambda: stt.transcribe(audio, "en", CancelToken()), 3)
        stt.settings = settings
        from services.inference.scoring import word_error_rate

        wer = word_error_rate(PASSAGE, result.text)
        rtf5, rtf1 = median(beam5) / duration, median(beam1) / duration

        video = _video(tmp)
        from skimage import data

        photo = data.astronaut()
        pose.estimate_image(photo, CancelToken())
        static = _timed(lambda: pose.estimate_image(photo, CancelToken()), 30)
        static_fps = 1 / median(static)
        video_runs = _timed(lambda: pose.estimate_video(str(video), 150, 0.0, CancelToken()), 3)
        video_fps = 150 / median(video_runs)
        pair = _parallel(lambda: [pose.estimate_image(photo, CancelToken()) for _ in range(30)], 2)
        pair_fps = 60 / pair

    sentences = [f"Sentence number {i} talks about learning Korean songs and dances." for i in range(1024)]
    embed.embed(sentences[:64], CancelToken())
    emb = _timed(lambda: embed.embed(sentences, CancelToken()), 3)
    emb_rate = len(sentences) / median(emb)

    prompt = "Write a short paragraph for a student about practising Korean pronunciation every day."
    counts: list[int] = []

    def one(tokens: int = 128) -> None:
        finish = llm.generate_sync(GenerateParams(prompt, tokens), CancelToken(), lambda _: None)
        counts.append(finish.completion_tokens)

    single = _timed(one, 2)
    single_tps = median([c / t for c, t in zip(counts, single)])
    counts.clear()
    five = _parallel(lambda: one(64), 5)
    five_tps = sum(counts) / five
    load2 = os.getloadavg()[0]

    rows.append("## Inference models on the CPU (issue: K-Zone and inference services)\n")
    rows.append(
        f"Models as the inference service loads them (`ModelSet`, device `cpu`, {hardware.cpu_threads(0)} threads), "
        f"timed in process on this machine's 2 cores, which other work shares (load average "
        f"{load1:.1f} at the start, {load2:.1f} at the end). Load + warm-up of all four: {load_total:.0f} s "
        f"({', '.join(f'{m} {s:.1f} s' for m, s in models.load_seconds.items())}; model files laid out beforehand "
        f"by `make setup`, whose one-time Gemma GGUF conversion takes ~60 s).\n")
    rows.append("| what | model | measured | goal |")
    rows.append("|---|---|---|---|")
    rows.append(f"| speech real-time factor, beam 5 (service default) | {stt.description} | "
                f"**{rtf5:.3f}** ({median(beam5):.2f} s for {duration:.1f} s of espeak-ng speech; WER {wer:.2f}) "
                f"| ≤ 0.5: {'meets' if rtf5 <= 0.5 else 'misses'} |")
    rows.append(f"| speech real-time factor, beam 1 | {stt.description} | {rtf1:.3f} ({median(beam1):.2f} s) | |")
    rows.append(f"| pose, video (tracking, consecutive frames) | {pose.description} | **{video_fps:.1f} frames/s** "
                f"(150 frames of 512×512 MP4, decode included) | ≥ 10: {'meets' if video_fps >= 10 else 'misses'} |")
    rows.append(f"| pose, single images (detector + landmarks each) | {pose.description} | {static_fps:.1f} images/s "
                f"(one caller); {pair_fps:.1f} images/s with 2 concurrent callers | |")
    rows.append(f"| embeddings | {embed.description} | {emb_rate:,.0f} sentences/s (1,024 short sentences, "
                f"batches of 64) | |")
    rows.append(f"| LLM, one stream | {llm.description} | {single_tps:.1f} tokens/s (128 new tokens, greedy, fp32) | |")
    rows.append(f"| LLM, 5 concurrent streams (the limit) | {llm.description} | {five_tps:.1f} tokens/s in total "
                f"(64 tokens each) | |")
    rows.append("")
    rows.extend(_gpu_rows(audio, duration, prompt))
    rows.append("Single runs, with all four models in one process as the service runs them; on a shared machine "
                "the figures are lower bounds. Run alone: `python -m bench.inference`.\n")
    return "\n".join(rows)


def _gpu_rows(audio: np.ndarray, duration: float, prompt: str) -> list[str]:
    """faster-whisper large-v3 and vLLM on a GPU, when this machine has one."""
    if hardware.cuda_device_count() == 0:
        return ["GPU figures — vLLM tokens/s and faster-whisper large-v3 real-time factor — were **not measured**: "
                "this run had no GPU (`INFERENCE_DEVICE=cuda` selects those backends; `pytest -m gpu` and this "
                "benchmark measure them where a GPU is present).\n"]
    import asyncio

    rows = ["GPU:\n", "| what | model | measured |", "|---|---|---|"]
    try:
        import torch

        device_name = torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001
        device_name = "CUDA device 0"
    gpu = ModelSet(Settings(environment="test", http_port=0, grpc_port=0, device="cuda"))
    try:
        gpu.load(("stt",))
        stt = gpu.backends["stt"]
        runs = _timed(lambda: stt.transcribe(audio, "en", CancelToken()), 3)
        rows.append(f"| speech real-time factor on {device_name} | {stt.description} | {median(runs) / duration:.4f} |")
    except Exception as exc:  # noqa: BLE001 - report, do not hide
        rows.append(f"| speech on {device_name} | faster-whisper large-v3 | not measured: {exc} |")
    try:
        gpu.load(("llm",))
        llm = gpu.backends["llm"]

        async def streams(n: int, tokens: int) -> tuple[int, float]:
            async def one() -> int:
                count = 0
                async for piece in llm.stream(GenerateParams(prompt, tokens), CancelToken(), None):
                    count = getattr(piece, "completion_tokens", count)
                return count

            started = time.perf_counter()
            counts = await asyncio.gather(*(one() for _ in range(n)))
            return sum(counts), time.perf_counter() - started

        async def all_streams() -> list[tuple[int, int, float]]:
            # One event loop for the engine's whole life: its output handler is bound to the loop
            # that first used it, and a second asyncio.run would meet a dead engine.
            await llm.warm_up_async()
            return [(n, *await streams(n, 256)) for n in (1, 5)]

        for n, total, seconds in asyncio.run(all_streams()):
            rows.append(f"| LLM on {device_name}, {n} concurrent stream(s) | {llm.description} | "
                        f"{total / seconds:.1f} tokens/s in total |")
    except Exception as exc:  # noqa: BLE001
        rows.append(f"| LLM on {device_name} | vLLM | not measured: {exc} |")
    return rows + [""]


if __name__ == "__main__":
    print(run())
