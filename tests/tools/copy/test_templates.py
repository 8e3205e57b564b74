"""Every prompt and copy template renders strictly with exactly its declared variables.

The first line of each file under ``prompts/`` declares its variables; these tests discover
every template, so a new file is covered without touching this module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.copy.templates import (
    TemplateError,
    list_templates,
    load_template,
    render_section,
    render_template,
    template_variables,
)

TEMPLATES = list_templates()


def dummy(name: str) -> str:
    return f"<<{name}>>"


def test_the_copy_templates_are_discovered() -> None:
    for name in ("brand_voice.md", "copy/email_en.md", "copy/sms_zh.md", "copy/goals_en.md"):
        assert name in TEMPLATES


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_renders_with_its_declared_variables(name: str) -> None:
    variables = template_variables(name)
    text = render_template(name, **{v: dummy(v) for v in variables})
    for v in variables:
        assert dummy(v) in text, f"{name}: {v} declared but not shown"
    assert "${" not in text
    assert not text.startswith("<!--"), "the declaration line is not part of the output"


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_section_renders_with_its_own_variables(name: str) -> None:
    template = load_template(name)
    for section in template.sections:
        variables = template.section_variables(section)
        text = render_section(name, section, **{v: dummy(v) for v in variables})
        assert text.strip(), f"{name} [{section}] is empty"
        assert "${" not in text
        assert "===" not in text


def test_a_missing_variable_names_the_template_and_the_variable() -> None:
    with pytest.raises(TemplateError, match=r"brand_voice\.md.*missing variable\(s\) shop_name"):
        render_template("brand_voice.md")


def test_an_unused_extra_variable_is_an_error() -> None:
    with pytest.raises(TemplateError, match=r"unexpected variable\(s\) shop_nmae"):
        render_template("brand_voice.md", shop_name="Acme", shop_nmae="typo")


def test_a_section_is_strict_too() -> None:
    with pytest.raises(TemplateError, match=r"sms_en\.md \[opt_out\].*unexpected.*first_name"):
        render_section("copy/sms_en.md", "opt_out", first_name="Emma")
    with pytest.raises(TemplateError, match="no section 'nope'"):
        render_section("copy/sms_en.md", "nope")


def test_an_unknown_template_suggests_close_names() -> None:
    with pytest.raises(TemplateError, match=r"copy/email_en\.md"):
        render_template("copy/emial_en.md")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_dollar_amounts_are_text_and_double_dollar_escapes(tmp_path: Path) -> None:
    write(tmp_path, "t.md", "<!-- variables: x -->\nCosts $89.00, ${x} and $${x}; $ alone.\n")
    out = load_template("t.md", tmp_path).render(x="ok")
    assert out == "Costs $89.00, ok and ${x}; $ alone.\n"


def test_the_declaration_must_match_the_body(tmp_path: Path) -> None:
    write(tmp_path, "undeclared.md", "<!-- variables: a -->\n${a} ${b}\n")
    write(tmp_path, "unused.md", "<!-- variables: a, b -->\n${a}\n")
    write(tmp_path, "none.md", "Hello ${a}\n")
    write(tmp_path, "broken.md", "<!-- variables: a -->\n${a} ${ b}\n")
    with pytest.raises(TemplateError, match="uses undeclared b"):
        load_template("undeclared.md", tmp_path)
    with pytest.raises(TemplateError, match="declares unused b"):
        load_template("unused.md", tmp_path)
    with pytest.raises(TemplateError, match="first line must declare"):
        load_template("none.md", tmp_path)
    with pytest.raises(TemplateError, match="broken.md"):
        load_template("broken.md", tmp_path)


def test_a_template_outside_the_prompts_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "inner").mkdir()
    write(tmp_path, "secret.md", "<!-- variables: -->\nno\n")
    with pytest.raises(TemplateError, match="outside"):
        load_template("../secret.md", tmp_path / "inner")


def test_edits_are_picked_up(tmp_path: Path) -> None:
    path = write(tmp_path, "t.md", "<!-- variables: -->\none\n")
    assert load_template("t.md", tmp_path).render() == "one\n"
    path.write_text("<!-- variables: -->\ntwo\n", encoding="utf-8")
    import os

    os.utime(path, ns=(1, path.stat().st_mtime_ns + 1_000_000))
    assert load_template("t.md", tmp_path).render() == "two\n"
