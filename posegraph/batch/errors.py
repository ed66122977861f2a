"""Errors of the batch layer (a failing *file* is not an error: it is recorded in the manifest)."""

from __future__ import annotations

from ..errors import PosegraphError


class BatchError(PosegraphError, ValueError):
    """The batch as a whole cannot run: bad inputs, an output folder in use, workers that cannot start."""


__all__ = ["BatchError"]
