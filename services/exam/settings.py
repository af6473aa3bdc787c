"""Exam service settings: EXAM_* variables (see megacity.settings.ServiceSettings)."""
from megacity.settings import ServiceSettings, settings_class


class ExamSettings(ServiceSettings):
    # How often the background sweep scores attempts whose time limit has passed.
    expiry_sweep_seconds: float = 15.0


Settings = settings_class("exam", ExamSettings)
