"""Helpers shared by CLI commands: settings, JSON output, tables and clean error exits."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from agent.settings import Settings


def register(groups: dict[str, Any]) -> None:
    """No commands here; this module only holds helpers."""


def load_settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with ``--data`` overriding the data directory."""
    overrides: dict[str, Any] = {}
    data = getattr(args, "data", None)
    if data:
        overrides["data_dir"] = data
    return Settings(**overrides)


def to_jsonable(obj: Any) -> Any:
    """Convert pydantic models (and containers of them) into JSON-ready values."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


def print_json(obj: Any) -> None:
    """Print one JSON object on one line (the last line of output)."""
    sys.stdout.write(json.dumps(to_jsonable(obj), ensure_ascii=False, default=str) + "\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a plain aligned text table."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        sys.stdout.write("\n")
        if n == 0:
            sys.stdout.write("  ".join("-" * w for w in widths) + "\n")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def fail(message: str, code: int = 2) -> int:
    """Print a clear error (no stack trace) and return the exit code."""
    sys.stderr.write(f"error: {message}\n")
    return code


def run_guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command so that expected errors print one clear line instead of a traceback."""
    from tools.errors import (
        DataNotFoundError,
        DataValidationError,
        PathNotAllowedError,
        ToolInputError,
    )

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (
            ToolInputError,
            DataValidationError,
            DataNotFoundError,
            PathNotAllowedError,
        ) as exc:
            return fail(str(exc))

    return wrapper
