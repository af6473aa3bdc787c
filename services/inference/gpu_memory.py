"""The GPU memory budget of one inference replica (one card): vLLM, whisper large-v3 and the
embeddings share it, so vLLM must not be told to take 85 % of the card.

vLLM refuses to start unless the free memory is at least `gpu_memory_utilization` x total, and
it then keeps that fraction for itself (weights, activations, CUDA graphs, KV cache). So vLLM is
loaded first (models.load_order) and given exactly its share: the card minus what the other
models need later minus a safety margin. Its KV cache is sized explicitly (`kv_cache_memory_bytes`)
from what the admitted streams can use, instead of "whatever is left of the fraction": 0.85 of an
80 GB card would reserve ~50 GB of KV cache that 64 streams of a few hundred tokens never touch.

The figures are planning figures from the models' sizes (weights) and the engines' documented
overheads, not measurements: bench/gpu_check.sh prints the real ones on a GPU node.
"""
from __future__ import annotations

from dataclasses import dataclass

GIB = 1024 ** 3

# Resident GiB of each non-vLLM model on the card, weights + working memory at its concurrency.
# whisper large-v3 (1.55 B params): float16 3.1 GiB of weights, int8_float16 1.6 GiB; beam 5
# decoding of a 30 s window at 2 concurrent calls adds ~1.4 GiB either way.
WHISPER_GIB = {"float16": 4.5, "int8_float16": 3.0, "int8": 3.0, "bfloat16": 4.5}
EMBED_GIB = 0.5  # all-MiniLM-L6-v2: 90 MB of weights; batches of 64 x 256 tokens
PROCESS_CONTEXT_GIB = 0.6  # CUDA context + allocator slack of the service process (CTranslate2, torch)
VLLM_OVERHEAD_GIB = 2.0  # engine process context, activations at max_num_seqs, CUDA graphs
SAFETY_GIB = 1.0  # fragmentation, NCCL/cuBLAS workspaces, the driver's own


class MemoryPlanError(ValueError):
    """The models do not fit on the card."""


@dataclass(frozen=True)
class MemoryPlan:
    total_gib: float
    whisper_gib: float
    embed_gib: float
    llm_weights_gib: float
    kv_cache_gib: float
    gpu_memory_utilization: float  # vLLM's share of the card
    max_full_length_seqs: int  # sequences of max_model_len tokens the KV cache holds at once
    kv_tokens: int

    @property
    def kv_cache_bytes(self) -> int:
        return int(self.kv_cache_gib * GIB)

    @property
    def vllm_gib(self) -> float:
        return self.gpu_memory_utilization * self.total_gib

    @property
    def free_gib(self) -> float:
        return self.total_gib - self.vllm_gib - self.whisper_gib - self.embed_gib - PROCESS_CONTEXT_GIB


def plan(total_bytes: int, *, llm_weights_gib: float, kv_bytes_per_token: int, max_model_len: int,
         max_num_seqs: int, stt_compute_type: str | None = "float16", embed: bool = True,
         typical_tokens: int = 2048) -> MemoryPlan:
    """vLLM's share (`gpu_memory_utilization`) and KV cache for a card of `total_bytes`.

    `stt_compute_type` None: whisper is not on this card. KV cache wanted: `max_num_seqs`
    streams of `typical_tokens` (prompt + answer) each, at least two of `max_model_len`; it is
    capped by what the card has left. A card that cannot hold two full-length sequences after
    the weights is refused (MemoryPlanError), so a wrong model/card pairing fails at start-up
    with a reason, not inside vLLM's profiler."""
    total = total_bytes / GIB
    whisper = WHISPER_GIB[stt_compute_type] if stt_compute_type else 0.0
    embed_gib = EMBED_GIB if embed else 0.0
    others = whisper + embed_gib + PROCESS_CONTEXT_GIB + SAFETY_GIB
    fixed = llm_weights_gib + VLLM_OVERHEAD_GIB
    room = total - others - fixed
    per_token_gib = kv_bytes_per_token / GIB
    minimum = 2 * max_model_len * per_token_gib
    if room < minimum:
        raise MemoryPlanError(
            f"a {total:.0f} GiB card cannot hold the LLM ({llm_weights_gib:.1f} GiB of weights + "
            f"{VLLM_OVERHEAD_GIB:.1f} GiB), whisper ({whisper:.1f} GiB) and embeddings ({embed_gib:.1f} GiB) "
            f"with a KV cache of two {max_model_len}-token sequences ({minimum:.1f} GiB): "
            f"{room:.1f} GiB left")
    wanted = max(minimum, max_num_seqs * min(typical_tokens, max_model_len) * per_token_gib)
    kv = min(wanted, room)
    utilization = (fixed + kv) / total
    tokens = int(kv / per_token_gib)
    return MemoryPlan(total_gib=total, whisper_gib=whisper, embed_gib=embed_gib, llm_weights_gib=llm_weights_gib,
                      kv_cache_gib=round(kv, 2), gpu_memory_utilization=round(utilization, 3),
                      max_full_length_seqs=tokens // max_model_len, kv_tokens=tokens)


def budget_table(card_gib: tuple[int, ...] = (24, 48, 80), **kwargs: object) -> str:
    """The README's table: one row per card size (markdown)."""
    rows = ["| card | whisper | embeddings | LLM weights + overhead | KV cache | `gpu_memory_utilization` | "
            "KV tokens (full 8k sequences) | left unused |", "|---|---|---|---|---|---|---|---|"]
    for gib in card_gib:
        p = plan(gib * GIB, **kwargs)  # type: ignore[arg-type]
        rows.append(f"| {gib} GB | {p.whisper_gib:.1f} | {p.embed_gib:.1f} | "
                    f"{p.llm_weights_gib:.1f} + {VLLM_OVERHEAD_GIB:.1f} | {p.kv_cache_gib:.1f} | "
                    f"{p.gpu_memory_utilization:.3f} | {p.kv_tokens:,} ({p.max_full_length_seqs}) | {p.free_gib:.1f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    from services.inference.settings import Settings

    s = Settings()
    print(budget_table(llm_weights_gib=s.llm_gpu_weights_gib, kv_bytes_per_token=s.llm_kv_bytes_per_token,
                       max_model_len=s.llm_max_model_len, max_num_seqs=s.llm_max_num_seqs,
                       stt_compute_type=s.stt_compute_type or "float16"))
