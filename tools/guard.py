"""The copy guard: every draft is checked against the catalog, the offer and the rules.

``check_draft`` reads all text fields of a draft and reports each problem with a code a
program can act on and a message a marketer can read (messages never repeat a personal
value). The checks:

- facts: every cited product exists, is in stock and carries its catalog title and price;
  every product id in the text is a cited catalog product; no other catalog product is
  named; every money amount equals a cited product's price or is derived from it by the
  offer's discount; every percentage (or Chinese 折) equals the offer's discount; every
  code-like token is the offer's code;
- safety: no placeholder text; no personal data beyond the first name (e-mail addresses,
  phone numbers, the customer's last name or street address); links only under the
  allow-list; no instruction-like text (credential or verification requests, "ignore
  previous instructions", ...) and no passage copied from free-text data (reviews,
  descriptions, customer notes), where planted instructions live;
- channel rules: SMS at most two parts (GSM-7 or UCS-2) with opt-out wording; push title
  and body lengths; e-mail subject, preheader, body and unsubscribe footer;
- brand voice: at most one exclamation mark, no shouting, no pressure phrases.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pandas as pd
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from tools.copywriting import Draft, Offer
    from tools.store import ShopData

logger = logging.getLogger(__name__)

# Channel limits (issue: SMS 160 GSM-7 / 70 UCS-2 per single part, 153 / 67 per part of a
# concatenated message, at most two parts; push 40/120; e-mail subject 60).
SMS_GSM7_SINGLE = 160
SMS_GSM7_PART = 153
SMS_UCS2_SINGLE = 70
SMS_UCS2_PART = 67
SMS_MAX_PARTS = 2
PUSH_TITLE_MAX = 40
PUSH_BODY_MAX = 120
EMAIL_SUBJECT_MAX = 60
EMAIL_PREHEADER_MAX = 100
MAX_EXCLAMATIONS = 1

OPT_OUT_WORDING = {"en": "Reply STOP to opt out", "zh": "回复TD退订"}
_OPT_OUT = {"en": re.compile(r"reply\s+stop\b", re.I), "zh": re.compile(r"回复?\s*TD\s*退订")}
_UNSUBSCRIBE = {"en": re.compile(r"unsubscribe", re.I), "zh": re.compile(r"退订")}

ProblemCode = Literal[
    "unknown_product",
    "wrong_title",
    "wrong_price",
    "out_of_stock",
    "missing_product",
    "uncited_product",
    "wrong_discount",
    "wrong_code",
    "placeholder",
    "personal_data",
    "foreign_link",
    "injected_instruction",
    "copied_from_data",
    "empty_field",
    "too_long",
    "missing_opt_out",
    "missing_unsubscribe",
    "voice",
]


class GuardProblem(BaseModel):
    """One reason a draft cannot be sent as it is."""

    code: ProblemCode
    message: str


class GuardVerdict(BaseModel):
    """The guard's verdict on a draft: passed, or the list of problems found."""

    passed: bool
    problems: list[GuardProblem] = Field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        """The distinct problem codes, in the order found."""
        return list(dict.fromkeys(p.code for p in self.problems))

    def reasons(self) -> list[str]:
        """Every problem as ``code: message``."""
        return [f"{p.code}: {p.message}" for p in self.problems]

    def summary(self) -> str:
        """One plain line: passed, or the problem codes."""
        return "guard passed" if self.passed else "guard failed: " + ", ".join(self.codes)


# --- SMS encoding -------------------------------------------------------------------------

# GSM 03.38 default alphabet and its extension table (extension characters take two
# septets). Written out here because the table is fixed by the standard and small; a codec
# package would add a dependency for twenty lines of data.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsSize:
    """How an SMS text is encoded and how many parts it takes."""

    encoding: Literal["GSM-7", "UCS-2"]
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int

    @property
    def max_units(self) -> int:
        """Units that fit in ``SMS_MAX_PARTS`` parts with this encoding."""
        part = SMS_GSM7_PART if self.encoding == "GSM-7" else SMS_UCS2_PART
        return part * SMS_MAX_PARTS


