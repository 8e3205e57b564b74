"""The draft editor's offers: what a reviewer may attach, and the draft written with it.

The chat app (``agent.ui``) reaches the copy room through here rather than importing it: the
offers come from the shop's campaigns (``tools.copy.offers``), and a picked offer rewrites the
draft through ``draft_message``, whose guard then accepts exactly that offer.
"""

from __future__ import annotations

from typing import Any

from tools.copy.offers import OfferChoice, choice_key, draft_with_offer, offer_choices, picked_offer
from tools.deps import ToolDeps


def offers_for(deps: ToolDeps, draft: Any) -> tuple[list[OfferChoice], str]:
    """The offers the editor lists for ``draft``, and the key of the draft's own offer.

    No offer, the discounts of the shop's past campaigns, free shipping, and the draft's
    offer "as drafted" when it is none of those (e.g. a code the request named).
    """
    offer = getattr(draft, "offer", None)
    choices = offer_choices(deps.shop.campaigns, offer)
    return choices, choice_key(offer, choices)


def redraft_with_offer(deps: ToolDeps, draft: Any, key: str, code: str | None) -> Any:
    """``draft`` written again with the offer picked in the editor (and the code typed).

    Raises:
        ToolInputError: an unknown offer, a malformed code, a promotion left without an
            offer, or a fact that changed since the draft was written.
    """
    offer = picked_offer(key, code, draft.language, draft.offer)
    return draft_with_offer(deps, draft, offer)
