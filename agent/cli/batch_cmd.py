"""``batch``: draft a message for every customer of an audience (resumable, consent-aware).

The audience is a segment filter (``--segment``, ``--category``, ``--language``, ... or
``--filter JSON``), a saved campaign plan (``--plan FILE``) or a file of customer ids
(``--ids FILE``). Customers without consent for the channel or contacted within the
frequency cap are skipped before anything is drafted. Every draft is committed to a
checkpoint; a run that was interrupted continues with ``--resume``.

Exit codes: 0 when every eligible customer has a draft, 1 when some items failed (they are
listed and retried by ``--resume``), 2 for bad options or files (an ids file that is not a
list of ids, ``--out`` naming a folder or a folder that cannot be written, ...).

Paths are the operator's own (``agent.cli.common.PathArg``); the job itself runs with
``origin="operator"``.

Testing option (hidden from ``--help``): ``--delay-ms MS`` sleeps MS milliseconds before
each draft, to simulate a slow model so that tests can interrupt a run mid-way.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import ValidationError

from agent.cli.common import PathArg, fail, load_settings, print_json, run_guarded
from tools.shop.schemas import CHANNELS, SEGMENTS


def register(groups: dict[str, Any]) -> None:
    """Add ``batch`` to the root group."""
    p = groups["root"].add_parser(
        "batch",
        help="draft messages for a whole audience (resumable, consent-aware)",
        description=(
            "Draft one message per customer of an audience: a segment filter, a saved\n"
            "campaign plan or a file of customer ids. Customers without consent for the\n"
            "channel, or contacted within the frequency cap, are skipped before drafting and\n"
            "counted by reason. Drafts are checkpointed; --resume continues an interrupted\n"
            "job. Output: JSONL (and CSV with --csv). Exit code 1 when some items failed\n"
            "(retried by --resume), 2 for bad options or files."
        ),
        epilog=(
            "examples:\n"
            "  python -m agent batch --segment at_risk --category outdoor_gear --channel sms "
            "--out drafts.jsonl\n"
            "  python -m agent batch --ids ids.txt --channel email --goal promotion "
            "--offer-name 'Spring sale' --discount 15 --code SPRING15 --out spring.jsonl\n"
            "  python -m agent batch --plan plan.json --recommend --out plan_drafts.jsonl "
            "--resume"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    who = p.add_argument_group("audience (exactly one source)")
    who.add_argument(
        "--segment",
        action="append",
        metavar="NAME",
        help=f"RFM segment (repeat or comma-separate): {', '.join(SEGMENTS)}",
    )
    who.add_argument(
        "--category",
        action="append",
        metavar="NAME",
        help="category affinity (repeat or comma-separate), e.g. outdoor_gear",
    )
    who.add_argument("--language", choices=("en", "zh"), help="customers writing this language")
    who.add_argument("--city", help="customers in this city")
    who.add_argument("--min-churn-risk", type=float, metavar="P",
                     help="churn risk at least P (0-1)")
    who.add_argument("--max-churn-risk", type=float, metavar="P",
                     help="churn risk at most P (0-1)")
    who.add_argument("--min-days-since-purchase", type=int, metavar="DAYS",
                     help="last order at least DAYS ago")
    who.add_argument("--max-days-since-purchase", type=int, metavar="DAYS",
                     help="last order at most DAYS ago")
    who.add_argument("--min-spend", type=float, metavar="AMOUNT",
                     help="lifetime spend at least AMOUNT")
    who.add_argument("--max-spend", type=float, metavar="AMOUNT",
                     help="lifetime spend at most AMOUNT")
    who.add_argument("--filter", metavar="JSON",
                     help='a full segment filter as JSON, e.g. \'{"segments": ["lost"]}\'')
    who.add_argument("--plan", type=PathArg("read", "file", "--plan"), metavar="FILE",
                     help="a saved campaign plan (optimize_campaign's JSON); each contact keeps "
                     "its channel and offer")
    who.add_argument("--ids", type=PathArg("read", "file", "--ids"), metavar="FILE",
                     help="customer ids, one a line (or a CSV whose first column is the id)")
    who.add_argument("--limit", type=int, metavar="N",
                     help="only the first N customers of the audience")

    what = p.add_argument_group("message")
    what.add_argument(
        "--channel", choices=CHANNELS, help="email, sms or push (required unless --plan)"
    )
    what.add_argument(
        "--goal",
        default="re-engage",
        help="re-engage (default), win-back, promotion, recommendations, thank-you or welcome",
    )
    what.add_argument("--products", metavar="P1,P2", help="product ids to feature, best first")
    what.add_argument(
        "--recommend", action="store_true", help="feature each customer's top recommended products"
    )
    what.add_argument("--offer-name", metavar="NAME", help="offer name shown in the copy")
    what.add_argument("--discount", type=float, metavar="PCT", help="offer discount in percent")
    what.add_argument("--code", metavar="CODE", help="offer code, e.g. SPRING15")
    what.add_argument("--frequency-rules", metavar="CH=N/D,...",
                      help="per-channel limits replacing the settings', e.g. sms=1/30,email=off "
                           "(at most 1 SMS in 30 days; no e-mail limit)")
    what.add_argument("--frequency-cap-days", type=int, metavar="DAYS",
                      help="instead of the frequency rules: skip anyone contacted on any channel "
                           "within DAYS (0: no limit at all)")

    how = p.add_argument_group("output and execution")
    how.add_argument("--out", type=PathArg("write", "file", "--out"), metavar="FILE",
                     help="JSONL output (default: the state dir, named by job id)")
    how.add_argument("--csv", type=PathArg("write", "file", "--csv"), metavar="FILE",
                     help="also write the drafts as CSV")
    how.add_argument("--concurrency", type=int, default=4, metavar="N",
                     help="model requests in flight (per Ray worker with --backend ray; 4)")
    how.add_argument("--backend", choices=("local", "ray"), default="local",
                     help="local (in-process, default) or ray (workers)")
    how.add_argument("--ray-address", metavar="ADDRESS",
                     help="join this Ray cluster (default: a private local instance)")
    how.add_argument("--resume", action="store_true",
                     help="continue the interrupted job writing --out (same options)")
    how.add_argument("--data", type=PathArg("read", "dir", "--data"), metavar="DIR",
                     help="shop data directory")
    how.add_argument("--json", action="store_true",
                     help="no progress bar; print the summary as one JSON object (last line)")
    how.add_argument("--delay-ms", type=int, default=0, help=argparse.SUPPRESS)
    p.set_defaults(func=run_guarded(cmd_batch))


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return out or None


def _segment_filter(args: argparse.Namespace) -> dict[str, Any] | None:
    base: dict[str, Any] = {}
    if args.filter:
        try:
            loaded = json.loads(args.filter)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--filter: not valid JSON ({exc.msg})") from None
        if not isinstance(loaded, dict):
            raise ValueError("--filter: expected a JSON object of segment filter fields")
        base.update(loaded)
    flags = {
        "segments": _split(args.segment),
        "categories": _split(args.category),
        "language": args.language,
        "city": args.city,
        "min_churn_risk": args.min_churn_risk,
        "max_churn_risk": args.max_churn_risk,
        "min_days_since_purchase": args.min_days_since_purchase,
        "max_days_since_purchase": args.max_days_since_purchase,
        "min_spend": args.min_spend,
        "max_spend": args.max_spend,
    }
    base.update({k: v for k, v in flags.items() if v is not None})
    return base if base or args.filter else None


def _options(args: argparse.Namespace) -> Any:
    from agent.batch.runner import BatchOptions

    offer = None
    if args.offer_name or args.discount or args.code:
        offer = {
            "name": args.offer_name or "Offer",
            "discount_pct": args.discount or 0,
            "code": args.code,
        }
    return BatchOptions.model_validate(
        {
            "segment_filter": _segment_filter(args),
            "plan_path": args.plan,
            "ids_path": args.ids,
            "channel": args.channel,
            "goal": args.goal,
            "product_ids": _split([args.products]) if args.products else [],
            "recommend": args.recommend,
            "offer": offer,
            "out": args.out,
            "csv": args.csv,
            "concurrency": args.concurrency,
            "backend": args.backend,
            "ray_address": args.ray_address,
            "resume": args.resume,
            "frequency_rules": _rules(args.frequency_rules),
            "frequency_cap_days": args.frequency_cap_days,
            "limit": args.limit,
            "delay_ms": args.delay_ms,
            "progress": not args.json and sys.stderr.isatty(),
        }
    )


def _rules(text: str | None) -> dict[str, str] | None:
    """``sms=1/30,email=off`` as a mapping (None when not given)."""
    if text is None:
        return None
    out: dict[str, str] = {}
    for part in _split([text]) or []:
        channel, sep, rule = part.partition("=")
        if not sep or not channel.strip():
            raise ValueError(f"--frequency-rules: {part!r} is not CHANNEL=N/D (e.g. sms=1/30)")
        out[channel.strip()] = rule.strip()
    return out


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def cmd_batch(args: argparse.Namespace) -> int:
    """Run a batch job and print its summary."""
    from agent.batch.runner import run_batch

    try:
        options = _options(args)
    except ValidationError as exc:
        return fail(_validation_message(exc))
    except ValueError as exc:
        return fail(str(exc))
    settings = load_settings(args)
    try:
        summary = run_batch(settings, options, origin="operator")
    except ValidationError as exc:
        return fail(_validation_message(exc))
    if args.json:
        print_json(summary)
    else:
        sys.stdout.write("\n".join(summary.human_lines()) + "\n")
    return 1 if summary.failed else 0