def sms_size(text: str) -> SmsSize:
    """Encoding, length in encoding units and number of parts of an SMS text."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in _GSM7_EXTENSION else 1 for ch in text)
        single, part = SMS_GSM7_SINGLE, SMS_GSM7_PART
        encoding: Literal["GSM-7", "UCS-2"] = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = SMS_UCS2_SINGLE, SMS_UCS2_PART
        encoding = "UCS-2"
    parts = 1 if units <= single else math.ceil(units / part)
    return SmsSize(encoding=encoding, units=units, parts=parts)


# --- money and percentages ------------------------------------------------------------------

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥", "JPY": "¥"}
_ZERO_DECIMAL = {"JPY", "KRW"}
_SYMBOL_CURRENCIES: dict[str, frozenset[str]] = {
    "US$": frozenset({"USD"}),
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "¥": frozenset({"CNY", "JPY"}),
    "RMB": frozenset({"CNY"}),
    "CNY": frozenset({"CNY"}),
    "USD": frozenset({"USD"}),
    "EUR": frozenset({"EUR"}),
    "GBP": frozenset({"GBP"}),
    "JPY": frozenset({"JPY"}),
    "元": frozenset({"CNY"}),
    "块": frozenset({"CNY"}),
    "人民币": frozenset({"CNY"}),
    "美元": frozenset({"USD"}),
    "欧元": frozenset({"EUR"}),
    "英镑": frozenset({"GBP"}),
    "日元": frozenset({"JPY"}),
}
_NUMBER = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_AMOUNT_BEFORE = re.compile(r"(?P<cur>US\$|\$|€|£|¥|RMB|CNY|USD|EUR|GBP|JPY)\s?" + _NUMBER)
_AMOUNT_AFTER = re.compile(
    _NUMBER + r"\s?(?P<cur>USD|EUR|GBP|CNY|RMB|JPY|美元|欧元|英镑|日元|人民币|元|块)"
)
_PERCENT = re.compile(r"(?P<num>\d+(?:\.\d+)?)\s?(?:%|percent\b|per cent\b)", re.I)
_ZHE = re.compile(r"(?P<num>\d+(?:\.\d+)?)\s?折")


def format_price(amount: float, currency: str) -> str:
    """A price as the copy shows it, e.g. ``$89.00``, ``€5.50``, ``¥1200``, ``12.00 CHF``."""
    digits = 0 if currency in _ZERO_DECIMAL else 2
    number = f"{amount:,.{digits}f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def format_discount(pct: float) -> str:
    """A discount as the copy shows it: ``15%`` or ``12.5%``."""
    return f"{pct:g}%"


def discounted(price: float, pct: float) -> float:
    """The price after a percentage discount, rounded to cents."""
    return round(price * (1 - pct / 100) + 1e-9, 2)


@dataclass(frozen=True)
class Amount:
    """A money amount found in text."""

    value: float
    currencies: frozenset[str]
    text: str


def find_amounts(text: str) -> list[Amount]:
    """Money amounts in ``text`` (symbol before or currency word after the number)."""
    found: list[Amount] = []
    for pattern in (_AMOUNT_BEFORE, _AMOUNT_AFTER):
        for m in pattern.finditer(text):
            value = float(m.group("num").replace(",", ""))
            found.append(Amount(value, _SYMBOL_CURRENCIES[m.group("cur")], m.group(0)))
    return found


def find_discounts(text: str) -> list[tuple[float, str]]:
    """Percentages in ``text`` as discount percents; ``85折``/``8.5折`` read as 15% off."""
    out = [(float(m.group("num")), m.group(0)) for m in _PERCENT.finditer(text)]
    for m in _ZHE.finditer(text):
        value = float(m.group("num"))
        out.append((round(100 - (value * 10 if value < 10 else value), 2), m.group(0)))
    return out


# --- links ------------------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()（）【】，。、；！？「」]+", re.I)
_BARE_DOMAIN = re.compile(
    r"(?<![@\w.\-/])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+"
    r"(?:com|net|org|io|co|cn|ru|xyz|info|biz|top|me|ly|gl|app|shop|link|click|site|online|tk)"
    r"(?![a-z0-9\-])(?:/[^\s<>\"'，。]*)?",
    re.I,
)


def find_links(text: str) -> list[str]:
    """Web addresses in ``text``: with a scheme, ``www.``, or bare domains like ``evil.com``."""
    links = [m.group(0).rstrip(".,;:!?)") for m in _URL.finditer(text)]
    rest = _URL.sub(" ", text)
    links += [m.group(0).rstrip(".,;:!?)") for m in _BARE_DOMAIN.finditer(rest)]
    return links


def link_allowed(link: str, allowed: Sequence[str]) -> bool:
    """Whether ``link`` lies under one of the ``allowed`` prefixes (scheme optional)."""
    candidates = [link] if "://" in link else [f"https://{link}", f"http://{link}"]
    for candidate in candidates:
        low = candidate.lower()
        for prefix in allowed:
            p = prefix.lower().rstrip("/")
            if low == p or (low.startswith(p) and low[len(p)] in "/?#"):
                return True
    return False


# --- patterns -----------------------------------------------------------------------------------

_PRODUCT_ID = re.compile(r"(?<![A-Za-z0-9])P\d{5,}(?![0-9])")
_CODE_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*[0-9])[A-Z0-9]{4,20}(?![A-Za-z0-9])"
)
_CODE_AFTER_WORD = re.compile(
    r"(?i:\bcode|\bcoupon|\bvoucher|券码|优惠码|折扣码|兑换码|代码)\s*[:：]?\s*"
    r"(?P<code>[A-Z0-9]{3,20})(?![A-Za-z0-9])"
)
_PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\{\{.*?\}\}"), "a {{...}} placeholder"),
    (re.compile(r"\$\{[^}]*\}"), "an unfilled ${...} template variable"),
    (re.compile(r"\{[A-Za-z_][\w ]{0,30}\}"), "a {...} placeholder"),
    (re.compile(r"\{\d\}|%s|%\(\w+\)s"), "a format placeholder"),
    (
        re.compile(
            r"\[(?:insert|your|customer|first|last|product|link|name|date|code|discount|price|"
            r"company|shop|store|url|city|email|phone|address)[^\]\n]{0,30}\]",
            re.I,
        ),
        "a [...] placeholder",
    ),
    (re.compile(r"\[[A-Z][A-Z_ ]{2,30}\]"), "a [...] placeholder"),
    (
        re.compile(r"<\s*[A-Za-z_ ]*(?:placeholder|name|insert|link)[A-Za-z_ ]*>", re.I),
        "a <...> placeholder",
    ),
    (re.compile(r"<[A-Z][A-Z_]{2,}>"), "a <...> placeholder"),
    (
        re.compile(
            r"[\[【](?:姓名|名字|客户|顾客|用户名|商品名|产品名|链接|插入|日期|价格|优惠码)[^\]】]{0,10}[\]】]"
        ),
        "a [...] placeholder",
    ),
    (re.compile(r"lorem ipsum", re.I), "lorem ipsum"),
    (
        re.compile(r"(?<![A-Za-z])X{3,}(?![A-Za-z])|(?<![A-Za-z])TBD(?![A-Za-z])|\?\?\?"),
        "XXX/TBD filler",
    ),
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![A-Za-z0-9])\+?\(?\d[\d\s().\-]{5,}\d(?![A-Za-z0-9])")
_STREET = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|"
    r"Blvd|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace)\b\.?"
    r"|[\u4e00-\u9fff]{1,12}(?:路|街|大道|巷|弄)\d+号"
)
# Instruction-like text that marketing copy never contains; planted instructions (in
# reviews, descriptions or notes) that reach a draft typically show one of these.
_INSTRUCTIONS = re.compile(
    r"ignore\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|preceding)"
    r"|disregard\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|instructions)"
    r"|forget\s+(?:all\s+|your\s+)?(?:previous\s+)?instructions"
    r"|new\s+instructions|system\s+prompt|developer\s+mode|jailbreak"
    r"|\byou\s+are\s+now\b|pretend\s+to\s+be"
    r"|verify\s+your\s+(?:account|identity|payment|card|details)"
    r"|confirm\s+your\s+(?:account|password|identity|payment|card|bank)"
    r"|(?:send|share|enter|provide|reply\s+with|give)\s+(?:us\s+|me\s+)?your\s+"
    r"(?:password|pin|passcode|credit\s+card|card\s+number|bank|login|social\s+security|ssn)"
    r"|\bpassword\b|click\s+(?:here|this\s+link)|wire\s+transfer|bitcoin"
    r"|\bcrypto|\bbank\s+account|\bIMPORTANT!!!|grant\s+(?:permanent\s+)?access"
    r"|忽略(?:之前|以上|先前|前面|所有|上述)|无视(?:之前|以上|所有)|系统提示|新的指令"
    r"|验证您的(?:账户|账号|身份)|(?:发送|提供|输入)您的(?:密码|银行卡|验证码)|密码|验证码"
    r"|银行卡号|转账|点击此处",
    re.I,
)
_PRESSURE = re.compile(
    r"\b(?:act\s+now|last\s+chance|hurry|only\s+today|today\s+only|limited\s+time|don't\s+miss"
    r"|before\s+it'?s\s+gone|selling\s+fast|final\s+hours|guaranteed|risk[-\s]free|100%\s+free)\b"
    r"|最后机会|赶快|赶紧|限时抢购|手慢无|仅限今天|错过不再|抢购",
    re.I,
)
_SHOUT = re.compile(r"(?<![A-Za-z0-9])[A-Z]{4,}(?![A-Za-z0-9])")
_SHOUT_OK = frozenset({"STOP", "HELP"})
_CJK = re.compile(r"[\u3400-\u9fff]")
_ECHO_WORDS = 5
_ECHO_CJK = 8


# --- catalog lookups ----------------------------------------------------------------------------


@dataclass
class _Catalog:
    """Per-catalog lookups, built once per products table (drafts are checked by thousands)."""

    rows: dict[str, dict[str, object]]
    by_first_word: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    by_bigram: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


_CATALOGS: dict[int, tuple[pd.DataFrame, _Catalog]] = {}


_CUSTOMERS: dict[int, tuple[pd.DataFrame, dict[str, dict[str, object]]]] = {}


def customer_rows(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    """The customers table as ``{customer_id: row}``, cached per table object.

    Tables are treated as immutable: a changed shop is a new table (and a new cache entry).
    """
    hit = _CUSTOMERS.get(id(frame))
    if hit is not None and hit[0] is frame:
        return hit[1]
    rows = {
        str(r["customer_id"]): {str(k): v for k, v in r.items()} for r in frame.to_dict("records")
    }
    if len(_CUSTOMERS) >= 8:
        _CUSTOMERS.pop(next(iter(_CUSTOMERS)))
    _CUSTOMERS[id(frame)] = (frame, rows)
    return rows


def catalog_rows(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    """The products table as ``{product_id: row}``, cached per table object."""
    return _catalog(frame).rows


def _catalog(frame: pd.DataFrame) -> _Catalog:
    hit = _CATALOGS.get(id(frame))
    if hit is not None and hit[0] is frame:
        return hit[1]
    # One pass over the table; plain dicts are fast to read for every later draft.
    records = frame.to_dict("records")
    catalog = _Catalog(
        rows={str(r["product_id"]): {str(k): v for k, v in r.items()} for r in records}
    )
    for pid, row in catalog.rows.items():
        for key in ("title", "title_zh"):
            title = _norm(str(row.get(key) or "")).strip()
            if not title:
                continue
            if _CJK.search(title):
                if len(title) >= 4:
                    catalog.by_bigram.setdefault(title[:2], []).append((title, pid))
            elif len(title) >= 8 and " " in title:
                first = title.split()[0].lower()
                catalog.by_first_word.setdefault(first, []).append((title.lower(), pid))
    if len(_CATALOGS) >= 8:
        _CATALOGS.pop(next(iter(_CATALOGS)))
    _CATALOGS[id(frame)] = (frame, catalog)
    return catalog


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


# --- the guard ----------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[GuardProblem] = []

    def add(self, code: ProblemCode, message: str) -> None:
        if not any(p.code == code and p.message == message for p in self.items):
            self.items.append(GuardProblem(code=code, message=message))


def check_draft(
    draft: Draft,
    catalog: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    allowed_links: Sequence[str] = (),
    offer: Offer | None = None,
    *,
    shop_name: str = "",
) -> GuardVerdict:
    """Check a draft against the catalog, the customer, the link allow-list and the offer.

    Args:
        draft: The draft to check (all its text fields are read).
        catalog: The shop's products table.
        customers: The customers table, to catch the customer's own personal data and
            passages copied from their notes; ``None`` skips those two checks.
        allowed_links: Link prefixes a draft may contain.
        offer: The approved offer; defaults to the offer recorded on the draft.
        shop_name: The shop's name, which the copy may show as written (even in capitals).

    Returns:
        The verdict, with one problem per issue found.
    """
    offer = offer if offer is not None else draft.offer
    problems = _Problems()
    cat = _catalog(catalog)
    _check_channel(draft, problems, allowed_links)
    fields = {k: _norm(v) for k, v in draft.text_fields().items()}
    text = "\n".join(fields.values())

    # Links (before anything is cut out of the text).
    for link in find_links(text):
        if not link_allowed(link, allowed_links):
            problems.add("foreign_link", f"link {link!r} is not under the allow-list")
    for link in draft.links:
        if not link_allowed(link, allowed_links):
            problems.add("foreign_link", f"link {link!r} is not under the allow-list")
    for email in _EMAIL.findall(text):
        del email  # never echo the value
        problems.add("personal_data", "contains an e-mail address")

    # Products: cited facts, then ids and names in the text.
    cited = {p.product_id for p in draft.products}
    cited_titles: list[str] = []
    for product in draft.products:
        row = cat.rows.get(product.product_id)
        if row is None:
            problems.add(
                "unknown_product", f"cited product {product.product_id} is not in the catalog"
            )
            continue
        titles = {str(row["title"]), str(row.get("title_zh") or "")} - {""}
        if product.title not in titles:
            problems.add(
                "wrong_title",
                f"{product.product_id} is called {row['title']!r} in the catalog, "
                f"not {product.title!r}",
            )
        price, currency = float(str(row["price"])), str(row["currency"])
        if abs(product.price - price) > 0.005 or product.currency != currency:
            problems.add(
                "wrong_price",
                f"{product.product_id} costs {format_price(price, currency)} in the catalog, "
                f"not {format_price(product.price, product.currency)}",
            )
        if int(str(row.get("stock", 1))) <= 0:
            problems.add("out_of_stock", f"{product.product_id} ({row['title']}) is out of stock")
        names = [t for t in (*titles, product.title) if t]
        if not any(_norm(t) in text for t in names):
            problems.add(
                "missing_product", f"cited product {product.title!r} is not named in the text"
            )
        cited_titles += [_norm(t) for t in names]
    for pid in dict.fromkeys(_PRODUCT_ID.findall(text)):
        if pid not in cat.rows:
            problems.add("unknown_product", f"{pid} is not a product in the catalog")
        elif pid not in cited:
            problems.add(
                "uncited_product", f"{pid} is in the text but not among the cited products"
            )

    # Work on the text without links, cited titles and the shop's name (which may hold
    # digits or capitals).
    scan = _URL.sub(" ", text)
    known = [*cited_titles, _norm(shop_name)] if shop_name.strip() else cited_titles
    for title in sorted(set(known), key=len, reverse=True):
        scan = scan.replace(title, " ")
    _check_uncited_titles(scan, cat, cited, problems)
    _check_money(scan, draft, cat, offer, problems)
    bare = _AMOUNT_BEFORE.sub(" ", _AMOUNT_AFTER.sub(" ", scan))
    _check_discount_and_code(bare, offer, problems)
    for pattern, what in _PLACEHOLDERS:
        if pattern.search(scan):
            problems.add("placeholder", f"contains {what}")
    _check_personal(bare, scan, draft, customers, problems)
    match = _INSTRUCTIONS.search(scan)
    if match:
        problems.add("injected_instruction", f"contains instruction-like text {match.group(0)!r}")
    _check_echo(scan, draft, cat, customers, problems)
    _check_voice(scan, draft, offer, problems)

    verdict = GuardVerdict(passed=not problems.items, problems=problems.items)
    if not verdict.passed:
        logger.info("draft %s: %s", draft.draft_id, verdict.summary())
    return verdict


def check_draft_in_shop(
    draft: Draft,
    shop: ShopData,
    allowed_links: Sequence[str],
    offer: Offer | None = None,
    *,
    shop_name: str = "",
) -> GuardVerdict:
    """``check_draft`` with the shop's own products and customers (e.g. after an edit)."""
    return check_draft(
        draft, shop.products, shop.customers, allowed_links, offer, shop_name=shop_name
    )


