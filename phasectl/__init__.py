"""phasectl: measure a development phase from the repository and keep its report current."""

from __future__ import annotations

TYPE_CHECKING = False  # `phasectl --help` imports no more than it shows
if TYPE_CHECKING:
    from phasectl.errors import PhasectlError

__all__ = ["PhasectlError"]


def __getattr__(name: str) -> object:
    if name == "PhasectlError":
        from phasectl.errors import PhasectlError

        return PhasectlError
    raise AttributeError(f"module 'phasectl' has no attribute {name!r}")
