"""What each queued AI job kind does. Contract (kzone publishes, inference answers):

Job  `<ns>.events.ai.job.<kind>`, an event envelope (megacity.events.envelope) whose data is
     {job_id, zone_id, org_id, kind, input_ref, params}.
Result `<ns>.events.ai.result.<kind>`, envelope id and Nats-Msg-Id `"{job_id}:result"`, data
     {job_id, zone_id, org_id, kind, status: "succeeded"|"failed", result | error, attempt, elapsed_ms}.

kind `voice`  input_ref: audio object. params: language ("en"), reference_text (optional),
              feedback (bool, default true: LLM feedback when this replica serves the LLM).
              result: {text, words[{word,start,end,probability}], duration_seconds, language,
              pronunciation (with reference_text; scoring.pronunciation): {score, accuracy,
              completeness, wer, reference_words, heard_words, counts{correct,substituted,missed,
              inserted}, alignment[{op,reference,heard,start,end,confidence,score}]},
              feedback (optional), models{...}}
kind `pose`   input_ref: image or video object. params: max_frames, sample_fps, reference_ref
              (another image/video object to compare with), output_key (where the keypoints
              JSON goes; default kzone/pose/{job_id}/keypoints.json).
              result: {keypoints_ref, frames, detected_frames, width, height, fps, total_frames,
              first_pose (33 x [x,y,z,visibility]), similarity{score,compared_frames} (with a
              reference), models{...}}
kind `tutor`  input_ref: `inline:<learner's answer>` (or a text object). params: question,
              reference_answer (optional), max_tokens.
              result: {feedback, finish_reason, completion_tokens, answer_similarity (when
              embeddings are served), models{...}}

Errors: an AppError with a 4xx status (bad ref, missing object, undecodable media) is the
job's own fault and final: a "failed" result at once. Anything else is retried with backoff
and, after max_deliver attempts, reported "failed" and dead-lettered.
"""
from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from megacity.errors import AppError
from services.inference import media, scoring
from services.inference.backends.llm import Finish, GenerateParams, cleaned
from services.inference.gate import CancelToken, time_left
from services.inference.models import InferenceState
from services.inference.objects import ObjectRef, ObjectStore, parse_ref

KIND_MODEL = {"voice": "stt", "pose": "pose", "tutor": "llm"}
_JOB_ID = re.compile(r"^[A-Za-z0-9_\-.]{1,128}$")

Progress = Callable[[str, float], Awaitable[None]]


def voice_feedback_prompt(reference_text: str, heard: str, score: float, practise: list[str]) -> str:
    """The user turn for a voice job's feedback (the chat template wraps it): the task first and
    the data after it, labelled, so the model answers rather than continues the data."""
    return (f"Write one or two short sentences of encouraging pronunciation feedback to a language learner. "
            f"Mention the words to practise, if any. Do not ask questions.\n\n"
            f"Sentence to read: \"{reference_text}\"\nWhat was heard: \"{heard}\"\n"
            f"Score: {score:.0f}/100\nWords to practise: {', '.join(practise) or 'none'}")


def plain_voice_feedback(score: float, practise: list[str]) -> str:
    """Feedback when nothing the model wrote survived answer_text's cleaning (a rare, empty
    answer): the facts, plainly, rather than an echo of the prompt."""
    words = f" Practise these words: {', '.join(practise)}." if practise else ""
    return f"{'Well done' if score >= 80 else 'Good try'}: your reading scored {score:.0f} out of 100.{words}"


def tutor_feedback_prompt(question: str, reference_answer: str, answer: str) -> str:
    """The user turn for a tutor job's feedback on a learner's answer."""
    prompt = ("You are a patient tutor. In two or three short sentences, tell the learner what is right "
              "and what to improve in their answer. Do not ask questions.\n\n")
    if question:
        prompt += f"Question: {question}\n"
    if reference_answer:
        prompt += f"Model answer: {reference_answer}\n"
    return prompt + f"Learner's answer: {answer}"


def bad_job(detail: str) -> AppError:
    return AppError(400, "inference.bad_job", detail)


