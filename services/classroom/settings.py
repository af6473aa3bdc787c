"""Classroom settings: CLASSROOM_* variables (see megacity.settings.ServiceSettings) plus the
live-session rules of seed 002 and issue #14 (lifetimes, limits, retention)."""
from __future__ import annotations

from megacity.settings import ServiceSettings, settings_class


class ClassroomSettings(ServiceSettings):
    # A session expires this long after start unless the teacher extends it (seed 002: 30 min).
    session_minutes: int = 30
    # One extension adds at most this much; a session never lives longer than max_session_minutes.
    extend_max_minutes: int = 60
    max_session_minutes: int = 240
    # Where the join QR points: https://app.<domain>/join/<CODE> (the zone's first domain).
    join_url_template: str = "https://app.{domain}/join/{code}"
    # Joins allowed per code and per client address in a sliding minute. A class shares one
    # address, so the address limit is sized for a school (several classes joining at once); a
    # code's for a 2,000-player game joining within a minute (Kahoot's ceiling).
    join_per_code_per_minute: int = 3000
    join_per_address_per_minute: int = 3000
    # Chat: per participant token bucket (1 message/s, bursts of 5); messages 1..200 characters.
    chat_rate_per_second: float = 1.0
    chat_burst: int = 5
    # A dropped participant's seat (nickname, points) is kept for the session's life; the
    # `left` frame tells the class after this many seconds without a connection.
    seat_grace_seconds: int = 120
    # Bounded send queue per WebSocket (frames); a slower client is disconnected (4408).
    send_queue_frames: int = 512
    # Frames kept per session for resume after reconnect (Redis stream, approximate).
    replay_frames: int = 5000
    # Tallies and leaderboards are pushed at most this often per session while answers arrive.
    tally_interval_ms: int = 300
    # Retention (seed 002): chat 30 days, session logs 90 days, ended sessions 180 days.
    retain_messages_days: int = 30
    retain_logs_days: int = 90
    retain_sessions_days: int = 180
    retention_interval_seconds: float = 3600.0


Settings = settings_class("classroom", ClassroomSettings)