def _check_channel(draft: Draft, problems: _Problems, allowed_links: Sequence[str]) -> None:
    lang = draft.language
    if not draft.body.strip():
        problems.add("empty_field", "the body is empty")
    if draft.channel == "sms":
        size = sms_size(draft.body)
        if size.parts > SMS_MAX_PARTS:
            problems.add(
                "too_long",
                f"the SMS takes {size.parts} parts ({size.units} {size.encoding} characters); "
                f"at most {SMS_MAX_PARTS} ({size.max_units} characters)",
            )
        if not _OPT_OUT[lang].search(draft.body):
            problems.add(
                "missing_opt_out", f"the SMS lacks the opt-out wording {OPT_OUT_WORDING[lang]!r}"
            )
    elif draft.channel == "push":
        title = draft.title or ""
        if not title.strip():
            problems.add("empty_field", "the push title is empty")
        if len(title) > PUSH_TITLE_MAX:
            problems.add(
                "too_long", f"the push title has {len(title)} characters; at most {PUSH_TITLE_MAX}"
            )
        if len(draft.body) > PUSH_BODY_MAX:
            problems.add(
                "too_long",
                f"the push body has {len(draft.body)} characters; at most {PUSH_BODY_MAX}",
            )
    else:
        subject, preheader = draft.subject or "", draft.preheader or ""
        if not subject.strip():
            problems.add("empty_field", "the subject is empty")
        if not preheader.strip():
            problems.add("empty_field", "the preheader is empty")
        if len(subject) > EMAIL_SUBJECT_MAX:
            problems.add(
                "too_long",
                f"the subject has {len(subject)} characters; at most {EMAIL_SUBJECT_MAX}",
            )
        if len(preheader) > EMAIL_PREHEADER_MAX:
            problems.add(
                "too_long",
                f"the preheader has {len(preheader)} characters; at most {EMAIL_PREHEADER_MAX}",
            )
        if not _UNSUBSCRIBE[lang].search(draft.body):
            problems.add("missing_unsubscribe", "the e-mail lacks the unsubscribe footer")
        elif allowed_links and not any(
            "unsubscribe" in link.lower() and link_allowed(link, allowed_links)
            for link in find_links(draft.body)
        ):
            problems.add("missing_unsubscribe", "the e-mail lacks an allow-listed unsubscribe link")


