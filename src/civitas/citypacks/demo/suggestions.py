"""The demo's residents' suggestions, their support and moderation.

Made through the real services, once.
"""

from __future__ import annotations

from collections.abc import Callable


def setup(progress: Callable[[str], None]) -> list[str]:
    """Create what is missing; return lines telling the visitor what to explore."""
    return []
