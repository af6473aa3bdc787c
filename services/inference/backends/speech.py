"""Speech to text with faster-whisper (CTranslate2): whisper-base int8 on CPU, large-v3 on CUDA."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from megacity.errors import AppError
from services.inference import hardware, metrics, model_files
from services.inference.gate import CancelToken
from services.inference.settings import InferenceSettings

SAMPLE_RATE = 16000


@dataclass
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass
class Transcript:
    text: str
    words: list[Word] = field(default_factory=list)
    duration_seconds: float = 0.0
    language: str = ""
    language_probability: float = 0.0

    def as_dict(self, max_words: int = 2000) -> dict[str, Any]:
        return {
            "text": self.text, "duration_seconds": round(self.duration_seconds, 3), "language": self.language,
            "language_probability": round(self.language_probability, 4),
            "words": [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3),
                       "probability": round(w.probability, 4)} for w in self.words[:max_words]],
        }


class SpeechBackend:
    model = "stt"

    def __init__(self, settings: InferenceSettings, device: str, threads: int) -> None:
        self.settings = settings
        self.device = device
        self.threads = threads
        self.compute_type = settings.stt_compute_type or ("float16" if device == "cuda" else "int8")
        self.model_ref = settings.stt_model or (settings.stt_gpu_model if device == "cuda" else "")
        self.backend = "faster-whisper"
        self.name = ""
        self._model: Any = None

    def load(self) -> None:
        if self.device == "cuda":
            hardware.preload_cuda12_blas()
        from faster_whisper import WhisperModel

        if self.model_ref:
            path = self.model_ref
            check_model_dir(Path(path))
            name = Path(path).name
            self.name = name if name.startswith("whisper") else f"whisper-{name}"
        else:
            path = str(model_files.whisper_base(self.settings.state_dir))
            self.name = "whisper-base"
        self._model = WhisperModel(path, device=self.device, compute_type=self.compute_type,
                                   cpu_threads=self.threads if self.device == "cpu" else 0,
                                   num_workers=max(1, self.settings.stt_max_concurrency),
                                   local_files_only=True)

    @property
    def description(self) -> str:
        return f"{self.name} ({self.compute_type}, {self.device})"

    def warm_up(self) -> None:
        # One second of quiet noise runs the encoder and the decoder once.
        rng = np.random.default_rng(0)
        audio = (rng.standard_normal(SAMPLE_RATE) * 0.01).astype(np.float32)
        self.transcribe(audio, "en", CancelToken())

    def transcribe(self, audio: str | BinaryIO | np.ndarray, language: str | None, token: CancelToken) -> Transcript:
        try:
            return self._transcribe(audio, language, token)
        except RuntimeError as exc:
            if is_out_of_memory(exc):
                metrics.REJECTED.labels(self.model, "out_of_memory").inc()
                raise AppError(429, "inference.gpu_out_of_memory",
                               "the GPU has no memory for this call right now; retry with backoff") from None
            raise

    def _transcribe(self, audio: str | BinaryIO | np.ndarray, language: str | None, token: CancelToken) -> Transcript:
        token.check()
        try:
            segments, info = self._model.transcribe(
                audio, language=language or None, beam_size=self.settings.stt_beam_size, word_timestamps=True,
                vad_filter=False, condition_on_previous_text=False)
        except Exception as exc:  # PyAV/FFmpeg could not decode it: the caller's input, not our fault
            if _is_decode_error(exc):
                raise AppError(400, "inference.bad_media", f"audio could not be decoded: {exc}") from None
            raise
        if info.duration > self.settings.stt_max_audio_seconds:
            raise AppError(400, "inference.media_too_long",
                           f"audio is {info.duration:.0f} s; at most {self.settings.stt_max_audio_seconds:.0f} s")
        texts: list[str] = []
        words: list[Word] = []
        for segment in segments:  # decoding happens lazily, segment by segment: a cancel point
            token.check()
            texts.append(segment.text)
            for w in segment.words or ():
                words.append(Word(w.word.strip(), float(w.start), float(w.end), float(w.probability)))
        metrics.AUDIO_SECONDS.labels(self.backend).inc(info.duration)
        return Transcript(text="".join(texts).strip(), words=words, duration_seconds=float(info.duration),
                          language=info.language, language_probability=float(info.language_probability))


def is_out_of_memory(exc: BaseException) -> bool:
    """CTranslate2 ("CUDA failed with error out of memory") and torch (OutOfMemoryError, a
    RuntimeError) both say so in the message."""
    return "out of memory" in str(exc).lower()


def check_model_dir(path: Path) -> None:
    """A CTranslate2 whisper folder, complete: faster-whisper would otherwise go to the hub (it
    must not: HF_HUB_OFFLINE) or, for large-v3 without preprocessor_config.json, silently
    compute 80 mel bins instead of 128 and transcribe garbage."""
    if not (path / "model.bin").is_file():
        raise RuntimeError(f"no CTranslate2 whisper model at {path} (INFERENCE_STT_MODEL / INFERENCE_STT_GPU_MODEL): "
                           "the GPU image lays it out at build time; nothing is downloaded at run time")
    if "large-v3" in path.name and not (path / "preprocessor_config.json").is_file():
        raise RuntimeError(f"{path} has no preprocessor_config.json: large-v3 needs its 128 mel bins "
                           "(lay it out with faster_whisper.download_model(..., output_dir=...))")


def _is_decode_error(exc: Exception) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith("av") or isinstance(exc, (EOFError,)) or "Invalid data" in str(exc)
