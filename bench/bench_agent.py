"""Agent overhead: fixed prompt tokens, a three-tool turn's tokens, run time against bare calls.

The fixed prompt is the system prompt plus the tool schemas sent with a model call. On the
OpenAI path only the tools of the request's family are sent (``agent.offline.families``), so
the figure that counts is the largest family's; the size with every tool is printed beside
it. The offline agent's run time is compared with the bare tool calls it makes, in one
process.

Run: ``.venv/bin/python bench/bench_agent.py`` (targets: fixed prompt < 1,500 cl100k tokens;
overhead per run p50 < 50 ms).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.loop.runner import AgentRunner
from agent.loop.tokens import count_message_tokens, count_tokens
from agent.offline.families import FAMILY_TOOLS, GENERAL_TOOLS
from agent.settings import Settings
from tests.fakes import ScriptedChatModel, tool_call
from tools.registry import call_tool

REQUESTS = [
    "Tell me about C00042",
    "Recommend products for C00003",
    "How many at-risk customers like outdoor gear?",
    "Draft an SMS for C00003",
    "Find waterproof hiking backpacks under $150",
]


def fixed_prompt_tokens(runner: AgentRunner) -> tuple[int, int, int, dict[str, int]]:
    """System prompt tokens, every tool's schema tokens, their sum, and each family's sum."""
    system = count_message_tokens([SystemMessage(content=runner.system_prompt)])
    per_tool = {
        t.name: count_tokens(str(convert_to_openai_tool(t)).replace("'", '"')) for t in runner.tools
    }
    families = dict(FAMILY_TOOLS)
    families["general"] = GENERAL_TOOLS
    per_family = {
        name: system + sum(per_tool[t] for t in tools) for name, tools in families.items()
    }
    schemas = sum(per_tool.values())
    return system, schemas, system + schemas, per_family


def three_tool_turn_tokens(settings: Settings, runner: AgentRunner) -> int:
    """Prompt tokens the model is sent over a lookup -> recommend -> draft turn."""
    script = [
        tool_call("lookup_customer", {"customer_id": "C00003"}, "a"),
        tool_call("recommend_products", {"customer_id": "C00003", "k": 3}, "b"),
        tool_call("draft_message", {"customer_id": "C00003", "channel": "email"}, "c"),
        AIMessage(content="Done."),
    ]
    fake = ScriptedChatModel(script=script, sent=[], tool_schemas=[])
    AgentRunner(settings, deps=runner.deps, model=fake).run("Profile, recommend and draft C00003")
    return sum(count_message_tokens(sent) for sent in fake.sent)


def overhead(runner: AgentRunner, rounds: int = 5) -> tuple[float, float]:
    """p50 of the agent's run time and of the bare tool calls it made, in ms."""
    agent_ms: list[float] = []
    bare_ms: list[float] = []
    for _ in range(rounds):
        for text in REQUESTS:
            start = time.perf_counter()
            result = runner.run(text)
            agent_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            for call in result.tool_calls:
                try:
                    call_tool(runner.deps, call.name, call.args)
                except ValueError:
                    pass
            bare_ms.append((time.perf_counter() - start) * 1000)
    return statistics.median(agent_ms), statistics.median(bare_ms)


def main() -> None:
    """Print the figures and ratios."""
    with tempfile.TemporaryDirectory() as state:
        settings = Settings(state_dir=Path(state))
        runner = AgentRunner(settings)
        for text in REQUESTS:  # warm caches and indexes
            runner.run(text)
        system, schemas, total, per_family = fixed_prompt_tokens(runner)
        largest = max(per_family.values())
        print(
            f"fixed prompt (largest family): {largest} cl100k tokens; with every tool {total} "
            f"(system {system} + tool schemas {schemas})"
        )
        print("  by family: " + ", ".join(f"{k} {v}" for k, v in sorted(per_family.items())))
        print(f"  target < 1500: {'ok' if largest < 1500 else 'OVER'} (ratio {largest / 1500:.2f})")
        turn = three_tool_turn_tokens(settings, runner)
        print(f"three-tool turn: {turn} prompt tokens over 4 model calls")
        agent, bare = overhead(runner)
        print(f"offline agent run p50 {agent:.1f} ms vs bare tool calls p50 {bare:.1f} ms")
        print(f"  overhead per run p50 {agent - bare:.1f} ms (target < 50)")
        print(f"  ratio agent / bare {agent / bare:.2f}")


if __name__ == "__main__":
    main()
