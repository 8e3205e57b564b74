"""``python -m agent tool`` and ``--help`` at every level of the CLI."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.__main__ import build_parser, main
from tests.conftest import DEMO_DIR, ROOT
from tools.errors import ToolInputError
from tools.registry import TOOL_SPECS


def _command_paths(parser: argparse.ArgumentParser, prefix: list[str]) -> list[list[str]]:
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.extend(_command_paths(sub, [*prefix, name]))
    return paths


def test_every_command_has_help_that_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    paths = _command_paths(build_parser(), [])
    names = {" ".join(p) for p in paths}
    assert {"tool", "trace list", "trace show"} <= names
    for path in paths:
        with pytest.raises(SystemExit) as info:
            main([*path, "--help"])
        assert info.value.code == 0, path
        out = capsys.readouterr().out
        assert out.startswith("usage: python -m agent"), path
        assert len(out.splitlines()) > 2, path


def test_module_entry_point_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "tool" in done.stdout and "trace" in done.stdout


@pytest.fixture
def cli_env(settings: object, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENT_STATE_DIR", str(state_dir))
    monkeypatch.setenv("AGENT_DATA_DIR", str(DEMO_DIR))
    return state_dir


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_bad_json_names_the_position(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["tool", "lookup_customer", '{"customer_id": C00001}'], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: JSON-ARGS is not valid JSON: Expecting value")
    assert "line 1, column 17" in err
    assert "Traceback" not in err


def test_args_must_be_a_json_object(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["tool", "lookup_customer", '["C00001"]'], capsys)
    assert code == 2 and "must be a JSON object" in err and "got list" in err


def test_unknown_tool_suggests_the_close_name(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["tool", "lookup_customr", "{}"], capsys)
    assert code == 2
    assert "unknown tool 'lookup_customr'; did you mean lookup_customer?" in err
    assert all(name in err for _, name in TOOL_SPECS)


def test_no_tool_name_is_an_error(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["tool"], capsys)
    assert code == 2 and "--list" in err


def test_a_missing_tool_module_is_named_not_a_traceback(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = (("tools.not_written_yet", "plan_everything"),)
    monkeypatch.setattr("tools.registry.TOOL_SPECS", specs)
    code, out, err = _run(["tool", "--list"], capsys)
    assert code == 2 and out == ""
    assert "tools.not_written_yet" in err and "plan_everything" in err
    assert "Traceback" not in err
    code, _, err = _run(["tool", "plan_everything", "{}"], capsys)
    assert code == 2 and "tools.not_written_yet" in err
    monkeypatch.setattr("tools.registry.TOOL_SPECS", (("tools.errors", "plan_everything"),))
    code, _, err = _run(["tool", "--list"], capsys)
    assert code == 2 and "tools.errors does not define it" in err


# --- against the real tools (skipped, naming the module, while one is still missing) -------


@pytest.fixture
def real_tools() -> None:
    """Every registered tool, or skip naming the module that does not import yet."""
    from agent.cli.tool_cmd import load_tools

    try:
        load_tools()
    except ToolInputError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def shared_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One state directory for the profile tests, so that profiles are built only once."""
    return tmp_path_factory.mktemp("tool-cli-state")


@pytest.fixture
def profile_tools(cli_env: Path, shared_state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry cut to the profile tools, so that they are tested before the others exist."""
    pytest.importorskip("tools.customers.profiles")
    specs = tuple(spec for spec in TOOL_SPECS if spec[0] == "tools.customers.profiles")
    monkeypatch.setattr("tools.registry.TOOL_SPECS", specs)
    monkeypatch.setenv("AGENT_STATE_DIR", str(shared_state))


def test_list_shows_every_tool_with_its_schema(
    cli_env: Path, real_tools: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["tool", "--list", "--json"], capsys)
    assert code == 0
    tools = json.loads(out)["tools"]
    assert [t["name"] for t in tools] == [name for _, name in TOOL_SPECS]
    for tool in tools:
        assert tool["description"], tool["name"]
        assert tool["schema"]["type"] == "object"
        assert "deps" not in tool["schema"].get("properties", {})
    by_name = {t["name"]: t for t in tools}
    assert by_name["lookup_customer"]["schema"]["required"] == ["customer_id"]
    code, out, _ = _run(["tool", "--list"], capsys)
    assert code == 0 and "lookup_customer\n  Look up" in out and "arguments:" in out


def test_lookup_customer_prints_the_profile_as_json_without_personal_data(
    cli_env: Path, profile_tools: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools.shop.store import load_shop

    customer = load_shop(DEMO_DIR).customers.iloc[0]
    code, out, err = _run(
        ["tool", "lookup_customer", json.dumps({"customer_id": customer["customer_id"]})], capsys
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["customer_id"] == customer["customer_id"]
    for column in ("email", "phone", "address"):
        assert customer[column] not in out


def test_tool_input_errors_exit_2_with_one_line(
    cli_env: Path, profile_tools: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["tool", "lookup_customer", "{}"], capsys)
    assert code == 2
    assert err.startswith("error: invalid arguments for lookup_customer: customer_id")
    code, _, err = _run(["tool", "lookup_customer", '{"customer_id": "C99999"}'], capsys)
    assert code == 2 and "C99999" in err and "Traceback" not in err
    code, _, err = _run(["tool", "find_customers", '{"filter": {"segments": ["vips"]}}'], capsys)
    assert code == 2 and "segments" in err