@dataclass(frozen=True)
class Job:
    job_id: str
    zone_id: int
    org_id: str
    kind: str
    input_ref: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, data: dict[str, Any], kind: str) -> Job:
        job_id = str(data.get("job_id", ""))
        if not _JOB_ID.match(job_id):
            raise bad_job("job_id is missing or not a safe identifier")
        try:
            zone_id = int(data["zone_id"])
            org_id = str(uuid.UUID(str(data["org_id"])))
        except (KeyError, TypeError, ValueError):
            raise bad_job("zone_id and org_id are required") from None
        if data.get("kind", kind) != kind:
            raise bad_job(f"kind {data.get('kind')!r} does not match the subject's {kind!r}")
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise bad_job("params must be an object")
        return cls(job_id, zone_id, org_id, kind, str(data.get("input_ref", "")), params)


def _int_param(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(params.get(name, default) or default)
    except (TypeError, ValueError):
        raise bad_job(f"params.{name} must be an integer") from None
    return max(low, min(high, value))


def _float_param(params: dict[str, Any], name: str, default: float) -> float:
    try:
        value = float(params.get(name, default) or default)
    except (TypeError, ValueError):
        raise bad_job(f"params.{name} must be a number") from None
    if value < 0:
        raise bad_job(f"params.{name} must not be negative")
    return value


def _bool_param(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if isinstance(value, str):
        if value.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise bad_job(f"params.{name} must be true or false")
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _text_param(params: dict[str, Any], name: str, limit: int = 4000) -> str:
    value = params.get(name) or ""
    if not isinstance(value, str):
        raise bad_job(f"params.{name} must be a string")
    return value[:limit]


class JobHandlers:
    def __init__(self, state: InferenceState, store: ObjectStore) -> None:
        self.state = state
        self.store = store
        self.settings = state.settings

    async def run(self, job: Job, progress: Progress, deadline: float | None) -> dict[str, Any]:
        handler = {"voice": self.voice, "pose": self.pose, "tutor": self.tutor}[job.kind]
        return await handler(job, progress, deadline)

    @contextlib.asynccontextmanager
    async def _local(self, ref: ObjectRef) -> AsyncIterator[Path]:
        """The object as a local file; S3 downloads happen off the event loop."""
        if ref.scheme == "inline":
            raise bad_job("this job kind needs a stored object as input_ref")
        cm = self.store.local_file(ref)
        path = await asyncio.to_thread(cm.__enter__)
        try:
            yield path
        finally:
            await asyncio.to_thread(cm.__exit__, None, None, None)

    def _models(self, *names: str) -> dict[str, str]:
        return {n: self.state.models.backends[n].description for n in names if n in self.state.models.backends}

    async def _generate(self, prompt: str, max_tokens: int, deadline: float | None) -> tuple[str, Finish]:
        backend = self.state.backend("llm")
        gate = self.state.gate("llm")
        token = CancelToken(deadline)
        text: list[str] = []
        finish = Finish("stop", 0)
        async with gate.slot(time_left(deadline), bounded=False):
            params = GenerateParams(prompt, max_tokens, repetition_penalty=self.settings.llm_repetition_penalty,
                                    no_repeat_ngram_size=self.settings.llm_no_repeat_ngram_size)
            pieces = backend.stream(params, token, gate)
            if self.settings.llm_clean_output:
                pieces = cleaned(pieces, prompt, token)
            async for piece in pieces:
                if isinstance(piece, Finish):
                    finish = piece
                else:
                    text.append(piece)
        if finish.reason == "deadline":
            raise AppError(504, "inference.deadline_exceeded", "the job ran out of time while generating")
        return "".join(text).strip(), finish

    # -- voice ------------------------------------------------------------------------------
    async def voice(self, job: Job, progress: Progress, deadline: float | None) -> dict[str, Any]:
        ref = parse_ref(job.input_ref)
        language = _text_param(job.params, "language", 16).strip().lower() or None
        reference_text = _text_param(job.params, "reference_text")
        want_feedback = _bool_param(job.params, "feedback", self.settings.job_voice_feedback)
        backend = self.state.backend("stt")
        await progress("transcribing", 10.0)
        async with self._local(ref) as path:
            transcript = await self.state.call("stt", backend.transcribe, str(path), language,
                                               deadline=deadline, bounded=False)
        result: dict[str, Any] = transcript.as_dict()
        if reference_text:
            await progress("scoring", 60.0)
            # Pure Python over (reference x heard) words: off the event loop.
            result["pronunciation"] = await asyncio.to_thread(scoring.pronunciation, reference_text,
                                                              result["words"], transcript.text)
        if want_feedback and reference_text and "llm" in self.state.gates:
            await progress("feedback", 75.0)
            score = result["pronunciation"]["score"]
            missed = scoring.words_to_practise(result["pronunciation"])
            prompt = voice_feedback_prompt(reference_text, transcript.text, score, missed)
            feedback, _ = await self._generate(prompt, self.settings.job_feedback_max_tokens, deadline)
            result["feedback"] = feedback or plain_voice_feedback(score, missed)
        result["models"] = self._models("stt", "llm") if "feedback" in result else self._models("stt")
        return result

    # -- pose -------------------------------------------------------------------------------
    async def _pose_of(self, ref: ObjectRef, max_frames: int, sample_fps: float, deadline: float | None) -> Any:
        backend = self.state.backend("pose")
        async with self._local(ref) as path:
            rgb = await asyncio.to_thread(media.read_image, path)
            if rgb is not None:
                return await self.state.call("pose", backend.estimate_image, rgb, deadline=deadline, bounded=False)
            return await self.state.call("pose", backend.estimate_video, str(path), max_frames, sample_fps,
                                         deadline=deadline, bounded=False)

    async def pose(self, job: Job, progress: Progress, deadline: float | None) -> dict[str, Any]:
        ref = parse_ref(job.input_ref)
        s = self.settings
        max_frames = _int_param(job.params, "max_frames", s.pose_default_frames, 1, s.pose_max_frames)
        sample_fps = _float_param(job.params, "sample_fps", 0.0)
        reference = job.params.get("reference_ref")
        reference_ref = parse_ref(reference) if reference else None
        output_key = _text_param(job.params, "output_key", 512) or f"kzone/pose/{job.job_id}/keypoints.json"
        await progress("estimating", 10.0)
        result = await self._pose_of(ref, max_frames, sample_fps, deadline)
        doc = result.as_dict()
        summary: dict[str, Any] = {
            "frames": len(result.frames), "detected_frames": sum(1 for f in result.frames if f.landmarks),
            "width": result.width, "height": result.height, "fps": result.fps, "total_frames": result.total_frames,
            "landmarks_per_frame": 33,
            "first_pose": next((frame["landmarks"] for frame in doc["frames"] if frame["landmarks"]), None),
        }
        if reference_ref is not None:
            await progress("comparing", 60.0)
            ref_result = await self._pose_of(reference_ref, max_frames, sample_fps, deadline)
            doc["reference_ref"] = str(reference_ref)
            summary["similarity"] = scoring.pose_similarity([f.landmarks for f in result.frames],
                                                            [f.landmarks for f in ref_result.frames])
            doc["similarity"] = summary["similarity"]
        await progress("storing", 90.0)
        try:
            summary["keypoints_ref"] = await asyncio.to_thread(self.store.put_json, ref, output_key, doc)
        except ValueError as exc:
            raise bad_job(f"params.output_key: {exc}") from None
        summary["models"] = self._models("pose")
        return summary

    # -- tutor ------------------------------------------------------------------------------
    async def tutor(self, job: Job, progress: Progress, deadline: float | None) -> dict[str, Any]:
        ref = parse_ref(job.input_ref)
        if ref.scheme == "inline":
            answer = ref.text
        else:
            async with self._local(ref) as path:
                if path.stat().st_size > 64 * 1024:
                    raise bad_job("a tutor answer object must be at most 64 KB of text")
                answer = (await asyncio.to_thread(path.read_bytes)).decode("utf-8", errors="replace")
        answer = answer.strip()[:4000]
        if not answer:
            raise bad_job("the learner's answer is empty")
        question = _text_param(job.params, "question")
        reference_answer = _text_param(job.params, "reference_answer")
        max_tokens = _int_param(job.params, "max_tokens", self.settings.job_tutor_max_tokens, 1,
                                self.settings.llm_max_tokens)
        result: dict[str, Any] = {}
        if reference_answer and "embed" in self.state.gates:
            await progress("comparing", 20.0)
            backend = self.state.backend("embed")
            vectors = await self.state.call("embed", backend.embed, [answer, reference_answer], deadline=deadline,
                                            bounded=False)
            result["answer_similarity"] = round(max(0.0, sum(a * b for a, b in zip(*vectors))) * 100.0, 1)
        await progress("generating", 40.0)
        prompt = tutor_feedback_prompt(question, reference_answer, answer)
        feedback, finish = await self._generate(prompt, max_tokens, deadline)
        result.update({"feedback": feedback, "finish_reason": finish.reason,
                       "completion_tokens": finish.completion_tokens,
                       "models": self._models("llm", "embed") if "answer_similarity" in result
                       else self._models("llm")})
        return result
