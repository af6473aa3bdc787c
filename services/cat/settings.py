"""Cat service settings: CAT_* variables (see megacity.settings.ServiceSettings) plus the engine's."""
from typing import ClassVar

from megacity.settings import ServiceSettings, settings_class


class CatSettings(ServiceSettings):
    keeps_tables: ClassVar[bool] = False  # no database URL needed (compose and k8s give none)
    # Items held in the in-memory bank cache (all versions together); least recently used go first.
    bank_cache_items: int = 2_000_000
    # Session state TTL in Redis: sliding while in progress, then kept this long once finished.
    session_ttl_seconds: int = 6 * 3600
    finished_ttl_seconds: int = 24 * 3600


Settings = settings_class("cat", base=CatSettings)
