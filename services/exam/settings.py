"""Exam service settings: EXAM_* variables (see megacity.settings.ServiceSettings)."""
from megacity.settings import settings_class

Settings = settings_class("exam")
