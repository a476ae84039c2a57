"""phasectl: measure a development phase from the repository and keep its report current."""

from __future__ import annotations

TYPE_CHECKING = False  # the console script's first imports stay lean (phasectl.early)
if TYPE_CHECKING:
    from phasectl.errors import PhasectlError

__all__ = ["PhasectlError"]


def __getattr__(name: str) -> object:
    if name == "PhasectlError":
        from phasectl.errors import PhasectlError

        return PhasectlError
    raise AttributeError(f"module 'phasectl' has no attribute {name!r}")
