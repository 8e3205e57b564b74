"""Fakes for the agent tests.

A scripted fake chat model (replays given replies, records every prompt it was sent), and a
fake OpenAI-compatible chat-completions endpoint on loopback (``FakeOpenAI``), scripted per
customer id, with ``openai_settings`` to point settings at it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool


class ScriptRanOutError(AssertionError):
    """The model was called more often than the test scripted."""


class ScriptedChatModel(BaseChatModel):
    """Returns the scripted messages in order; fails loudly when they run out."""

    script: list[AIMessage]
    sent: list[list[BaseMessage]] = []
    tool_schemas: list[dict[str, Any]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        """Record the tool schemas the model would be shown; return the same recorder."""
        self.tool_schemas.extend(convert_to_openai_tool(t) for t in tools)
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.sent.append(list(messages))
        if not self.script:
            raise ScriptRanOutError(f"script ran out after {len(self.sent) - 1} replies")
        reply = self.script.pop(0)
        return ChatResult(generations=[ChatGeneration(message=reply)])


def tool_call(name: str, args: dict[str, Any], call_id: str = "c1") -> AIMessage:
    """An AI message asking for one tool call."""
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}]
    )


# --- a fake OpenAI-compatible endpoint (the copy rewriter and batch tests use it) -----------

USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}


def prompt_data(body: dict[str, Any]) -> dict[str, Any]:
    """The facts (the JSON inside <data>) and the template draft (the last line) of a request."""
    text = body["messages"][-1]["content"]
    match = re.search(r"^<data>\n(.*)\n</data>$", text, re.S | re.M)
    assert match, "the request has no <data> block"
    return {
        "facts": json.loads(match.group(1)),
        "template_draft": json.loads(text.strip().splitlines()[-1]),
    }


Action = str  # "echo", "malformed", "429", "500", "slow"


class FakeOpenAI:
    """A chat-completions endpoint on loopback, scripted per customer id.

    ``script[customer_id]`` is a list of actions used one per request (the last one repeats);
    customers without a script get ``default``. ``echo`` answers with the template draft's
    fields as JSON (a rewrite the guard passes), ``malformed`` with prose, ``429``/``500`` with
    that status (and ``retry-after-ms: 5``), ``slow`` sleeps ``slow_s`` before echoing.
    """

    def __init__(
        self,
        script: dict[str, list[Action]] | None = None,
        default: Action = "echo",
        delay_s: float = 0.0,
        slow_s: float = 2.0,
        transform: Callable[[dict[str, str]], dict[str, str]] | None = None,
    ) -> None:
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.default = default
        self.delay_s = delay_s
        self.slow_s = slow_s
        self.transform = transform
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                fake.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _action(self, customer_id: str) -> Action:
        with self._lock:
            steps = self.script.get(customer_id)
            if not steps:
                return self.default
            return steps.pop(0) if len(steps) > 1 else steps[0]

    def handle(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        data = prompt_data(body)
        customer = data["facts"]["customer_id"]
        with self._lock:
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            action = self._action(customer)
            time.sleep(self.delay_s)
            if action in ("429", "500"):
                self._send(handler, int(action), {"error": {"message": "try later"}})
                return
            if action == "slow":
                time.sleep(self.slow_s)
            fields = dict(data["template_draft"])
            if self.transform is not None:
                fields = self.transform(fields)
            content = (
                json.dumps(fields)
                if action != "malformed"
                else "Sure! Here is a lovely rewrite of your message for you."
            )
            reply = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": USAGE,
            }
            self._send(handler, 200, reply)
        finally:
            with self._lock:
                self.in_flight -= 1

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(raw)))
            if status >= 400:
                handler.send_header("retry-after-ms", "5")
            handler.end_headers()
            handler.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass


def openai_settings(base: Any, url: str, **extra: Any) -> Any:
    """``base`` settings pointed at an OpenAI-compatible endpoint at ``url`` (model "fake")."""
    update = {"provider": "openai", "openai_base_url": url, "model": "fake", **extra}
    return base.model_copy(update=update)
