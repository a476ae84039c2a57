"""phasectl: measure a development phase from the repository and keep its report current."""

from __future__ import annotations

from phasectl.errors import PhasectlError

__all__ = ["PhasectlError"]
