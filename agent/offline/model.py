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
import re
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
from agent.offline.context import Memory, apply_context, remember
from agent.offline.offers import offer_arguments, plan_offers
from agent.offline.reading import Reading, read_request
from agent.offline.routing import Route, plan_stages, resolve_categories, unknown_noun
from agent.offline.turns import Turn, read_turns
from tools.shop.vocabulary import ShopVocabulary

logger = logging.getLogger(__name__)

MAX_TARGETS = 5  # customers a chained request acts on at most (recommend, draft)
DEFAULT_TARGETS = 3
RESOLVE_K = 10  # products searched to learn what a noun stands for


class OfflineChatModel(BaseChatModel):
    """Rule-based, grounded chat model for the tool loop (English and Chinese)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    vocabulary: ShopVocabulary
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

    def route(self, turn: Turn, earlier: list[Turn]) -> tuple[Route, Memory]:
        """The route of a turn, with the memory its earlier turns left (all recomputed)."""
        memory = Memory()
        for past in earlier:
            past_route = plan_stages(self._read(past, memory), memory)
            self._resolve(past_route, past)
            memory = remember(memory, past_route.reading, past)
        route = plan_stages(self._read(turn, memory), memory)
        self._resolve(route, turn)
        return route, memory

    def _read(self, turn: Turn, memory: Memory) -> Reading:
        return apply_context(read_request(turn.request, self.vocabulary), memory)

    def _resolve(self, route: Route, turn: Turn) -> None:
        """Apply a product noun's search results to the reading (or ask when none matched)."""
        reading = route.reading
        results = [
            a for s in turn.stages if s.stage == "resolve" for a in s.artifacts("search_products")
        ]
        if not reading.taste_query or not results:
            return
        categories = resolve_categories(results[0])
        if not categories:
            route.clarify = unknown_noun(reading, results[0])
            route.stages = ["resolve"]
            return
        new = [c for c in categories if c not in reading.categories]
        reading.categories = [*reading.categories, *new]
        reading.sources["categories"] = (
            f"{reading.taste_query} -> {', '.join(categories)} (product search)"
        )

    def respond(self, messages: Sequence[BaseMessage]) -> AIMessage:
        """The next message: tool calls for the next stage, or the final answer."""
        turns = read_turns(messages)
        if not turns:
            return AIMessage(content=answers.capabilities("en"))
        turn, earlier = turns[-1], turns[:-1]
        route, memory = self.route(turn, earlier)
        done = {s.stage for s in turn.stages}
        if route.clarify is None:
            for stage in route.stages:
                if stage in done or stage == "explain":
                    continue
                calls = [
                    (name, args)
                    for name, args in self._calls_for(stage, route, turn, memory)
                    if not self.tool_names or name in self.tool_names
                ]
                if calls:
                    prefix = f"call_{len(messages)}"
                    return self._tool_message(stage, route, calls, prefix, first=not turn.stages)
                done.add(stage)
        text = answers.compose(route, turn, earlier, self.vocabulary.category_labels)
        extra: dict[str, Any] = {"reading": _reading_meta(route.reading)}
        clarification = answers.clarification(route)
        if clarification is not None:
            extra["clarification"] = clarification
        meta: dict[str, Any] = {"route": _route_meta(route)}
        if not turn.stages:
            meta["reading"] = extra["reading"]
        return AIMessage(content=text, additional_kwargs=extra, response_metadata=meta)

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
            meta["reading"] = _reading_meta(route.reading)
        note = answers.stage_note(stage, route, len(calls))
        return AIMessage(
            content=note, tool_calls=tool_calls, additional_kwargs={"stage": stage},
            response_metadata=meta,
        )  # fmt: skip

    # -- stage builders -------------------------------------------------------------------

    def _calls_for(
        self, stage: str, route: Route, turn: Turn, memory: Memory
    ) -> list[tuple[str, dict[str, Any]]]:
        r = route.reading
        if stage == "resolve":
            return [("search_products", {"query": r.taste_query, "k": RESOLVE_K})]
        if stage == "lookup":
            return [("lookup_customer", {"customer_id": c}) for c in r.customer_ids[:MAX_TARGETS]]
        if stage == "match":
            return [("match_campaigns", {"customer_id": c}) for c in r.customer_ids[:MAX_TARGETS]]
        if stage == "find":
            return [("find_customers", {"filter": self._segment_filter(route)})]
        if stage == "search":
            return self._search_calls(r)
        if stage == "recommend":
            targets = self._targets(route, turn)
            k = r.product_count or (r.top_n if r.top_n and r.customer_ids else None) or 3
            args: dict[str, Any] = {"k": min(max(k, 1), 20)}
            if len(r.categories) == 1:
                args["category"] = r.categories[0]
            return [("recommend_products", {"customer_id": c, **args}) for c in targets]
        if stage == "draft":
            return self._draft_calls(route, turn)
        if stage == "plan":
            return self._plan_calls(r)
        if stage == "audit":
            if turn.artifacts("optimize_campaign"):
                return []  # the plan carries its own audit
            return [("audit_fairness", {"audience": r.audience()})]
        return []

    def _segment_filter(self, route: Route) -> dict[str, Any]:
        r = route.reading
        filt = r.audience()
        group = "draft" in route.stages or "recommend" in route.stages
        if "draft" in route.stages:
            filt["consent_channel"] = _channel(r)
        if group:
            filt["limit"] = min(r.top_n or DEFAULT_TARGETS, MAX_TARGETS)
        elif r.top_n:
            filt["limit"] = min(r.top_n, 100)
        return filt

    def _targets(self, route: Route, turn: Turn) -> list[str]:
        r = route.reading
        if r.customer_ids:
            return r.customer_ids[:MAX_TARGETS]
        n = min(r.top_n or DEFAULT_TARGETS, MAX_TARGETS)
        for found in reversed(turn.artifacts("find_customers")):
            return list(found.customer_ids[:n])
        return []

    def _search_calls(self, r: Reading) -> list[tuple[str, dict[str, Any]]]:
        query = r.product_query or " ".join(r.categories) or " ".join(r.brands)
        if not query:
            return []
        args: dict[str, Any] = {"query": query, "k": min(r.product_count or r.top_n or 5, 20)}
        if len(r.categories) == 1:
            args["category"] = r.categories[0]
        if len(r.brands) == 1:
            args["brand"] = r.brands[0]
        if r.min_price is not None:
            args["min_price"] = r.min_price
        if r.max_price is not None:
            args["max_price"] = r.max_price
        if r.exclude:
            args["exclude"] = list(r.exclude)
        return [("search_products", args)]

    def _draft_calls(self, route: Route, turn: Turn) -> list[tuple[str, dict[str, Any]]]:
        r = route.reading
        channel = _channel(r)
        targets = self._targets(route, turn)
        recs = {x.customer_id: x for x in turn.artifacts("recommend_products")}
        hits = [
            h.product_id
            for stage in turn.stages
            if stage.stage == "search"
            for result in stage.artifacts("search_products")
            for h in result.hits[:2]
        ]
        calls = []
        for customer in targets:
            args: dict[str, Any] = {"customer_id": customer, "channel": channel}
            if r.product_ids:
                args["product_ids"] = r.product_ids[:3]
            elif hits:
                args["product_ids"] = hits
            elif customer in recs and recs[customer].items:
                args["product_ids"] = [i.product_id for i in recs[customer].items[:2]]
            offer = offer_arguments(r)
            if offer is not None:
                args["offer"] = offer
            if r.goal and not (r.goal == "promotion" and not r.discount_pct):
                args["goal"] = r.goal
            elif r.discount_pct:
                args["goal"] = "promotion"
            else:
                args["goal"] = "recommendations" if "product_ids" in args else "re-engage"
            if args["goal"] == "recommendations" and "product_ids" not in args:
                args["goal"] = "re-engage"
            calls.append(("draft_message", args))
        return calls

    def _plan_calls(self, r: Reading) -> list[tuple[str, dict[str, Any]]]:
        if not r.budget:
            return []  # the answer asks for a budget instead of inventing one
        args: dict[str, Any] = {"budget": r.budget}
        if r.channels:
            args["channels"] = [{"channel": c} for c in r.channels]
        audience = {k: v for k, v in r.audience().items() if k != "consent_channel"}
        shares = r.min_share is not None or r.max_share is not None
        if shares and len(r.segments) == 1:
            # "no more than 30% to champions" shares the budget; it does not pick the audience.
            key = "max_segment_share" if r.max_share is not None else "min_segment_share"
            args[key] = {r.segments[0]: r.max_share if r.max_share is not None else r.min_share}
            audience.pop("segments", None)
        if audience:
            args["audience"] = audience
        if r.frequency_cap_days is not None:
            args["frequency_cap_days"] = r.frequency_cap_days
        low = r.text.lower()
        if re.search(r"conversion|转化", low):
            args["goal"] = "conversions"
        elif re.search(r"profit|利润", low):
            args["goal"] = "profit"
        elif re.search(r"revenue|收入|营收|销售额", low):
            args["goal"] = "revenue"
        offers = plan_offers(r)
        if offers:
            args["offers"] = offers
        return [("optimize_campaign", args)]


def _channel(reading: Reading) -> str:
    return reading.channels[0] if reading.channels else "email"


def _route_meta(route: Route) -> dict[str, Any]:
    return {
        "intents": route.reading.intents,
        "stages": route.stages,
        "language": route.reading.language,
        "clarify": route.clarify.reason if route.clarify else None,
    }


def _reading_meta(reading: Reading) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(reading.model_dump_json(exclude_defaults=True))
    names = {c: n for c, n in reading.category_names.items() if c in reading.categories}
    data.pop("category_names", None)
    if names:
        data["category_names"] = names
    data.setdefault("intents", [])
    data.setdefault("language", reading.language)
    return data


def build_offline_model(vocabulary: ShopVocabulary) -> OfflineChatModel:
    """The offline model for a shop's vocabulary."""
    return OfflineChatModel(vocabulary=vocabulary)
