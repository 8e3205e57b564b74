"""Errors raised by the domain code."""

from __future__ import annotations


class ToolInputError(ValueError):
    """A tool was called with arguments it cannot serve; the caller can fix the call."""


class DataValidationError(ValueError):
    """A shop data file does not hold what the data model expects."""


class DataNotFoundError(FileNotFoundError):
    """A shop data directory or file is missing."""


class PathNotAllowedError(PermissionError):
    """An import or export names a path outside the allowed directories."""