def _check_uncited_titles(scan: str, cat: _Catalog, cited: set[str], problems: _Problems) -> None:
    low = scan.lower()
    for word in set(re.findall(r"[a-z0-9][\w'\-]*", low)):
        for title, pid in cat.by_first_word.get(word, ()):
            if pid not in cited and title in low:
                problems.add("uncited_product", f"names catalog product {pid} without citing it")
    for i in range(len(scan) - 1):
        for title, pid in cat.by_bigram.get(scan[i : i + 2], ()):
            if pid not in cited and scan.startswith(title, i):
                problems.add("uncited_product", f"names catalog product {pid} without citing it")


def _check_money(
    scan: str, draft: Draft, cat: _Catalog, offer: Offer | None, problems: _Problems
) -> None:
    allowed: list[tuple[float, str]] = []
    pct = offer.discount_pct if offer is not None else 0.0
    for product in draft.products:
        row = cat.rows.get(product.product_id)
        if row is None:
            continue
        price, currency = float(str(row["price"])), str(row["currency"])
        allowed.append((price, currency))
        if pct > 0:
            allowed.append((discounted(price, pct), currency))
            allowed.append((round(price * pct / 100 + 1e-9, 2), currency))
    for amount in find_amounts(scan):
        if not any(
            abs(amount.value - value) < 0.006 and currency in amount.currencies
            for value, currency in allowed
        ):
            problems.add(
                "wrong_price",
                f"the amount {amount.text!r} is not a cited product's price"
                + (" or its offer price" if pct > 0 else ""),
            )


