"""The data subject: a customer's identifying values, and removing or keeping them in records.

``Subject`` holds a customer's id and the personal values that identify them (e-mail,
phone, address, full names, notes) and finds or erases them in text. ``scrub_record``
removes the subject from a JSON-like value (for erasure); ``project_record`` keeps only
what is about the subject (for exports). Used by every module of ``agent.privacy``.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from tools.errors import ToolInputError

#: What an erased value is replaced with.
ERASED = "[erased]"
#: What another customer's id in an exported text becomes.
OTHER_CUSTOMER = "[another customer]"
#: Personal values shorter than this are not searched for on their own (too ordinary);
#: values with Chinese characters count from two characters.
MIN_VALUE_CHARS = 6
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_ID_RE = re.compile(r"^C\d+$")
_ANY_ID = re.compile(r"(?<![A-Za-z0-9_])C\d{5,}(?![0-9])")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass
class Subject:
    """The customer being exported or erased: their id and the values that identify them."""

    customer_id: str
    first_name: str = ""
    #: E-mail, phone, address, full names and notes: erased wherever they appear.
    personal: list[str] = field(default_factory=list)
    in_data: bool = True

    def __post_init__(self) -> None:
        self._id = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(self.customer_id)}(?![0-9])")
        name = self.first_name.strip()
        self._first: re.Pattern[str] | None = None
        if name and _CJK.search(name):
            self._first = re.compile(re.escape(name))
        elif len(name) >= 2:
            self._first = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        values = sorted(
            {v for v in self.personal if len(v) >= (2 if _CJK.search(v) else MIN_VALUE_CHARS)},
            key=len,
        )
        self._personal = [re.compile(re.escape(v), re.IGNORECASE) for v in reversed(values)]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Subject:
        """The subject of one customers-table row."""

        def text(key: str) -> str:
            value = row.get(key)
            return value.strip() if isinstance(value, str) else ""

        first, last = text("first_name"), text("last_name")
        personal = [text("email"), text("phone"), text("address"), text("notes")]
        if last:
            personal += [f"{first} {last}", f"{last} {first}", f"{last}, {first}"]
            if _CJK.search(last):
                personal.append(f"{last}{first}")
        phone = text("phone")
        if phone:
            personal.append(re.sub(r"[\s-]", "", phone))
        return cls(
            customer_id=str(row["customer_id"]),
            first_name=first,
            personal=[p for p in personal if p],
        )

    def mentioned_in(self, text: str) -> bool:
        """Whether ``text`` names the customer (by id or by a personal value).

        JSON written with ``ensure_ascii`` (unicode escapes) is searched decoded too.
        """
        if "\\u" in text:
            text = text + "\n" + _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
        return bool(self._id.search(text)) or any(p.search(text) for p in self._personal)

    def id_in(self, text: str) -> bool:
        """Whether ``text`` holds the customer id (as a whole id, not inside a longer one)."""
        return bool(self._id.search(text))

    def scrub_text(self, text: str) -> str:
        """``text`` with the personal values, the id and (next to the id) the first name erased."""
        for pattern in self._personal:
            text = pattern.sub(ERASED, text)
        if self._id.search(text):
            text = self._id.sub(ERASED, text)
            if self._first is not None:
                text = self._first.sub(ERASED, text)
        return text

    def personal_values(self) -> list[str]:
        """The personal values searched for (longest first)."""
        return [p.pattern for p in self._personal]


class _Drop:
    """Marker: the record is about the subject and is removed."""


#: Returned by ``scrub_record`` / ``project_record`` for a value that is removed whole.
DROP = _Drop()


def about(obj: dict[str, Any], subject: Subject) -> bool:
    """Whether a record has a field equal to the subject's id (it is about them)."""
    return any(isinstance(v, str) and v.strip() == subject.customer_id for v in obj.values())


def scrub_record(obj: Any, subject: Subject) -> Any:
    """Remove the subject from a JSON-like value.

    A dict with a field equal to the id (``customer_id``, ``id``, ...) is a record about the
    customer: it is removed from lists and replaced by ``"[erased]"`` elsewhere; a key equal
    to the id drops its entry; an id in a list is dropped; texts are scrubbed with
    :meth:`Subject.scrub_text`. Returns the marker ``DROP`` when ``obj`` itself is about
    the subject.
    """
    if isinstance(obj, str):
        if obj.strip() == subject.customer_id:
            return DROP
        return subject.scrub_text(obj)
    if isinstance(obj, dict):
        if about(obj, subject):
            return DROP
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if str(key).strip() == subject.customer_id:
                continue
            clean = scrub_record(value, subject)
            out[subject.scrub_text(str(key))] = ERASED if clean is DROP else clean
        return out
    if isinstance(obj, list):
        return [c for v in obj if (c := scrub_record(v, subject)) is not DROP]
    return obj


def project_record(obj: Any, subject: Subject) -> Any:
    """Keep only what is about the subject in a JSON-like value (for exports).

    Records about other customers (a dict with another customer's id and not the subject's)
    and other customers' ids in lists are removed; other ids in texts become
    ``"[another customer]"``. A record's shared context (a run's request, a filter) stays.
    """
    if isinstance(obj, str):
        if _ANY_ID.fullmatch(obj.strip()) and obj.strip() != subject.customer_id:
            return DROP
        start, end = obj.find("{"), obj.rfind("}")
        if 0 <= start < end and _ANY_ID.search(obj):  # a JSON payload inside a text
            try:
                inner = json.loads(obj[start : end + 1])
            except json.JSONDecodeError:
                pass
            else:
                kept = project_record(inner, subject)
                payload = "{}" if kept is DROP else json.dumps(kept, ensure_ascii=False)
                obj = obj[:start] + payload + obj[end + 1 :]
        return _ANY_ID.sub(
            lambda m: m.group(0) if m.group(0) == subject.customer_id else OTHER_CUSTOMER, obj
        )
    if isinstance(obj, dict):
        ids = {
            v.strip() for v in obj.values() if isinstance(v, str) and _ANY_ID.fullmatch(v.strip())
        }
        if ids and subject.customer_id not in ids:
            return DROP
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if _ANY_ID.fullmatch(str(key)) and str(key) != subject.customer_id:
                continue
            kept = project_record(value, subject)
            if kept is not DROP:
                out[str(key)] = kept
        return out
    if isinstance(obj, list):
        return [k for v in obj if (k := project_record(v, subject)) is not DROP]
    return obj


def mentions(obj: Any, subject: Subject) -> bool:
    """Whether a JSON-like value mentions the subject anywhere."""
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return subject.mentioned_in(text)


def normalise_id(customer_id: str) -> str:
    """The customer id as stored (trimmed, upper case), or ``ToolInputError`` if malformed."""
    cid = customer_id.strip().upper()
    if not _ID_RE.match(cid):
        raise ToolInputError(f"customer_id {customer_id!r} is not a customer id like 'C00042'")
    return cid


def suggest(cid: str, known: list[str]) -> str:
    """A "; did you mean ..." suffix naming ids close to ``cid`` (empty when none are)."""
    close = difflib.get_close_matches(cid, known, n=3, cutoff=0.6)
    if known and len(cid) < len(known[0]):  # "C42" for "C00042"
        padded = f"C{int(cid[1:]):0{len(known[0]) - 1}d}"
        if padded in known:
            close = [padded, *[c for c in close if c != padded]][:3]
    return f"; did you mean {', '.join(close)}?" if close else ""
