"""Response models of /api/v1/arena/questions/{id}/similar and /explain."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from megacity.http_app import problem_response

NOT_EMBEDDED = problem_response(409, "arena.embedding_pending", "The question is not embedded yet; retry shortly",
                                "question 9b2f0c1e-... is not embedded yet (inference was unavailable)")
NOT_SEEN = problem_response(404, "arena.not_found", "No such question among the ones you can see or have played")
INFERENCE_DOWN = problem_response(503, "dependency.inference_unavailable", "The inference service is unavailable")

_SIMILAR: dict[str, Any] = {
    "id": "4d3c2b1a-5d4a-4c3b-8a29-1f0e2d3c4b5a", "type": "mc", "content": "Which of these particles has no charge?",
    "choices": ["proton", "neutron", "electron"], "difficulty": 2, "shared": True, "similarity": 0.912,
    "category_ids": []}


class SimilarQuestion(BaseModel):
    """A question to practise next: never its answer (it may come up in a match)."""

    id: uuid.UUID
    type: str
    content: str
    choices: list[str] | None
    difficulty: int
    shared: bool
    similarity: float = Field(description="cosine similarity of the MiniLM embeddings, 0..1")
    category_ids: list[uuid.UUID]


class SimilarList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SIMILAR]}]})

    items: list[SimilarQuestion] = Field(description="nearest first; none you have played in a match")


class ExplainIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"answer": "proton"}, {}]})

    answer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = Field(
        "", description="your answer, to be told what was wrong with it (optional)")


class Source(BaseModel):
    id: uuid.UUID
    content: str
    similarity: float


class Explanation(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "question_id": "9b2f0c1e-5d4a-4c3b-8a29-1f0e2d3c4b5a",
        "explanation": "A neutron has no electric charge, unlike the proton [4d3c2b1a-5d4a-4c3b-8a29-1f0e2d3c4b5a].",
        "cited": ["4d3c2b1a-5d4a-4c3b-8a29-1f0e2d3c4b5a"],
        "sources": [{"id": "4d3c2b1a-5d4a-4c3b-8a29-1f0e2d3c4b5a", "content": "Which particle has no charge?",
                     "similarity": 0.91}]}]})

    question_id: uuid.UUID
    explanation: str
    cited: list[uuid.UUID] = Field(description="the sources the explanation cites by id (only retrieved ones count)")
    sources: list[Source] = Field(description="the related questions retrieved and given to the model")
