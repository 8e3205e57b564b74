"""Strict rendering of the prompt and copy templates kept as files under ``prompts/``.

Every template file starts with one line declaring the variables it uses::

    <!-- variables: first_name, shop_name -->

(``<!-- variables: -->`` when it uses none). That line is the template's documentation and
the test table: ``tests/tools/copy/test_templates.py`` renders every file with dummy values
for exactly those names, so adding a file to ``prompts/`` needs nothing else. The line is
dropped from the rendered text.

Placeholders are ``${name}``; any other ``$`` is literal text (prices such as ``$89.00``
need no escaping) and ``$${`` writes a literal ``${``. Rendering is strict: a missing
variable, an unused extra variable, or a declaration that differs from the placeholders in
the file raises ``TemplateError`` naming the template and the variables.

A file may be split into named sections with lines ``=== section-name ===``; copy
templates use them for the pieces of a message (subject, greeting, product line, ...).
``render_section`` renders one section, strict about that section's own placeholders.
"""

from __future__ import annotations

import logging
import re
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tools.config import PROMPTS_DIR

logger = logging.getLogger(__name__)

_DECLARATION = re.compile(r"^<!--\s*variables:\s*(?P<names>[^>]*?)\s*-->\s*$")
_SECTION = re.compile(r"^=== (?P<name>[A-Za-z0-9_.\-]+) ===$", re.MULTILINE)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: File types listed by ``list_templates``.
TEMPLATE_SUFFIXES: tuple[str, ...] = (".md", ".txt")


class TemplateError(ValueError):
    """A template is missing, malformed, or rendered with the wrong variables."""


_PLACEHOLDER_SOURCE = r"""
\$(?:
  (?P<escaped>\$)(?=\{)                  |
  \{(?P<braced>[_a-z][_a-z0-9]*)\}       |
  (?P<named>(?!))                        |
  (?P<invalid>\{)
)
"""
_PLACEHOLDER = re.compile(_PLACEHOLDER_SOURCE, re.VERBOSE | re.IGNORECASE)


class _BracedTemplate(string.Template):
    """``string.Template`` that knows only ``${name}`` placeholders.

    The stock pattern also treats ``$word`` as a placeholder, which clashes with prices in
    copy (``$89.00``) and with ``$`` in prompts; here a ``$`` not followed by ``{`` is text.
    A ``${`` that does not close into a valid name is an error rather than silent text.
    """

    pattern = _PLACEHOLDER_SOURCE  # type: ignore[assignment]  # compiled by Template


@dataclass(frozen=True)
class PromptTemplate:
    """One parsed template file: its declared variables, body and sections."""

    name: str
    variables: tuple[str, ...]
    body: str
    sections: dict[str, str] = field(default_factory=dict)
    section_names: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def render(self, **variables: object) -> str:
        """Render the whole file (without its declaration line), strictly."""
        return _substitute(self.name, self.body, set(self.variables), variables)

    def section_variables(self, section: str) -> tuple[str, ...]:
        """The placeholders one section uses, in order of first use."""
        self._section(section)
        return self.section_names[section]

    def render_section(self, section: str, **variables: object) -> str:
        """Render one section strictly against the placeholders it uses."""
        text = self._section(section)
        where = f"{self.name} [{section}]"
        return _substitute(where, text, set(self.section_names[section]), variables)

    def _section(self, section: str) -> str:
        try:
            return self.sections[section]
        except KeyError:
            known = ", ".join(self.sections) or "(none)"
            raise TemplateError(
                f"prompt template {self.name}: no section {section!r}; sections: {known}"
            ) from None


def _identifiers(where: str, text: str) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        if match.group("invalid") is not None:
            line = text.count("\n", 0, match.start()) + 1
            raise TemplateError(
                f"prompt template {where}: line {line}: '${{' does not open a valid "
                "${name} placeholder (write $${ for a literal '${')"
            )
        if match.group("braced"):
            names[match.group("braced")] = None
    return tuple(names)


