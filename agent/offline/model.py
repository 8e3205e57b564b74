"""The embedded offline chat model: deterministic, no key, no network.

It is a LangChain ``BaseChatModel`` so the graph treats it like any other model. On each
call it reads the conversation, routes the newest request with ``agent.offline.routing`` (rules and
entity extraction over the shop's vocabulary), and either asks for the next stage's tool
calls or, when every stage has run, writes the answer from the tool results
(``agent.offline.answers``). It never states a number or product that no tool returned.

Stateless by design: the stage it is at is recomputed from the messages (each tool-calling
message carries its stage name), so replays and multi-turn sessions need no hidden state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import ConfigDict

from agent.offline import answers
from agent.offline.routing import Route, Vocabulary, route_request
from agent.offline.turns import Turn, read_turns

logger = logging.getLogger(__name__)

MAX_TARGETS = 5  # customers a chained request acts on at most (recommend, draft)
DEFAULT_TARGETS = 3


class OfflineChatModel(BaseChatModel):
    """Rule-based, grounded chat model for the tool loop (English and Chinese)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    vocabulary: Vocabulary
    tool_names: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "offline-rules"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        """Return a copy that knows which tools exist (it calls only those)."""
        names = [t.name if isinstance(t, BaseTool) else getattr(t, "__name__", "") for t in tools]
        return self.model_copy(update={"tool_names": [n for n in names if n]})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self.respond(messages)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def respond(self, messages: Sequence[BaseMessage]) -> AIMessage:
        """The next message: tool calls for the next stage, or the final answer."""
        turns = read_turns(messages)
        if not turns:
            return AIMessage(content=answers.capabilities("en"))
        turn, earlier = turns[-1], turns[:-1]
        history = [
            {"name": c["name"], "args": c["args"]}
            for t in earlier
            for s in t.stages
            for c in s.calls
        ]
        route = route_request(turn.request, self.vocabulary, history)
        done = {s.stage for s in turn.stages}
        for stage in route.stages:
            if stage in done or stage == "explain":
                continue
            calls = [
                (name, args)
                for name, args in self._calls_for(stage, route, turn, earlier)
                if not self.tool_names or name in self.tool_names
            ]
            if calls:
                prefix = f"call_{len(messages)}"
                return self._tool_message(stage, route, calls, prefix, first=not turn.stages)
            done.add(stage)
        text = answers.compose(route, turn, earlier)
        return AIMessage(content=text, response_metadata={"route": _route_meta(route)})

    def _tool_message(
        self,
        stage: str,
        route: Route,
        calls: list[tuple[str, dict[str, Any]]],
        prefix: str,
        first: bool,
    ) -> AIMessage:
        tool_calls = [
            {"name": name, "args": args, "id": f"{prefix}_{i}", "type": "tool_call"}
            for i, (name, args) in enumerate(calls)
        ]
        meta: dict[str, Any] = {"stage": stage}
        if first:
            meta["route"] = _route_meta(route)
        note = answers.stage_note(stage, route, len(calls))
        return AIMessage(
            content=note, tool_calls=tool_calls, additional_kwargs={"stage": stage},
            response_metadata=meta,
        )  # fmt: skip

    # -- stage builders -------------------------------------------------------------------

    def _calls_for(
        self, stage: str, route: Route, turn: Turn, earlier: list[Turn]
    ) -> list[tuple[str, dict[str, Any]]]:
        ent = route.entities
        if stage == "lookup":
            return [("lookup_customer", {"customer_id": c}) for c in ent.customer_ids[:MAX_TARGETS]]
        if stage == "match":
            return [("match_campaigns", {"customer_id": c}) for c in ent.customer_ids[:MAX_TARGETS]]
        if stage == "find":
            return [("find_customers", {"filter": self._segment_filter(route, earlier)})]
        if stage == "search":
            return self._search_calls(route)
        if stage == "recommend":
            targets = self._targets(route, turn, earlier)
            k = ent.product_count or (ent.top_n if ent.top_n and len(targets) == 1 else 3)
            args: dict[str, Any] = {"k": min(max(k, 1), 20)}
            if len(ent.categories) == 1:
                args["category"] = ent.categories[0]
            return [("recommend_products", {"customer_id": c, **args}) for c in targets]
        if stage == "draft":
            return self._draft_calls(route, turn, earlier)
        if stage == "plan":
            return self._plan_calls(route)
        if stage == "audit":
            return self._audit_calls(route, turn)
        return []

    def _segment_filter(self, route: Route, earlier: list[Turn]) -> dict[str, Any]:
        ent = route.entities
        filt: dict[str, Any] = {}
        if not (ent.segments or ent.categories or ent.language_filter or ent.city):
            previous = _last_call(earlier, "find_customers")
            if previous and ent.refers_back:
                filt = dict(previous["args"].get("filter") or {})
        if ent.segments:
            filt["segments"] = ent.segments
        if ent.categories:
            filt["categories"] = ent.categories
        if ent.language_filter:
            filt["language"] = ent.language_filter
        if ent.city:
            filt["city"] = ent.city
        if "draft" in route.stages:
            filt["consent_channel"] = _channel(route)
            filt["limit"] = min(ent.top_n or DEFAULT_TARGETS, MAX_TARGETS)
        elif ent.top_n:
            filt["limit"] = min(ent.top_n, 100)
        return filt

    def _targets(self, route: Route, turn: Turn, earlier: list[Turn]) -> list[str]:
        ent = route.entities
        if ent.customer_ids:
            return ent.customer_ids[:MAX_TARGETS]
        n = min(ent.top_n or DEFAULT_TARGETS, MAX_TARGETS)
        for found in reversed(turn.artifacts("find_customers")):
            return list(found.customer_ids[:n])
        if ent.refers_back:
            for past in reversed(earlier):
                for result in reversed(past.artifacts("find_customers")):
                    return list(result.customer_ids[:n])
                for profile in reversed(past.artifacts("lookup_customer")):
                    return [profile.customer_id]
        return []

    def _search_calls(self, route: Route) -> list[tuple[str, dict[str, Any]]]:
        ent = route.entities
        query = ent.product_query or " ".join(ent.categories) or " ".join(ent.brands)
        if not query:
            return []
        args: dict[str, Any] = {"query": query, "k": min(ent.product_count or ent.top_n or 5, 20)}
        if len(ent.categories) == 1:
            args["category"] = ent.categories[0]
        if len(ent.brands) == 1:
            args["brand"] = ent.brands[0]
        if ent.min_price is not None:
            args["min_price"] = ent.min_price
        if ent.max_price is not None:
            args["max_price"] = ent.max_price
        return [("search_products", args)]

    def _draft_calls(
        self, route: Route, turn: Turn, earlier: list[Turn]
    ) -> list[tuple[str, dict[str, Any]]]:
        ent = route.entities
        channel = _channel(route)
        targets = self._targets(route, turn, earlier)
        recs = {r.customer_id: r for r in turn.artifacts("recommend_products")}
        hits = [h.product_id for s in turn.artifacts("search_products") for h in s.hits[:2]]
        calls = []
        for customer in targets:
            args: dict[str, Any] = {"customer_id": customer, "channel": channel}
            if ent.product_ids:
                args["product_ids"] = ent.product_ids[:3]
            elif hits:
                args["product_ids"] = hits
            elif customer in recs and recs[customer].items:
                args["product_ids"] = [i.product_id for i in recs[customer].items[:2]]
            if ent.discount_pct:
                args["offer"] = {
                    "name": f"{ent.discount_pct:g}% off",
                    "discount_pct": ent.discount_pct,
                }
            if ent.goal:
                args["goal"] = ent.goal
            elif ent.discount_pct:
                args["goal"] = "promotion"
            else:
                args["goal"] = "recommendations" if "product_ids" in args else "re-engage"
            calls.append(("draft_message", args))
        return calls

    def _plan_calls(self, route: Route) -> list[tuple[str, dict[str, Any]]]:
        ent = route.entities
        if not ent.budget:
            return []  # the answer asks for a budget instead of inventing one
        args: dict[str, Any] = {"budget": ent.budget}
        if ent.channels:
            args["channels"] = [{"channel": c} for c in ent.channels]
        audience: dict[str, Any] = {}
        if ent.segments:
            audience["segments"] = ent.segments
        if ent.categories:
            audience["categories"] = ent.categories
        if ent.language_filter:
            audience["language"] = ent.language_filter
        if audience:
            args["audience"] = audience
        low = route.text.lower()
        if "conversion" in low or "转化" in low:
            args["goal"] = "conversions"
        elif "profit" in low or "利润" in low:
            args["goal"] = "profit"
        if ent.discount_pct:
            args["offers"] = [
                {"name": f"{ent.discount_pct:g}% off", "discount_pct": ent.discount_pct}
            ]
        return [("optimize_campaign", args)]

    def _audit_calls(self, route: Route, turn: Turn) -> list[tuple[str, dict[str, Any]]]:
        ent = route.entities
        plans = turn.artifacts("optimize_campaign")
        if plans:
            return []  # the plan carries its own audit
        audience: dict[str, Any] = {}
        if ent.segments:
            audience["segments"] = ent.segments
        if ent.categories:
            audience["categories"] = ent.categories
        return [("audit_fairness", {"audience": audience})]


def _channel(route: Route) -> str:
    return route.entities.channels[0] if route.entities.channels else "email"


def _last_call(turns: list[Turn], name: str) -> dict[str, Any] | None:
    for turn in reversed(turns):
        for stage in reversed(turn.stages):
            for call in reversed(stage.calls):
                if call["name"] == name:
                    return dict(call)
    return None


def _route_meta(route: Route) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(route.model_dump_json(exclude_defaults=False))
    return data


def build_offline_model(vocabulary: Vocabulary) -> OfflineChatModel:
    """The offline model for a shop's vocabulary."""
    return OfflineChatModel(vocabulary=vocabulary)
