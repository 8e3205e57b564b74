"""Product names as an editor shortens them, and product names the catalog does not have.

Catalog titles read "Brand Kind Type, Variant" ("Trailpeak Waterproof Rain Jacket, Black";
Chinese: "Trailpeak 防水雨衣（黑色）"). A marketer editing a draft writes "Trailpeak Rain Jacket"
or "Trailpeak Waterproof Rain Jacket": the brand, then some of the title's words in their
order, ending with the product type (the title's last word before the variant). Such a
shortening names that product. A phrase of the same shape whose words no catalog product of
that brand has ("Trailpeak Ski Goggles") names a product the catalog does not have.

Hand-written: no library matches a phrase against an ordered subset of a title's words, and
the rule must stay exactly this narrow (a guard that guesses would let invented products in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WORD = re.compile(r"[\w'\-]+")
_VARIANT = re.compile(r"\s*(?:,|\(|（).*$")
MAX_WORDS = 6  # words after the brand that a product phrase may have


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
                out.zh_by_brand.setdefault(brand, []).append((pid, zh[len(brand):].strip()))
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
        return out
