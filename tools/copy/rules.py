"""The rules marketing copy is written and checked against, shared by composer and guard.

- channel limits and required wording: SMS at most two parts (GSM-7 or UCS-2) with the
  opt-out wording, push title and body lengths, e-mail subject and preheader lengths, the
  unsubscribe footer (``channel_limits`` lists them per channel);
- SMS encoding (``sms_size``: GSM 03.38 alphabet or UCS-2, units and parts);
- money and percentages: how the copy shows prices and discounts, and how amounts,
  percentages and Chinese 折 are found in text;
- links: finding web addresses (with a scheme, ``www.`` or bare domains) and the allow-list;
- text patterns the guard scans for: product ids, code-like tokens, placeholders, personal
  data, instruction-like text, pressure wording and shouting.

``tools.copy.guard`` re-exports the public helpers, so ``from tools.copy.guard import sms_size``
keeps working.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tools.shop.schemas import Channel

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
OPT_OUT_PATTERNS = {
    "en": re.compile(r"reply\s+stop\b", re.I),
    "zh": re.compile(r"回复?\s*TD\s*退订"),
}
UNSUBSCRIBE_PATTERNS = {"en": re.compile(r"unsubscribe", re.I), "zh": re.compile(r"退订")}


def channel_limits(channel: Channel) -> dict[str, int]:
    """The limits a channel's text must keep, by name."""
    if channel == "sms":
        return {
            "sms_parts": SMS_MAX_PARTS,
            "gsm7_chars": SMS_GSM7_PART * SMS_MAX_PARTS,
            "ucs2_chars": SMS_UCS2_PART * SMS_MAX_PARTS,
        }
    if channel == "push":
        return {"title_chars": PUSH_TITLE_MAX, "body_chars": PUSH_BODY_MAX}
    return {"subject_chars": EMAIL_SUBJECT_MAX, "preheader_chars": EMAIL_PREHEADER_MAX}


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
AMOUNT_BEFORE_RE = re.compile(r"(?P<cur>US\$|\$|€|£|¥|RMB|CNY|USD|EUR|GBP|JPY)\s?" + _NUMBER)
AMOUNT_AFTER_RE = re.compile(
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
    for pattern in (AMOUNT_BEFORE_RE, AMOUNT_AFTER_RE):
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

URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"'()（）【】，。、；！？「」]+", re.I)
_BARE_DOMAIN = re.compile(
    r"(?<![@\w.\-/])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+"
    r"(?:com|net|org|io|co|cn|ru|xyz|info|biz|top|me|ly|gl|app|shop|link|click|site|online|tk)"
    r"(?![a-z0-9\-])(?:/[^\s<>\"'，。]*)?",
    re.I,
)


def find_links(text: str) -> list[str]:
    """Web addresses in ``text``: with a scheme, ``www.``, or bare domains like ``evil.com``."""
    links = [m.group(0).rstrip(".,;:!?)") for m in URL_RE.finditer(text)]
    rest = URL_RE.sub(" ", text)
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

PRODUCT_ID_RE = re.compile(r"(?<![A-Za-z0-9])P\d{5,}(?![0-9])")
CODE_TOKEN_RE = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*[0-9])[A-Z0-9]{4,20}(?![A-Za-z0-9])"
)
CODE_AFTER_WORD_RE = re.compile(
    r"(?i:\bcode|\bcoupon|\bvoucher|券码|优惠码|折扣码|兑换码|代码)\s*[:：]?\s*"
    r"(?P<code>[A-Z0-9]{3,20})(?![A-Za-z0-9])"
)
#: Free shipping, as an offer's name or a draft's text says it (English and Chinese).
FREE_SHIPPING_RE = re.compile(
    r"(?i:\bfree\s+(?:shipping|delivery|postage)\b|\bships?\s+(?:for\s+)?free\b|"
    r"\b(?:shipping|delivery|postage)(?:'s|’s|\s+is|\s+will\s+be)?\s+(?:free|on\s+us)\b)|"
    r"包邮|免运费|免邮|运费全免"
)
PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = (
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
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
PHONE_RE = re.compile(r"(?<![A-Za-z0-9])\+?\(?\d[\d\s().\-]{5,}\d(?![A-Za-z0-9])")
STREET_RE = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|"
    r"Blvd|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace)\b\.?"
    r"|[\u4e00-\u9fff]{1,12}(?:路|街|大道|巷|弄)\d+号"
)
# Instruction-like text that marketing copy never contains; planted instructions (in
# reviews, descriptions or notes) that reach a draft typically show one of these.
INSTRUCTIONS_RE = re.compile(
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
PRESSURE_RE = re.compile(
    r"\b(?:act\s+now|last\s+chance|hurry|only\s+today|today\s+only|limited\s+time|don't\s+miss"
    r"|before\s+it'?s\s+gone|selling\s+fast|final\s+hours|guaranteed|risk[-\s]free|100%\s+free)\b"
    r"|最后机会|赶快|赶紧|限时抢购|手慢无|仅限今天|错过不再|抢购",
    re.I,
)
SHOUT_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{4,}(?![A-Za-z0-9])")
SHOUT_OK = frozenset({"STOP", "HELP"})
CJK_RE = re.compile(r"[\u3400-\u9fff]")
ECHO_WORDS = 5
ECHO_CJK = 8


def nfkc(text: str) -> str:
    """``text`` in Unicode NFKC form (full-width letters and digits become plain ones)."""
    return unicodedata.normalize("NFKC", text)
