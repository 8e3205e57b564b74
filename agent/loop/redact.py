"""Redaction of personal data and secrets from any text before it is stored or logged.

A :class:`Redactor` knows two kinds of things to remove:

- **Known values**: every personal value of every customer of the shop (last name, e-mail,
  phone, street address, free-text notes, and the full name in both orders), plus the
  configured API key and any other secret. These are found with an Aho-Corasick automaton
  (``pyahocorasick``): one pass over the text whatever the number of customers. A regular
  expression alternation of 15,000 escaped values was measured about 1,000x slower on the
  same text, because Python's ``re`` tries the alternatives one by one at each position.
- **Shapes**: e-mail addresses, phone numbers in national and international formats,
  card-like numbers (12-19 digits passing the Luhn check), IBANs (mod-97 check) and
  API-key-like tokens (``sk-...``), found with regular expressions, so that values of
  people who are not customers (or typed differently) are caught too.

First names are kept on purpose: they are the one personal field the model may see, and
drafts greet customers by them. City and country are not personal on their own and are
kept (they are segment filters). Values shorter than four characters (two for values with
Chinese characters) are skipped: replacing every "Li" or "Ng" would mangle ordinary text;
the full name still covers them.

Known values are matched case-insensitively and, for Latin text, only as whole words (so a
last name "Hall" does not touch "Hallway"). A last name on its own is matched only as
written ("Young", not "young customers"), and a last name that is also a word of the shop's
catalog ("Green", "Wood", "White" on the demo shop, where 11% of the products would
otherwise lose a word) is redacted only next to the first name or a title ("Mrs Green").
Replacements are tokens such as ``[email]``,
``[phone]``, ``[last_name]``, ``[address]``, ``[notes]``, ``[card]`` and ``[api_key]``; a
full name keeps its first name (``"Anna [last_name]"``).

:class:`RedactingFilter` applies a redactor to log records; :func:`install_log_redaction`
hooks it into every record the process creates, whichever logger or handler it goes to.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import ahocorasick  # type: ignore[import-not-found,unused-ignore]
from pydantic import BaseModel

if TYPE_CHECKING:
    import pandas as pd

    from agent.settings import Settings
    from tools.shop.store import ShopData

logger = logging.getLogger(__name__)

#: Shortest known value that is redacted (Latin script); shorter ones would mangle text.
MIN_VALUE_LENGTH = 4
#: Shortest known value that is redacted when it contains CJK characters.
MIN_CJK_VALUE_LENGTH = 2
#: Secrets shorter than this are not redacted as known values (too likely to be ordinary text).
MIN_SECRET_LENGTH = 8
#: Placeholder API keys that are not secrets (local servers accept anything).
PLACEHOLDER_SECRETS = frozenset({"not-needed", "none", "empty", "sk-no-key-required", "dummy"})

#: Titles before a last name that make it a name even when it is also a common word.
TITLES = ("Mr", "Mr.", "Mrs", "Mrs.", "Ms", "Ms.", "Miss", "Dr", "Dr.", "Mx")

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][\w.%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
API_KEY_RE = re.compile(
    r"(?<![\w-])(?:sk|rk|pk)-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{16,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/-]{16,}=*"
)
IBAN_RE = re.compile(
    r"(?<!\w)[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?(?!\w)"
)
# Twelve to nineteen digits, optionally grouped by single spaces or dashes; checked with Luhn.
CARD_RE = re.compile(r"(?<![\w.])\d(?:[ -]?\d){11,18}(?!\w|\.\d)")
# A phone number: optional international prefix (+CC or 00CC, optional "(0)"), optional area
# code in parentheses, then two to six digit groups separated by one space, dot or dash,
# optional extension. Candidates are then checked in ``_phone_ok`` (digit count, dates).
PHONE_RE = re.compile(
    r"""
    (?<![\w+.\-/])
    (?P<prefix>(?:\+|\b00)\d{1,3}[ .\-]?(?:\(0\)[ .\-]?)?)?
    (?P<area>\(\d{1,5}\)[ .\-]?)?
    (?P<body>\d{1,5}(?:[ .\-]\d{2,7}){0,5}|\d{6,15})
    (?P<ext>\s?(?:x|ext\.?\s?)\d{1,5})?
    (?![\w:/]|[.\-]\d)
    """,
    re.VERBOSE,
)
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d")
_DATE_START = re.compile(r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4})")


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum (as card numbers do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """Whether a string is an IBAN with a valid ISO 13616 mod-97 check."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _phone_ok(match: re.Match[str]) -> bool:
    """Check a phone candidate: 7-15 digits, not a date, not a decimal number."""
    text = match.group(0)
    body = match.group("body")
    digits = sum(ch.isdigit() for ch in text) - sum(
        ch.isdigit() for ch in (match.group("ext") or "")
    )
    if not 7 <= digits <= 15:
        return False
    if _DATE_START.match(text):
        return False
    groups = re.split(r"[ .\-]", body)
    framed = bool(match.group("prefix") or match.group("area"))
    if len(groups) == 1:
        # A bare run of digits: only with a prefix or area code, or ten or eleven digits.
        return framed or len(body) in (10, 11)
    if len(groups) == 2 and not framed:
        # "467 3395" or "0961-7596216", but not "1234.5678" (a decimal number).
        return "." not in body
    return True


