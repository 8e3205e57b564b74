"""Every phrase of the offline model renders strictly, in both languages, with the same keys."""

from __future__ import annotations

import re

import pytest

from agent.offline.phrases import phrases, say


def test_both_languages_have_the_same_phrases() -> None:
    table = phrases()
    assert set(table["en"]) == set(table["zh"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_phrase_renders_with_its_variables(lang: str) -> None:
    for key, text in phrases()[lang].items():
        names = set(re.findall(r"\$\{([a-z_][a-z0-9_]*)\}", text))
        rendered = say(lang, key, **dict.fromkeys(names, "X"))
        assert "${" not in rendered, key
        if names:
            with pytest.raises(KeyError):
                say(lang, key)  # a missing variable is an error, never a blank


def test_a_dollar_amount_in_a_phrase_is_text() -> None:
    assert "$5,000" in say("en", "need_budget")