def _check_discount_and_code(bare: str, offer: Offer | None, problems: _Problems) -> None:
    pct = offer.discount_pct if offer is not None else None
    for value, shown in find_discounts(bare):
        if pct is None or pct <= 0:
            problems.add(
                "wrong_discount", f"mentions {shown!r} but the draft has no discount offer"
            )
        elif abs(value - pct) > 0.01:
            problems.add(
                "wrong_discount", f"mentions {shown!r} but the offer is {format_discount(pct)} off"
            )
    code = (offer.code or "").upper() if offer is not None else ""
    tokens = [m.group(0) for m in _CODE_TOKEN.finditer(bare)]
    tokens += [m.group("code") for m in _CODE_AFTER_WORD.finditer(bare)]
    for token in dict.fromkeys(tokens):
        if _PRODUCT_ID.fullmatch(token) or token.upper() == code:
            continue
        if token.isdigit():
            continue
        if code:
            problems.add("wrong_code", f"code {token!r} is not the offer's code {code}")
        else:
            problems.add("wrong_code", f"code {token!r} appears but the offer has no code")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _customer_row(customers: pd.DataFrame | None, customer_id: str) -> dict[str, object] | None:
    if customers is None or customers.empty:
        return None
    return customer_rows(customers).get(customer_id)


