"""``trace list`` and ``trace show RUN_ID``: read the reasoning traces of past runs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agent.cli.common import load_settings, print_json, print_table, run_guarded
from agent.loop.trace import TraceEvent, list_runs, load_run, summarize_run

#: Characters of a value shown on one line of ``trace show`` (``--json`` shows everything).
SHOW_CHARS = 160


def register(groups: dict[str, Any]) -> None:
    """Add ``trace list`` and ``trace show`` to the ``trace`` group."""
    sub = groups["trace"]
    ls = sub.add_parser(
        "list",
        help="list recent runs, newest first",
        description="List recent runs (newest first): id, start, outcome, tools and request.",
    )
    ls.add_argument("--limit", type=int, default=20, metavar="N", help="runs to list (20)")
    ls.add_argument("--json", action="store_true", help='print {"runs": [...]} as one JSON object')
    ls.set_defaults(func=run_guarded(cmd_list))

    show = sub.add_parser(
        "show",
        help="show one run step by step",
        description=(
            "Show every step of a run: the request, the reading, routing, tool calls with their "
            "arguments, results, errors, guard verdicts and the answer, with durations and tokens."
        ),
    )
    show.add_argument("run_id", metavar="RUN_ID", help="the run's id (see `trace list`)")
    show.add_argument("--json", action="store_true", help="print the run's events as JSON")
    show.set_defaults(func=run_guarded(cmd_show))


def cmd_list(args: argparse.Namespace) -> int:
    """List recent runs."""
    settings = load_settings(args)
    runs = list_runs(settings.trace_dir, limit=args.limit)
    if args.json:
        print_json({"runs": runs})
        return 0
    if not runs:
        sys.stdout.write(f"no runs recorded yet in {settings.trace_dir}\n")
        return 0
    rows = [
        (
            run.run_id,
            run.started_at.strftime("%Y-%m-%d %H:%M:%S") if run.started_at else "-",
            "ok" if run.ok else "FAILED",
            f"{run.duration_ms:.0f} ms" if run.duration_ms is not None else "-",
            _shorten(", ".join(run.tool_names) or "-", 48),
            run.request,
        )
        for run in runs
    ]
    print_table(("run", "started (UTC)", "outcome", "took", "tools", "request"), rows)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Show one run."""
    settings = load_settings(args)
    run = load_run(settings.trace_dir, args.run_id)
    for problem in run.problems:
        sys.stderr.write(f"warning: {problem}\n")
    if args.json:
        print_json({"run_id": run.run_id, "events": run.events, "problems": run.problems})
        return 0
    summary = summarize_run(run)
    started = summary.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") if summary.started_at else "-"
    took = f", {summary.duration_ms:.0f} ms" if summary.duration_ms is not None else ""
    outcome = "ok" if summary.ok else "FAILED (no answer or an error)"
    sys.stdout.write(
        f"run {run.run_id}: started {started}, {summary.events} events{took}, {outcome}\n"
    )
    for event in run.events:
        sys.stdout.write(render_event(event) + "\n")
    return 0


def render_event(event: TraceEvent) -> str:
    """One or two readable lines for an event."""
    head = f"#{event.seq:<3} {event.at:%H:%M:%S.%f}"[:-3] + f"  {event.kind:<12}"
    first, second = _describe(event)
    costs = []
    if event.duration_ms is not None:
        costs.append(f"{event.duration_ms:.1f} ms")
    if event.tokens_in is not None or event.tokens_out is not None:
        costs.append(f"tokens in {event.tokens_in or 0} / out {event.tokens_out or 0}")
    line = head + first + (f"  ({', '.join(costs)})" if costs else "")
    if second:
        line += "\n" + " " * len(head) + second
    return line


