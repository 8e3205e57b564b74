"""Build the chat model the settings ask for: the offline default or an OpenAI-compatible one.

Both are LangChain ``BaseChatModel``s, so the graph never branches on the provider.
"""

from __future__ import annotations

import logging

from langchain_core.language_models import BaseChatModel

from agent.offline.model import build_offline_model
from agent.settings import Settings
from tools.deps import ToolDeps
from tools.shop.vocabulary import ShopVocabulary

logger = logging.getLogger(__name__)


class ModelConfigError(ValueError):
    """The settings do not describe a usable chat model."""


def build_chat_model(settings: Settings, deps: ToolDeps) -> BaseChatModel:
    """The chat model for ``settings.provider``.

    ``offline`` needs nothing; ``openai`` needs ``AGENT_OPENAI_BASE_URL`` (or the OpenAI
    default when a real key is given) and ``AGENT_MODEL``. Token counting for the OpenAI
    client uses the offline cl100k encoding, so nothing is downloaded.
    """
    if settings.provider == "offline":
        shop = deps.shop
        return build_offline_model(ShopVocabulary.build(shop.products, shop.customers, shop.meta))
    from langchain_openai import ChatOpenAI

    from agent.loop.tokens import token_ids

    key = settings.openai_api_key.get_secret_value()
    if not settings.openai_base_url and key in ("", "not-needed"):
        raise ModelConfigError(
            "provider 'openai' needs AGENT_OPENAI_BASE_URL (an OpenAI-compatible server) "
            "or AGENT_OPENAI_API_KEY for api.openai.com"
        )
    logger.info("using OpenAI-compatible model %s at %s", settings.model, settings.openai_base_url)
    return ChatOpenAI(
        model=settings.model,
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
        timeout=settings.request_timeout_s,
        max_retries=settings.max_retries,
        temperature=0,
        max_tokens=settings.max_output_tokens,
        custom_get_token_ids=token_ids,
    )
