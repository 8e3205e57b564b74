"""Where imports and exports may read and write: a small allow-list of directories.

Imports and exports never touch a path outside the allowed roots, so a mistyped (or
model-suggested) path cannot read or overwrite arbitrary files. The roots are the current
working directory, the shop's data directory, the state directory, the extra directories in
``ToolConfig.allowed_dirs`` (``AGENT_ALLOWED_DIRS``, a JSON list) and, for reading only, the
shared real data sets beside the repository (``../shared/datasets``).

Paths are resolved first (``..`` and symbolic links included), so a link inside an allowed
directory that points outside it is refused too.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from tools.config import SHARED_DATASETS_DIR, ToolConfig
from tools.errors import PathNotAllowedError

logger = logging.getLogger(__name__)

Purpose = Literal["read", "write"]


def allowed_roots(config: ToolConfig, *, purpose: Purpose) -> list[Path]:
    """The resolved directories a path must lie in for ``purpose`` (no duplicates, in order).

    Args:
        config: The tools' settings (data, state and extra allowed directories).
        purpose: ``"read"`` also allows the shared data sets; ``"write"`` does not.
    """
    candidates = [Path.cwd(), config.data_dir, config.state_dir, *config.allowed_dirs]
    if purpose == "read":
        candidates.append(SHARED_DATASETS_DIR)
    roots: list[Path] = []
    for candidate in candidates:
        root = Path(os.path.expanduser(candidate)).resolve()
        if root not in roots:
            roots.append(root)
    return roots


def ensure_allowed(
    path: str | os.PathLike[str], config: ToolConfig, *, purpose: Purpose, what: str = ""
) -> Path:
    """Resolve ``path`` and return it when it lies inside an allowed directory.

    Args:
        path: The file or directory to read or write (need not exist yet).
        config: The tools' settings.
        purpose: ``"read"`` or ``"write"``; the shared data sets are readable only.
        what: A few words naming the path's role in messages (e.g. ``"import output"``).

    Raises:
        PathNotAllowedError: the path lies outside every allowed directory; the message names
            the path, the allowed directories and how to allow another one.
    """
    resolved = Path(os.path.expanduser(path)).resolve()
    roots = allowed_roots(config, purpose=purpose)
    if any(resolved == root or resolved.is_relative_to(root) for root in roots):
        return resolved
    label = what or ("input" if purpose == "read" else "output")
    extra = ""
    if purpose == "write" and (
        resolved == SHARED_DATASETS_DIR.resolve()
        or resolved.is_relative_to(SHARED_DATASETS_DIR.resolve())
    ):
        extra = " (the shared data sets are read only)"
    logger.info("refused %s path %s: outside the allowed directories", purpose, resolved)
    raise PathNotAllowedError(
        f"{label} path {resolved} is outside the allowed directories{extra}; may {purpose} "
        f"only inside: {', '.join(str(r) for r in roots)}. To allow another directory, add "
        f"it to AGENT_ALLOWED_DIRS (a JSON list, e.g. '[\"/srv/exports\"]')."
    )
