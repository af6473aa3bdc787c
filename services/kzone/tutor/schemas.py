"""Request body and SSE events of `POST /api/v1/kzone/tutor/ask`, with the limits and the
OpenAPI pieces that document them."""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from megacity.errors import AppError

MAX_QUESTION = 1000   # characters
MAX_CONTEXT = 4000    # characters
MAX_BODY = 32 * 1024  # bytes of JSON (both fields at their limit, escaped, fit)


class TutorAskIn(BaseModel):
    """The body; parsed by `parse` (not by FastAPI) so that each limit has its own stable code."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "question": "Why do we say 감사합니다 and not 고마워 to a teacher?",
        "context": "Lesson 3: polite and casual speech"}]})

    question: str = Field(min_length=1, max_length=MAX_QUESTION, description="The learner's question")
    context: str | None = Field(default=None, max_length=MAX_CONTEXT,
                                description="Optional: what the learner is studying (lesson text, a sentence)")


def invalid(detail: str) -> AppError:
    return AppError(400, "tutor.invalid_body", detail)


def parse(raw: bytes) -> TutorAskIn:
    """The body, checked: 413 over MAX_BODY bytes or a field over its limit, 400 otherwise bad."""
    if len(raw) > MAX_BODY:
        raise AppError(413, "tutor.body_too_large", f"the body is larger than {MAX_BODY} bytes")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise invalid("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    unknown = sorted(set(data) - {"question", "context"})
    if unknown:
        raise invalid(f"unknown fields: {', '.join(unknown)}")
    question, context = data.get("question"), data.get("context")
    if not isinstance(question, str) or (context is not None and not isinstance(context, str)):
        raise invalid("question must be a string; context a string or null")
    if "\x00" in question or (context and "\x00" in context):
        raise invalid("question and context must not contain NUL")
    question, context = question.strip(), (context or "").strip() or None
    if not question:
        raise AppError(400, "tutor.question_empty", "question must not be empty")
    if len(question) > MAX_QUESTION:
        raise AppError(413, "tutor.question_too_long", f"question is longer than {MAX_QUESTION} characters")
    if context and len(context) > MAX_CONTEXT:
        raise AppError(413, "tutor.context_too_long", f"context is longer than {MAX_CONTEXT} characters")
    return TutorAskIn(question=question, context=context)


def event(name: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Event (`event:` + one `data:` line of JSON)."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


SSE_EXAMPLE = (
    'event: delta\ndata: {"text":"감사합니다 is the polite form, used with teachers and strangers."}\n\n'
    'event: delta\ndata: {"text":" 고마워 is casual, for friends and younger people."}\n\n'
    'event: done\ndata: {"finish_reason":"stop","completion_tokens":31,"model":"gemma-3-270m (transformers, cpu)",'
    '"elapsed_ms":2140}\n\n')
SSE_ERROR_EXAMPLE = (
    'event: delta\ndata: {"text":"감사합니다 is the polite form."}\n\n'
    'event: error\ndata: {"type":"about:blank","title":"Service Unavailable","status":503,'
    '"code":"dependency.inference_unavailable","detail":"inference did not answer"}\n\n')
