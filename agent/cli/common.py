"""Helpers shared by CLI commands: settings, path arguments, JSON output, tables, clean exits.

- ``PathArg`` is the argparse ``type`` of every path argument: the operator's own path,
  resolved through the one trust boundary (``tools.shop.paths``) and checked for its kind
  when the command line is parsed (a test enumerates every path argument and checks it).
- ``print_json`` never writes ``NaN`` or ``Infinity`` (not JSON): non-finite numbers become
  ``null``.
- ``run_guarded`` turns every expected mistake into one ``error:`` line and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from agent.settings import Settings
from tools.errors import PathNotAllowedError, ToolInputError
from tools.shop.paths import (
    Purpose,
    check_input_dir,
    check_input_file,
    check_output_dir,
    check_output_file,
    resolve_path,
)

logger = logging.getLogger(__name__)

PathKind = Literal["file", "dir"]


def register(groups: dict[str, Any]) -> None:
    """No commands here; this module only holds helpers."""


def load_settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with ``--data`` overriding the data directory.

    Raises:
        SettingsLoadError: a setting that cannot be read (one line, exit code 2).
    """
    from agent.settings import load_settings as load

    overrides: dict[str, Any] = {}
    data = getattr(args, "data", None)
    if data:
        overrides["data_dir"] = data
    return load(**overrides)


class BadPathError(Exception):
    """A path argument is refused (not a ``ValueError``, so argparse lets it through).

    ``agent.__main__.main`` prints it as one ``error:`` line and exits with code 2, like
    every other mistake, instead of argparse's usage dump.
    """


class PathArg:
    """The argparse ``type`` of every path argument: the operator's own path, checked.

    A path typed at the command line comes from the operator, so it may point anywhere the
    operating system allows (``resolve_path(..., origin="operator")``; never into the
    shared data sets). Its kind is checked at once: an input must exist (a file or a
    directory as declared), an output must not be the wrong kind and its folder must be
    writable. A mistake raises ``BadPathError``: one ``error:`` line, exit code 2.
    """

    def __init__(self, purpose: Purpose, kind: PathKind, what: str = "") -> None:
        """Declare what the argument is: read or written, a file or a directory."""
        self.purpose: Purpose = purpose
        self.kind: PathKind = kind
        self.what = what or ("input" if purpose == "read" else "output")
        self.__name__ = f"{kind} path"  # argparse names the type in some messages

    def __call__(self, text: str) -> Path:
        """Resolve and check one command-line value."""
        try:
            path = resolve_path(text, None, purpose=self.purpose, origin="operator",
                                what=self.what)
            if self.purpose == "read":
                check = check_input_file if self.kind == "file" else check_input_dir
            else:
                check = check_output_file if self.kind == "file" else check_output_dir
            return check(path, self.what)
        except (PathNotAllowedError, ToolInputError) as exc:
            raise BadPathError(str(exc)) from None

    def __repr__(self) -> str:
        return f"PathArg({self.purpose!r}, {self.kind!r})"


def finite(obj: Any) -> Any:
    """A JSON-ready value with every NaN or infinite number replaced by ``None``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def json_text(obj: Any, *, indent: int | None = None) -> str:
    """``obj`` as strict JSON text (models dumped, non-finite numbers as null)."""
    return json.dumps(
        finite(to_jsonable(obj)), ensure_ascii=False, default=str, allow_nan=False, indent=indent
    )


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
    sys.stdout.write(json_text(obj) + "\n")


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
    from tools.errors import DataNotFoundError, DataValidationError

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
        except OSError as exc:  # the disk, not the program: a full disk, a read-only folder
            logger.debug("command failed", exc_info=True)
            where = f": {exc.filename}" if exc.filename else ""
            return fail(f"{exc.strerror or type(exc).__name__}{where}")

    return wrapper
