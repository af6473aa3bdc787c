"""The probe has no SQL of its own: tenant records it (RecordMeshProbe) and publishes the event
that kzone receives."""
from __future__ import annotations
