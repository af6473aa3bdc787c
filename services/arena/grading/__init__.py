"""Grading round answers: exact, alias and numeric matching for multiple choice and short answers
(`service.grade_exact`), and the LLM for free text (`llm.grade_free_text`), measured against a
human-labelled set (`labelled_set.jsonl`, bench/arena_grading.py) before it may count in rated play."""