def _check_personal(
    bare: str, scan: str, draft: Draft, customers: pd.DataFrame | None, problems: _Problems
) -> None:
    text_without_ids = _PRODUCT_ID.sub(" ", bare)
    for m in _PHONE.finditer(text_without_ids):
        if len(_digits(m.group(0))) >= 7:
            problems.add("personal_data", "contains a phone number")
            break
    if _STREET.search(scan):
        problems.add("personal_data", "contains a street address")
    row = _customer_row(customers, draft.customer_id)
    if row is None:
        return
    low = scan.lower()
    phone = _digits(str(row.get("phone") or ""))
    if len(phone) >= 7 and phone[-7:] in _digits(scan):
        problems.add("personal_data", "contains the customer's phone number")
    email = str(row.get("email") or "").strip().lower()
    if email and email in low:
        problems.add("personal_data", "contains the customer's e-mail address")
    first = str(row.get("first_name") or "").strip()
    last = str(row.get("last_name") or "").strip()
    if last and last != first:
        if _CJK.search(last):
            forms = [last + first, first + last] + [last + t for t in ("先生", "女士", "小姐")]
            hit = any(f in scan for f in forms if f != last)
        else:
            hit = re.search(rf"(?<![A-Za-z]){re.escape(last.lower())}(?![A-Za-z])", low) is not None
        if hit:
            problems.add("personal_data", "contains the customer's last name")
    address = re.sub(r"\s+", " ", str(row.get("address") or "")).strip().lower()
    if address:
        street = address.split(",")[0].strip()
        flat = re.sub(r"\s+", " ", low)
        if address in flat or (len(street) >= 6 and street in flat):
            problems.add("personal_data", "contains the customer's address")


