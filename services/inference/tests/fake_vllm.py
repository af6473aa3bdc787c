"""A fake vLLM engine for CPU unit tests: an object with the interface of vLLM's AsyncLLM that
the service uses (`generate` as an async generator of RequestOutputs, `abort`, `get_tokenizer`,
`check_health`), with a scheduler that runs at most `max_num_seqs` requests at once and keeps
the rest waiting, as vLLM's does. No GPU, no vLLM import."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


class EngineDeadError(Exception):
    """Named like vllm.v1.engine.exceptions.EngineDeadError (the service matches the name)."""


@dataclass
class CompletionOutput:
    text: str
    token_ids: list[int]
    finish_reason: str | None = None


@dataclass
class RequestOutput:
    request_id: str
    outputs: list[CompletionOutput]
    finished: bool = False


class FakeTokenizer:
    chat_template = "{% for m in messages %}<start_of_turn>user\n{{ m.content }}<end_of_turn>\n{% endfor %}"

    def __init__(self) -> None:
        self.template_calls: list[dict[str, Any]] = []

    def apply_chat_template(self, messages: list[dict[str, str]], *, tokenize: bool,
                            add_generation_prompt: bool) -> str:
        self.template_calls.append({"messages": messages, "tokenize": tokenize,
                                    "add_generation_prompt": add_generation_prompt})
        text = "".join(f"<start_of_turn>user\n{m['content']}<end_of_turn>\n" for m in messages)
        return text + ("<start_of_turn>model\n" if add_generation_prompt else "")

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return list(range(len(text.split())))  # one token per word


def sampling(max_tokens: int, temperature: float, top_p: float, output_kind: Any) -> SimpleNamespace:
    return SimpleNamespace(max_tokens=max_tokens, temperature=temperature, top_p=top_p, output_kind=output_kind)


@dataclass
class FakeEngine:
    max_num_seqs: int = 4
    # Each request waits here before its first token ("queued/prefilling") until released.
    hold_first_token: bool = False
    dead: bool = False
    too_long_at: int = 10_000  # prompt words beyond which generate raises like vLLM does
    tokenizer: FakeTokenizer = field(default_factory=FakeTokenizer)
    prompts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    running: int = 0
    max_running: int = 0
    admitted: int = 0  # requests inside generate() at once (running + waiting)
    max_admitted: int = 0

    def __post_init__(self) -> None:
        self.release = asyncio.Event()
        self.slots = asyncio.Semaphore(self.max_num_seqs)
        self.first_token_waiting = 0

    async def get_tokenizer(self) -> FakeTokenizer:
        return self.tokenizer

    async def check_health(self) -> None:
        if self.dead:
            raise EngineDeadError("EngineCore encountered an issue")

    async def abort(self, request_id: str) -> None:
        self.aborted.append(request_id)

    async def generate(self, prompt: str, sampling_params: Any, request_id: str) -> AsyncIterator[RequestOutput]:
        if self.dead:
            raise EngineDeadError("EngineCore encountered an issue")
        if len(prompt.split()) > self.too_long_at:
            raise ValueError(f"The decoder prompt (length {len(prompt.split())}) is longer than the maximum "
                             f"model length of {self.too_long_at}.")
        self.prompts.append(prompt)
        self.params.append(sampling_params)
        self.admitted += 1
        self.max_admitted = max(self.max_admitted, self.admitted)
        try:
            async with self.slots:  # vLLM's scheduler: max_num_seqs running, the rest waiting
                self.running += 1
                self.max_running = max(self.max_running, self.running)
                try:
                    if self.hold_first_token:
                        self.first_token_waiting += 1
                        await self.release.wait()
                    n = sampling_params.max_tokens
                    for i in range(n):
                        await asyncio.sleep(0)
                        if self.dead:
                            raise EngineDeadError("EngineCore died mid-request")
                        last = i == n - 1
                        yield RequestOutput(request_id, [CompletionOutput(f" w{i}", [i], "length" if last else None)],
                                            finished=last)
                finally:
                    self.running -= 1
        finally:
            self.admitted -= 1
            self.closed.append(request_id)
