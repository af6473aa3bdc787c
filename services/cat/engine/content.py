"""Content balancing (Kingsbury & Zara 1989) and enemy items.

The next item comes from the blueprint area furthest behind its target: the largest
`proportion · (n + 1) - given` (ties: larger proportion, then name), so a fixed-length test ends
within one item of `proportion · length` in every area. Areas without available items are skipped
in that order. Enemy items (members of one enemy set) are never both given: once one is given,
the others are blocked for the rest of the session.
"""
from __future__ import annotations

from collections.abc import Mapping


def area_order(blueprint: Mapping[str, float], counts: Mapping[str, int], n_given: int) -> list[str]:
    """Blueprint areas, most urgent first."""
    def key(area: str) -> tuple[float, float, str]:
        deficit = blueprint[area] * (n_given + 1) - counts.get(area, 0)
        return (-deficit, -blueprint[area], area)

    return sorted(blueprint, key=key)