def _shingles(text: str) -> set[str]:
    """Word 5-grams (or 8-character runs for Chinese) of a data text."""
    text = _norm(text).lower()
    out: set[str] = set()
    words = re.findall(r"[a-z0-9']+", text)
    out.update(" ".join(words[i : i + _ECHO_WORDS]) for i in range(len(words) - _ECHO_WORDS + 1))
    for run in re.findall(rf"[\u3400-\u9fff]{{{_ECHO_CJK},}}", text):
        out.update(run[i : i + _ECHO_CJK] for i in range(len(run) - _ECHO_CJK + 1))
    return out


def _data_texts(draft: Draft, cat: _Catalog, customers: pd.DataFrame | None) -> Iterable[str]:
    for product in draft.products:
        row = cat.rows.get(product.product_id)
        if row is None:
            continue
        yield str(row.get("description") or "")
        yield str(row.get("description_zh") or "")
        reviews = row.get("reviews")
        if reviews is not None and not isinstance(reviews, str):
            yield from (str(r) for r in list(reviews))  # type: ignore[call-overload]
    row = _customer_row(customers, draft.customer_id)
    if row is not None:
        yield str(row.get("notes") or "")


def _check_echo(
    scan: str, draft: Draft, cat: _Catalog, customers: pd.DataFrame | None, problems: _Problems
) -> None:
    data = set().union(*(_shingles(t) for t in _data_texts(draft, cat, customers)))
    if data and data & _shingles(scan):
        problems.add(
            "copied_from_data",
            "repeats a passage of a product description, review or customer note "
            "(free text from data is never copied into copy)",
        )


def _check_voice(scan: str, draft: Draft, offer: Offer | None, problems: _Problems) -> None:
    marks = scan.count("!") + scan.count("！")
    if marks > MAX_EXCLAMATIONS:
        problems.add(
            "voice", f"{marks} exclamation marks; the brand voice allows {MAX_EXCLAMATIONS}"
        )
    code = (offer.code or "").upper() if offer is not None else ""
    shouted = [w for w in _SHOUT.findall(scan) if w not in _SHOUT_OK and w != code]
    if shouted:
        problems.add("voice", f"shouting in capitals ({', '.join(dict.fromkeys(shouted))})")
    match = _PRESSURE.search(scan)
    if match:
        problems.add("voice", f"pressure wording {match.group(0)!r}")