def shop_words(shop: ShopData) -> set[str]:
    """Lower-cased words of the shop's ordinary text: product and campaign fields."""
    words: set[str] = set()
    sources = [
        (shop.products, ("title", "description", "brand", "category", "tags")),
        (shop.campaigns, ("name", "offer", "description")),
    ]
    for frame, columns in sources:
        for column in columns:
            if column not in frame.columns:
                continue
            for value in frame[column].tolist():
                texts = value if isinstance(value, (list, tuple)) else [value]
                for text in texts:
                    if isinstance(text, str):
                        words.update(_WORD.findall(text.lower()))
    return words


class Redactor:
    """Replaces personal values and secrets in text with tokens such as ``[email]``.

    Build it once per shop (``Redactor.from_shop``) and share it: redaction is thread-safe
    and takes one automaton pass plus a few regular-expression passes over the text.
    """

    def __init__(
        self,
        customers: pd.DataFrame | None = None,
        secrets: Iterable[str] = (),
        *,
        patterns: bool = True,
        common_words: Iterable[str] = (),
    ) -> None:
        """Collect the values to redact.

        Args:
            customers: the shop's customers table (``tools.shop.store`` columns); every personal
                value of every row is redacted wherever it appears.
            secrets: API keys and other secret strings, redacted wherever they appear.
            patterns: also redact e-mail, phone, card and API-key shapes (on by default).
            common_words: words of ordinary shop text (catalog, campaigns); a last name
                among them is redacted only with a first name or a title, not alone.
        """
        self.patterns = patterns
        self._common = {w.lower() for w in common_words}
        self._automaton: Any = ahocorasick.Automaton()
        self._values = 0
        if customers is not None:
            self._add_customers(customers)
        for secret in secrets:
            self._add_secret(secret)
        if self._values:
            self._automaton.make_automaton()

    @classmethod
    def from_shop(cls, shop: ShopData, settings: Settings | None = None) -> Redactor:
        """A redactor for a shop's customers and (when given) the settings' API key."""
        secrets = [settings.openai_api_key.get_secret_value()] if settings is not None else []
        return cls(shop.customers, secrets, common_words=shop_words(shop))

    @property
    def value_count(self) -> int:
        """How many known values (personal values and secrets) are redacted."""
        return self._values

    def _add(
        self, value: str, replacement: str, *, bounded: bool, exact_case: bool = False
    ) -> None:
        value = value.strip()
        key = value.lower()
        if len(key) != len(value):  # lower() changed the length: match case-sensitively.
            key = value
        minimum = MIN_CJK_VALUE_LENGTH if _CJK.search(value) else MIN_VALUE_LENGTH
        if len(value) < minimum or key in self._automaton:
            return
        # Whole-word matching only makes sense in scripts that separate words with spaces.
        bounded = bounded and not _CJK.search(value)
        self._automaton.add_word(
            key, (len(key), replacement, bounded, value if exact_case else None)
        )
        self._values += 1

    def _add_customers(self, customers: pd.DataFrame) -> None:
        columns = set(customers.columns)

        def column(name: str) -> list[str]:
            if name not in columns:
                return [""] * len(customers)
            return ["" if not isinstance(v, str) else v for v in customers[name].tolist()]

        firsts, lasts = column("first_name"), column("last_name")
        # Longer and more specific values first, so that they win the key on duplicates.
        for note in column("notes"):
            self._add(note, "[notes]", bounded=True)
        for address in column("address"):
            self._add(address, "[address]", bounded=True)
            # The street line alone ("12 Oak Street") is personal too; the city line is not.
            for part in re.split(r"[,\n]", address):
                if len(part.strip()) >= 8 and any(ch.isdigit() for ch in part):
                    self._add(part, "[address]", bounded=True)
        for email in column("email"):
            self._add(email, "[email]", bounded=True)
        for phone in column("phone"):
            self._add(phone, "[phone]", bounded=True)
        for first, last in zip(firsts, lasts, strict=True):
            first, last = first.strip(), last.strip()
            if not last:
                continue
            if first:
                self._add(f"{first} {last}", f"{first} [last_name]", bounded=True)
                self._add(f"{last} {first}", f"[last_name] {first}", bounded=True)
                self._add(f"{last}, {first}", f"[last_name], {first}", bounded=True)
                if _CJK.search(last):  # Chinese order, no space: family name first.
                    self._add(f"{last}{first}", f"[last_name]{first}", bounded=False)
            if last.lower() in self._common:
                for title in TITLES:
                    self._add(f"{title} {last}", f"{title} [last_name]", bounded=True)
            else:
                self._add(last, "[last_name]", bounded=True, exact_case=True)

    def _add_secret(self, secret: str) -> None:
        secret = secret.strip()
        if len(secret) < MIN_SECRET_LENGTH or secret.lower() in PLACEHOLDER_SECRETS:
            return
        self._add(secret, "[api_key]", bounded=False)

    def redact(self, text: str) -> str:
        """Return ``text`` with every known personal value, secret and PII shape replaced."""
        if not text:
            return text
        if self._values:
            text = self._redact_known(text)
        if self.patterns:
            text = redact_patterns(text)
        return text

    def _redact_known(self, text: str) -> str:
        haystack = text.lower()
        if len(haystack) != len(text):  # a few letters (like "İ") grow when lower-cased
            haystack = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        pieces: list[str] = []
        last = 0
        for end, (length, replacement, bounded, exact) in self._automaton.iter_long(haystack):
            start = end - length + 1
            if exact is not None and text[start : end + 1] not in (exact, exact.upper()):
                continue
            if bounded and (
                (start > 0 and text[start - 1].isalnum())
                or (end + 1 < len(text) and text[end + 1].isalnum())
            ):
                continue
            pieces.append(text[last:start])
            pieces.append(replacement)
            last = end + 1
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)

    def redact_obj(self, obj: Any) -> Any:
        """Redact every string inside ``obj`` and return JSON-ready data.

        Dicts (keys too), lists, tuples and sets are walked; pydantic models are dumped in
        JSON mode first; datetimes become ISO strings; numbers, booleans and None are kept;
        anything else becomes its redacted ``str``.
        """
        if isinstance(obj, str):
            return self.redact(obj)
        if obj is None or isinstance(obj, (bool, int, float)):
            return obj
        if isinstance(obj, BaseModel):
            return self.redact_obj(obj.model_dump(mode="json"))
        if isinstance(obj, Mapping):
            return {self.redact(str(k)): self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple, set, frozenset)):
            return [self.redact_obj(v) for v in obj]
        if isinstance(obj, (datetime, date)):
            return obj.isoformat()
        return self.redact(str(obj))


