"""Product names as an editor shortens them, and product names the catalog does not have.

Catalog titles read "Brand Kind Type, Variant" ("Trailpeak Waterproof Rain Jacket, Black";
Chinese: "Trailpeak 防水雨衣（黑色）"). A marketer editing a draft writes "Trailpeak Rain Jacket"
or "Trailpeak Waterproof Rain Jacket": the brand, then some of the title's words in their
order, ending with the product type (the title's last word before the variant). Such a
shortening names that product. A phrase of the same shape whose words no catalog product of
that brand has ("Trailpeak Ski Goggles") names a product the catalog does not have.

Chinese titles have no spaces between words, so the same rule runs on characters: the brand,
then some of the title's characters in their order, ending with a product type (the last two
characters of a catalog title, "雨衣" of "防水雨衣"). "Trailpeak 雨衣" names the rain jacket;
"Trailpeak 睡袋", where 睡袋 is the type of another brand's product and of none of
Trailpeak's, names a product the catalog does not have. Only a phrase right after the brand
(a space or "的" between them) that ends with a known type is judged.

Hand-written: no library matches a phrase against an ordered subset of a title's words, and
the rule must stay exactly this narrow (a guard that guesses would let invented products in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WORD = re.compile(r"[\w'\-]+")
_VARIANT = re.compile(r"\s*(?:,|\(|（).*$")
_CJK = re.compile(r"[\u3400-\u9fff]+")
MAX_WORDS = 6  # words after the brand that a product phrase may have
MAX_ZH_CHARS = 10  # characters after the brand that a Chinese product phrase may have
ZH_TYPE_CHARS = 2  # a Chinese product type: the title's last two characters


def base_title(title: str) -> str:
    """The title without its variant (", Black", "（黑色）", "(Large)")."""
    return _VARIANT.sub("", title).strip()


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _is_subsequence(part: list[str], whole: list[str]) -> bool:
    it = iter(whole)
    return all(any(w == x for x in it) for w in part)


@dataclass
class ShortNames:
    """The catalog's titles by brand, and the product types (the titles' last words)."""

    by_brand: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    zh_by_brand: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    types: set[str] = field(default_factory=set)
    zh_types: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, rows: dict[str, dict[str, object]]) -> ShortNames:
        """From the catalog's rows (``{product_id: row}``)."""
        out = cls()
        for pid, row in rows.items():
            brand = str(row.get("brand") or "").strip()
            if not brand:
                continue
            words = _words(base_title(str(row.get("title") or "")))
            bw = _words(brand)
            if words[: len(bw)] == bw and len(words) > len(bw):
                out.by_brand.setdefault(" ".join(bw), []).append((pid, words[len(bw):]))
                out.types.add(words[-1])
            zh = base_title(str(row.get("title_zh") or ""))
            if zh.startswith(brand) and len(zh) > len(brand) + 1:
                rest = zh[len(brand):].strip()
                out.zh_by_brand.setdefault(brand, []).append((pid, rest))
                kind = rest[-ZH_TYPE_CHARS:]
                if len(kind) == ZH_TYPE_CHARS and _CJK.fullmatch(kind):
                    out.zh_types.add(kind)
        return out

    def names(self, text: str, product_id: str, brand: str) -> list[str]:
        """The spans of ``text`` that name ``product_id`` by a shortening of its title."""
        found = [span for span, pids in self.phrases(text) if product_id in pids]
        for rest_pid, rest in self.zh_by_brand.get(brand, ()):
            if rest_pid != product_id:
                continue
            for m in re.finditer(re.escape(brand) + r"\s*", text):
                tail = text[m.end(): m.end() + len(rest)]
                for n in range(len(tail), 1, -1):  # longest first; ends with the type (2 chars)
                    piece = tail[:n]
                    if piece.endswith(rest[-2:]) and _is_subsequence(list(piece), list(rest)):
                        found.append(text[m.start(): m.end() + n])
                        break
        return found

    def phrases(self, text: str) -> list[tuple[str, set[str]]]:
        """Every "Brand ... Type" phrase in ``text`` with the products of that brand it fits.

        An empty set means no catalog product of that brand has those words: an invented one.
        """
        out = []
        tokens = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]
        for i in range(len(tokens)):
            for brand, titles in self.by_brand.items():
                bw = brand.split()
                if [t[0] for t in tokens[i: i + len(bw)]] != bw:
                    continue
                after = tokens[i + len(bw): i + len(bw) + MAX_WORDS]
                ends = [k for k, t in enumerate(after) if t[0] in self.types]
                if not ends:
                    continue
                fits: list[tuple[int, set[str]]] = []
                for k in ends:
                    part = [t[0] for t in after[: k + 1]]
                    pids = {pid for pid, words in titles
                            if part[-1] == words[-1] and _is_subsequence(part, words)}
                    if pids:
                        fits.append((k, pids))
                # The longest phrase that names a product; else the shortest, named as unknown.
                k, pids = fits[-1] if fits else (ends[0], set())
                out.append((text[tokens[i][1]: after[k][2]], pids))
        return out + self._zh_phrases(text)

    def _zh_phrases(self, text: str) -> list[tuple[str, set[str]]]:
        """The Chinese "Brand 品类" phrases of ``text``, with the products of the brand they fit."""
        out: list[tuple[str, set[str]]] = []
        for brand, titles in self.zh_by_brand.items():
            for m in re.finditer(re.escape(brand) + r"\s*(?:的\s*)?", text, re.IGNORECASE):
                run = _CJK.match(text, m.end())
                if run is None:
                    continue
                chars = run.group(0)[:MAX_ZH_CHARS]
                ends = [n for n in range(ZH_TYPE_CHARS, len(chars) + 1)
                        if chars[n - ZH_TYPE_CHARS: n] in self.zh_types]
                if not ends:
                    continue
                fits: list[tuple[int, set[str]]] = []
                for n in ends:
                    piece = chars[:n]
                    pids = {pid for pid, rest in titles
                            if piece.endswith(rest[-ZH_TYPE_CHARS:])
                            and _is_subsequence(list(piece), list(rest))}
                    if pids:
                        fits.append((n, pids))
                n, pids = fits[-1] if fits else (ends[0], set())
                out.append((text[m.start(): m.end() + n], pids))
        return out
