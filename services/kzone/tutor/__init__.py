"""Tutor questions (`POST /api/v1/kzone/tutor/ask`): a learner's free question answered by the
inference service's LLM, streamed back as Server-Sent Events. Nothing is stored."""
