"""`POST /api/v1/kzone/tutor/ask`: a free question to the AI tutor, the answer streamed as
Server-Sent Events (protocol in services/kzone/README.md, "Tutor questions")."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problem_response, problems
from megacity.runtime import ResourcesDep
from services.kzone import permissions as perm
from services.kzone.api_docs import AUTH_ERRORS
from services.kzone.tutor import schemas, service

router = APIRouter(prefix="/api/v1/kzone", tags=["tutor"])

Asker = Annotated[Principal, Depends(require(perm.AI_JOB_CREATE))]

_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": schemas.TutorAskIn.model_json_schema(),
    "example": {"question": "Why do we say 감사합니다 and not 고마워 to a teacher?",
                "context": "Lesson 3: polite and casual speech"}}}}}
_STREAM: dict[int | str, dict[str, Any]] = {200: {"description": (
    "The answer as Server-Sent Events: `delta` events (`{\"text\"}`: whole sentences, to append), then one "
    "`done` (`{finish_reason, completion_tokens, model, elapsed_ms}`); or, when inference fails after the "
    "stream has started, one `error` event whose data is a problem JSON (`code` "
    "`dependency.inference_unavailable`, `inference.deadline_exceeded` or `inference.engine_dead`) and the "
    "stream ends."),
    "content": {"text/event-stream": {"schema": {"type": "string"}, "examples": {
        "answer": {"summary": "an answer", "value": schemas.SSE_EXAMPLE},
        "failed": {"summary": "inference failed mid-answer", "value": schemas.SSE_ERROR_EXAMPLE}}}}}}


@router.post("/tutor/ask", summary="Ask the AI tutor a question; the answer streams as Server-Sent Events",
             description="Needs `kzone:job_create` (students of the zone). JSON body `{question, context?}`: "
                         f"question 1–{schemas.MAX_QUESTION} characters, context up to {schemas.MAX_CONTEXT}. "
                         "The inference service's LLM answers in one to three sentences, streamed as `text/event-"
                         "stream` (`delta`… `done`, or `error`). Nothing is stored. Inference unreachable, busy or "
                         "not serving the LLM → 503 before the stream starts; closing the connection stops the "
                         "generation.",
             response_class=StreamingResponse, openapi_extra=_BODY,
             responses=_STREAM | problems(  # 200 is the stream; problems() holds only 4xx/5xx
                 AUTH_ERRORS,
                 (400, "tutor.invalid_body", "The body is not a JSON object {question, context?} of strings"),
                 (400, "tutor.question_empty", "The question is empty"),
                 (413, "tutor.question_too_long", f"The question is over {schemas.MAX_QUESTION} characters"),
                 (413, "tutor.context_too_long", f"The context is over {schemas.MAX_CONTEXT} characters"),
                 (413, "tutor.body_too_large", f"The body is over {schemas.MAX_BODY} bytes"),
                 problem_response(503, "dependency.inference_unavailable",
                                  "The inference service cannot answer now (down, draining, busy); retry shortly",
                                  "the tutor cannot answer now (dependency.inference_unavailable); retry shortly")))
async def ask(request: Request, principal: Asker, res: ResourcesDep) -> StreamingResponse:
    body = schemas.parse(await request.body())
    call = await service.open_answer(res, body)
    return StreamingResponse(service.answer_events(call, request.receive), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