def _describe(event: TraceEvent) -> tuple[str, str]:
    """The main text of an event and an optional second line."""
    data = dict(event.data)
    kind = event.kind
    name = str(data.pop("name", data.pop("tool", "")))
    if kind in ("request", "answer"):
        return _shorten(_text(data, "text", "answer")), ""
    if kind == "route":
        return _describe_route(data)
    if kind == "reading":
        return _describe_reading(data)
    if kind == "model":
        calls = data.get("tool_calls") or []
        names = [str(c.get("name", "?")) for c in calls if isinstance(c, dict)]
        content = data.get("content") or data.get("message")
        first = _shorten(str(content)) if content else "(no text)"
        return first, ("calls " + ", ".join(names)) if names else ""
    if kind == "tool_call":
        return _shorten(f"{name} {_compact(data.get('args', {}))}"), ""
    if kind == "tool_result":
        summary = data.get("summary")
        return _shorten(f"{name}: {summary}" if summary else f"{name}: done"), ""
    if kind == "tool_error":
        return _shorten(f"{name}: {_text(data, 'error', 'message')}"), ""
    if kind == "guard":
        return _describe_guard(data)
    if kind == "error":
        message = _text(data, "message", "error")
        kind_name = data.get("type")
        return _shorten(f"{kind_name}: {message}" if kind_name else message), ""
    return _shorten(_compact(data)), ""


def _describe_route(data: dict[str, Any]) -> tuple[str, str]:
    """Intents, stages and the entities that were found (offline), or the model's message."""
    nested = data.get("route")
    route: dict[str, Any] = nested if isinstance(nested, dict) else data
    intents = route.get("intents") or ([route["intent"]] if route.get("intent") else None)
    if not intents:
        return _shorten(_text(data, "message", "content")), ""
    stages = route.get("stages") or []
    first = "intents " + ", ".join(str(i) for i in intents)
    if stages:
        first += "; stages " + ", ".join(str(s) for s in stages)
    if route.get("language"):
        first += f"; language {route['language']}"
    entities = route.get("entities") or {}
    if isinstance(entities, dict):
        entities = {k: v for k, v in entities.items() if v not in (None, "", [], {}, False)}
    return _shorten(first), _shorten("entities " + _compact(entities)) if entities else ""


def _describe_reading(data: dict[str, Any]) -> tuple[str, str]:
    """The offline model's reading: intents, then each field with the words it came from."""
    nested = data.get("reading")
    reading: dict[str, Any] = nested if isinstance(nested, dict) else data
    skip = {"text", "language", "intents", "sources", "carried", "points_back"}
    fields = {k: v for k, v in reading.items() if k not in skip and v not in (None, "", [], {})}
    first = "read as " + (", ".join(map(str, reading.get("intents") or [])) or "nothing to do")
    carried = [str(c.get("field")) for c in reading.get("carried") or [] if isinstance(c, dict)]
    if carried:
        first += "; from earlier turns: " + ", ".join(carried)
    return _shorten(first), _shorten(_compact(fields)) if fields else ""


def _describe_guard(data: dict[str, Any]) -> tuple[str, str]:
    """The verdict (passed or failed) and its problems."""
    nested = data.get("verdict")
    verdict: dict[str, Any] = nested if isinstance(nested, dict) else data
    passed = verdict.get("passed", verdict.get("ok"))
    word = "passed" if passed else "FAILED" if passed is not None else "no verdict"
    where = [f"{k} {data[k]}" for k in ("draft_id", "channel") if data.get(k)]
    first = word + (f" ({', '.join(where)})" if where else "")
    problems = verdict.get("problems") or verdict.get("reasons") or []
    if not isinstance(problems, list):
        problems = [problems]
    texts = [
        f"{p.get('code')}: {p.get('message')}" if isinstance(p, dict) and "code" in p else str(p)
        for p in problems
    ]
    return first, _shorten("; ".join(texts)) if texts else ""


def _text(data: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = data.get(key)
        if value:
            return str(value) if isinstance(value, str) else _compact(value)
    return _compact(data) if data else ""


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def _shorten(text: str, limit: int = SHOW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
