"""The audience of a batch job: who to draft for, and who to skip before any drafting.

The audience comes from a segment filter, a saved campaign plan (``read_plan_file``: each
contact with its channel and offer) or a file of customer ids (``read_ids_file``), in
order. ``classify`` then gives every customer a skip reason or none: ``unknown_id`` (not
in the shop; a lower-case id is matched to its upper-case form), ``duplicate`` (one
message per customer per job), ``no_consent`` (no consent for the channel) and
``frequency_cap`` (a frequency rule of the channel forbids another message at the shop's
"as of" time: ``tools.customers.contact_rules``, the one rule plans and matching use too;
which rule skipped how many is counted as well).
``no_products`` is decided by the job when ``--recommend`` finds no in-stock product for
a ``recommendations`` draft.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from agent.batch.models import BatchOptions, ItemSpec
from tools.config import FrequencyRule
from tools.copy.guard import catalog_rows
from tools.copy.models import Offer
from tools.customers.contact_rules import ContactHistory
from tools.deps import ToolDeps
from tools.errors import ToolInputError
from tools.shop.schemas import CHANNELS, Channel

#: Products asked of the recommender per customer (the first in-stock ones are cited).
RECOMMEND_K = {"email": 5, "sms": 3, "push": 3}


def _read_text(path: Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ToolInputError(f"{what} {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolInputError(f"{what} {path}: cannot be read ({exc})") from None


#: What a line of an ids file may hold: one id-like token (letters, digits, '_' or '-').
_ID_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def read_ids_file(path: Path) -> list[str]:
    """Customer ids from a file, one a line (blank lines, ``#`` comments and a header skipped).

    A CSV is accepted too: the first column of each line is the id. A line that does not
    hold an id-like token (a file that is not a list of ids) is refused by line number,
    without its content: the unknown ids a batch lists must never echo another file back.

    Raises:
        ToolInputError: the file is missing or unreadable, or a line is not an id.
    """
    ids = []
    for n, raw in enumerate(_read_text(path, "ids file").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        first = line.split(",", 1)[0].strip().strip('"')
        if first.lower() in ("customer_id", "id", "customer"):
            continue
        if not _ID_TOKEN.match(first):
            raise ToolInputError(
                f"ids file {path} line {n}: not a customer id (expected one id a line, such as "
                "C00042, or a CSV whose first column is the id)"
            )
        ids.append(first)
    return ids


def _plan_offers(names: set[str], campaigns: pd.DataFrame, path: Path) -> dict[str, Offer | None]:
    """The offer of each name a plan uses, its discount settled as the planner settles it."""
    from tools.campaigns.models import OfferOption
    from tools.campaigns.optimize import NO_OFFER_NAMES, resolve_offers

    out: dict[str, Offer | None] = {}
    for name in sorted(names):
        if name.strip().lower() in NO_OFFER_NAMES:
            out[name] = None
            continue
        try:
            [resolved] = resolve_offers([OfferOption(name=name)], campaigns)
        except ToolInputError as exc:
            raise ToolInputError(
                f"plan {path}: offer {name!r}: {exc}; or set the offer with --offer-name, "
                "--discount and --code"
            ) from None
        out[name] = Offer(name=name[:60], discount_pct=resolved.discount_pct)
    return out


def read_plan_file(
    path: Path, campaigns: pd.DataFrame | None = None, *, with_offers: bool = True
) -> list[ItemSpec]:
    """The customers of a saved campaign plan, each with its channel and offer.

    A plan file is the JSON of a ``CampaignPlan`` (``optimize_campaign``'s result, e.g.
    ``python -m agent tool optimize_campaign ... > plan.json``): its ``selected`` list holds
    one ``{customer_id, channel, offer, ...}`` per contact. Offer names get their discount as
    the planner settled it (``"15% off"`` is 15%; other names from past campaigns).

    Raises:
        ToolInputError: the file is missing, not JSON, or not shaped like a plan.
    """
    text = _read_text(path, "plan")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolInputError(
            f"plan {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("selected"), list):
        raise ToolInputError(
            f"plan {path}: not a saved campaign plan; expected the JSON of optimize_campaign's "
            'result, with "selected": [{"customer_id": ..., "channel": ..., "offer": ...}]'
        )
    rows: list[tuple[str, Channel, str]] = []
    for n, row in enumerate(data["selected"]):
        where = f"plan {path}: selected[{n}]"
        if not isinstance(row, dict):
            raise ToolInputError(f"{where}: expected an object, got {type(row).__name__}")
        cid, channel, offer = row.get("customer_id"), row.get("channel"), row.get("offer", "")
        if not isinstance(cid, str) or not cid.strip():
            raise ToolInputError(f"{where}: customer_id must be a customer id such as C00042")
        if channel not in CHANNELS:
            raise ToolInputError(
                f"{where}: channel {channel!r} is not one of {', '.join(CHANNELS)}"
            )
        if not isinstance(offer, str):
            raise ToolInputError(f"{where}: offer must be an offer name such as '15% off'")
        rows.append((cid.strip(), channel, offer))
    offers: dict[str, Offer | None] = {}
    if with_offers and campaigns is not None:
        offers = _plan_offers({o for _, _, o in rows}, campaigns, Path(path))
    return [ItemSpec(customer_id=c, channel=ch, offer=offers.get(o)) for c, ch, o in rows]


def audience_of(deps: ToolDeps, options: BatchOptions) -> tuple[list[ItemSpec], str, str]:
    """The audience in order, a digest of its source and a description of it."""
    if options.segment_filter is not None:
        f = options.segment_filter
        ids = deps.profiles.filter_ids(f, deps.config.allow_protected_targeting)
        assert options.channel is not None
        specs = [ItemSpec(customer_id=i, channel=options.channel) for i in ids]
        data = f.model_dump(mode="json", exclude={"limit"}, exclude_none=True)
        described = ", ".join(f"{k}={v}" for k, v in data.items()) or "all customers"
        return specs, json.dumps({"filter": data}, sort_keys=True), f"segment {described}"
    path = options.plan_path or options.ids_path
    assert path is not None
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else ""
    if options.plan_path is not None:
        specs = read_plan_file(
            options.plan_path, deps.shop.campaigns, with_offers=options.offer is None
        )
        if options.channel is not None:
            specs = [s for s in specs if s.channel == options.channel]
        return specs, json.dumps({"plan_sha256": digest}), f"plan {Path(path).name}"
    assert options.channel is not None
    ids = read_ids_file(Path(path))
    specs = [ItemSpec(customer_id=i, channel=options.channel) for i in ids]
    return specs, json.dumps({"ids_sha256": digest}), f"ids {Path(path).name}"


def check_products(deps: ToolDeps, product_ids: Sequence[str]) -> None:
    """Refuse product ids that are not in the catalog (with close matches) or out of stock."""
    rows = catalog_rows(deps.shop.products)
    for pid in product_ids:
        row = rows.get(pid)
        if row is None:
            import difflib

            close = difflib.get_close_matches(pid, list(rows), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ToolInputError(f"products: {pid!r} is not in the catalog{hint}")
        if int(str(row["stock"])) <= 0:
            raise ToolInputError(f"products: {pid} ({row['title']}) is out of stock")


def recommended_products(deps: ToolDeps, customer_id: str, channel: Channel) -> list[str]:
    """The in-stock products among the customer's top recommendations for the channel."""
    from tools.recommend.recommender import recommend_products

    rows = catalog_rows(deps.shop.products)
    items = recommend_products(deps, customer_id, k=RECOMMEND_K[channel]).items
    return [i.product_id for i in items if int(str(rows[i.product_id]["stock"])) > 0]


def classify(
    deps: ToolDeps, specs: list[ItemSpec], rules: tuple[FrequencyRule, ...]
) -> tuple[list[tuple[ItemSpec, str | None]], list[str], dict[str, int]]:
    """Each spec with its skip reason (``None``: eligible) and the unknown ids.

    Also returns, per frequency rule, how many customers it skipped.
    """
    table = deps.profiles.table
    known = table.index
    history = ContactHistory.from_shop(deps.shop, deps.profiles.as_of)
    blocking = {
        ch: history.blocking_rule(known, ch, rules) for ch in {s.channel for s in specs}
    }
    seen: set[str] = set()
    out: list[tuple[ItemSpec, str | None]] = []
    unknown: list[str] = []
    by_rule: dict[str, int] = {}
    for spec in specs:
        cid = spec.customer_id
        if cid not in known and cid.upper() in known:
            spec = spec.model_copy(update={"customer_id": cid.upper()})
            cid = spec.customer_id
        if cid not in known:
            out.append((spec, "unknown_id"))
            unknown.append(cid)
            continue
        if cid in seen:
            out.append((spec, "duplicate"))
            continue
        seen.add(cid)
        if not bool(table.at[cid, f"consent_{spec.channel}"]):
            out.append((spec, "no_consent"))
            continue
        rule = blocking[spec.channel].get(cid)
        if isinstance(rule, str):
            out.append((spec, "frequency_cap"))
            by_rule[str(rule)] = by_rule.get(str(rule), 0) + 1
            continue
        out.append((spec, None))
    return out, unknown, dict(sorted(by_rule.items()))
