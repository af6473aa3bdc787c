"""Exam service settings: EXAM_* variables (see megacity.settings.ServiceSettings)."""
from megacity.settings import ServiceSettings, settings_class


class ExamSettings(ServiceSettings):
    # How often the background sweep scores attempts whose time limit has passed.
    expiry_sweep_seconds: float = 15.0
    # Percentiles are shown only once an exam's norm group (the org's counted attempts of it)
    # has at least this many attempts; below it they are null (`norm_group_too_small`).
    min_norm_group: int = 30
    # How long an exam's attempt list reuses a student's name looked up in auth (seconds).
    student_name_cache_seconds: float = 60.0


Settings = settings_class("exam", ExamSettings)
