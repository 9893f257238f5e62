"""The one error of the exports: what was wrong with the inputs and what to do."""

from __future__ import annotations


class ExportError(ValueError):
    """An export cannot be made: a folder is not a run, nothing is left after filtering, an unknown dimension."""


class UnknownDimensionError(ExportError):
    """The preference dimension is neither ``final_score`` nor a scorer the episodes were scored on."""