def _sub_cards(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return "[card]" if luhn_ok(digits) else match.group(0)

    return CARD_RE.sub(repl, text)


def _sub_ibans(text: str) -> str:
    return IBAN_RE.sub(lambda m: "[iban]" if iban_ok(m.group(0)) else m.group(0), text)


def _sub_phones(text: str) -> str:
    return PHONE_RE.sub(lambda m: "[phone]" if _phone_ok(m) else m.group(0), text)


def redact_patterns(text: str) -> str:
    """Replace e-mail addresses, API keys, IBANs, card and phone numbers by their shape."""
    if len(text) < 7:  # too short for any shape (cheap exit for ids and words)
        return text
    if "@" in text:
        text = EMAIL_RE.sub("[email]", text)
    if "-" in text or "earer" in text.lower():
        text = API_KEY_RE.sub("[api_key]", text)
    if len(_DIGITS.findall(text)) >= 7:
        text = _sub_ibans(text)
        text = _sub_cards(text)
        text = _sub_phones(text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts a record's message, arguments and traceback in place.

    Add it to a handler (``handler.addFilter``), or hook it into every record with
    :func:`install_log_redaction` (filters on a logger do not see records of its children).
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record (always keeps it)."""
        redact_record(record, self.redactor)
        return True


def redact_record(record: logging.LogRecord, redactor: Redactor) -> None:
    """Replace a log record's message (formatted with its args), traceback and stack text."""
    if getattr(record, "_redacted", False):
        return
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # bad %-args: keep both parts, redacted
        message = f"{record.msg} {record.args!r}"
    record.msg = redactor.redact(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redactor.redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redactor.redact(record.stack_info)
    record.__dict__["_redacted"] = True


_install_lock = threading.Lock()
# Weak references: a redactor installed by a runner that is gone no longer pins its
# (large) automaton in memory; the newest live one is used.
_active: list[weakref.ref[Redactor]] = []
_base_factory: Callable[..., logging.LogRecord] | None = None


def _current() -> Redactor | None:
    while _active:
        redactor = _active[-1]()
        if redactor is not None:
            return redactor
        _active.pop()
    return None


def install_log_redaction(redactor: Redactor) -> Callable[[], None]:
    """Redact every log record the process creates from now on; return an uninstaller.

    Works through the log-record factory, so it covers every logger and every handler,
    including ones configured later. Installing again replaces the active redactor until
    the returned function is called or the newer redactor is garbage-collected.
    """
    global _base_factory
    with _install_lock:
        if _base_factory is None:
            base = logging.getLogRecordFactory()
            _base_factory = base

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = base(*args, **kwargs)
                current = _current()
                if current is not None:
                    redact_record(record, current)
                return record

            logging.setLogRecordFactory(factory)
        _active[:] = [r for r in _active if r() is not None]
        _active.append(weakref.ref(redactor))

    def uninstall() -> None:
        global _base_factory
        with _install_lock:
            live = [r() for r in _active]
            if redactor in live:  # remove the most recent installation of it
                del _active[len(live) - 1 - live[::-1].index(redactor)]
            if _current() is None and _base_factory is not None:
                logging.setLogRecordFactory(_base_factory)
                _base_factory = None

    return uninstall