def _substitute(where: str, text: str, declared: set[str], given: dict[str, object]) -> str:
    missing = sorted(declared - given.keys())
    extra = sorted(given.keys() - declared)
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing variable(s) " + ", ".join(missing))
        if extra:
            parts.append("unexpected variable(s) " + ", ".join(extra))
        expected = ", ".join(sorted(declared)) or "(none)"
        raise TemplateError(f"prompt template {where}: {'; '.join(parts)} (expects {expected})")
    values = {key: str(value) for key, value in given.items()}
    return _BracedTemplate(text).substitute(values)


def _prompts_dir() -> Path:
    return PROMPTS_DIR


@lru_cache(maxsize=512)
def _resolve(name: str, root: Path) -> Path:
    """The file of a template; resolved once per name (drafting renders thousands of pieces)."""
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise TemplateError(f"prompt template {name}: outside {root}")
    if not path.is_file():
        close = ", ".join(_close_names(name, root)) or "none"
        raise TemplateError(f"prompt template {name}: not found in {root} (close: {close})")
    return path


def _close_names(name: str, root: Path) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, _list(root), n=3, cutoff=0.6)


@lru_cache(maxsize=256)
def _parse(name: str, path: Path, mtime_ns: int) -> PromptTemplate:
    """Parse a file; cached per modification time (edits are picked up, re-reads are free)."""
    del mtime_ns  # part of the cache key only
    text = path.read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    match = _DECLARATION.match(first.strip())
    if match is None:
        raise TemplateError(
            f"prompt template {name}: the first line must declare its variables, "
            "e.g. '<!-- variables: first_name, shop_name -->' (or '<!-- variables: -->')"
        )
    declared = tuple(v.strip() for v in match.group("names").split(",") if v.strip())
    bad = [v for v in declared if not _IDENTIFIER.match(v)]
    if bad:
        raise TemplateError(f"prompt template {name}: invalid variable name(s) {', '.join(bad)}")
    used = _identifiers(name, body)
    if set(declared) != set(used):
        undeclared = sorted(set(used) - set(declared))
        unused = sorted(set(declared) - set(used))
        detail = []
        if undeclared:
            detail.append("uses undeclared " + ", ".join(undeclared))
        if unused:
            detail.append("declares unused " + ", ".join(unused))
        raise TemplateError(f"prompt template {name}: {'; '.join(detail)}")
    sections = _split(body)
    return PromptTemplate(
        name=name,
        variables=declared,
        body=body,
        sections=sections,
        section_names={s: _identifiers(f"{name} [{s}]", text) for s, text in sections.items()},
    )


def _split(body: str) -> dict[str, str]:
    """Cut a body at ``=== name ===`` lines; each section's text is stripped of edge blanks."""
    marks = list(_SECTION.finditer(body))
    sections: dict[str, str] = {}
    for n, mark in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(body)
        sections[mark.group("name")] = body[mark.end() : end].strip("\n").rstrip()
    return sections


def load_template(name: str, prompts_dir: Path | None = None) -> PromptTemplate:
    """Load and check the template ``prompts/<name>`` (e.g. ``copy/sms_en.md``).

    Raises:
        TemplateError: the file is missing or its declaration does not match its body.
    """
    root = prompts_dir or _prompts_dir()
    path = _resolve(name, root)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:  # removed since it was resolved: resolve again for the error
        _resolve.cache_clear()
        path = _resolve(name, root)
        mtime = path.stat().st_mtime_ns
    return _parse(name, path, mtime)


def render_template(name: str, **variables: object) -> str:
    """Render ``prompts/<name>`` with exactly its declared variables.

    Raises:
        TemplateError: the template is missing or malformed, a declared variable was not
            given, or a variable was given that the template does not use.
    """
    return load_template(name).render(**variables)


def render_section(name: str, section: str, **variables: object) -> str:
    """Render one ``=== section ===`` of ``prompts/<name>`` with exactly its variables.

    Raises:
        TemplateError: as ``render_template``, or the section does not exist.
    """
    return load_template(name).render_section(section, **variables)


def template_variables(name: str) -> tuple[str, ...]:
    """The variables ``prompts/<name>`` declares on its first line."""
    return load_template(name).variables


def _list(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix in TEMPLATE_SUFFIXES and not p.name.startswith(("README", "."))
    )


def list_templates() -> list[str]:
    """Every template under ``prompts/`` as a relative POSIX path, sorted."""
    return _list(_prompts_dir())
