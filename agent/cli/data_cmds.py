"""``data check`` and ``data import``: validate a shop, or import real data into the data model.

- ``python -m agent data check [DIR] [--json]`` loads and validates a shop and prints its
  counts (the configured data directory when DIR is omitted).
- ``python -m agent data import complete-journey PATH --out DIR`` imports the Dunnhumby
  "Complete Journey" layout.
- ``python -m agent data import transactions FILE --map KEY=COLUMN,... --out DIR`` imports
  any transactions CSV with one row per order line.

Paths typed here are the operator's own (``agent.cli.common.PathArg``): they may point
anywhere the operating system allows, except into the shared data sets (read only). The
mapping and the destination are checked before the input is parsed; the shop is written in
one transaction (``tools.shop.store.write_shop_change``), so a killed import leaves the
previous shop, never a mix. Exit codes: 0 done, 2 a mistake in the options, the files or the
data (one ``error:`` line naming what and where).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.cli.common import PathArg, load_settings, print_json, print_table, run_guarded
from tools.errors import ToolInputError
from tools.shop.schemas import CHANNELS, Channel

_CONSENT_HELP = (
    "channels on which every imported customer is ASSUMED to have consented, comma-separated "
    "(e.g. 'email' or 'email,sms'); the flag alone means email. The source records no consent, "
    "so by default nobody is contactable; use this only if you hold consent elsewhere (the "
    "assumption is written into the shop's notes)"
)

_MAP_HELP = (
    "column mapping KEY=COLUMN,...; required keys: customer_id, product_id, description, "
    "quantity, unit_price, timestamp; optional: invoice_id (invoices starting with C are "
    "cancellations), country, category. Example (UCI Online Retail): customer_id=CustomerID,"
    "product_id=StockCode,description=Description,quantity=Quantity,unit_price=UnitPrice,"
    "timestamp=InvoiceDate,invoice_id=InvoiceNo,country=Country"
)


def register(groups: dict[str, Any]) -> None:
    """Add ``data check``, ``data import complete-journey`` and ``data import transactions``."""
    check = groups["data"].add_parser(
        "check",
        help="validate a shop and print its counts",
        description="Load and validate a shop's data files and print how many rows each "
        "table holds (plus purchase lines, categories and languages). A malformed file "
        "gives one error naming the file, row, column and what was expected (exit code 2).",
    )
    check.add_argument(
        "dir", nargs="?", type=PathArg("read", "dir", "shop directory"),
        help="shop directory (default: AGENT_DATA_DIR, the demo)",
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(func=run_guarded(cmd_check))

    cj = groups["data import"].add_parser(
        "complete-journey",
        help="import the Dunnhumby 'Complete Journey' data",
        description="Import a Dunnhumby / 84.51 'Complete Journey' folder (transactions, "
        "products, demographics, campaigns, coupons, redemptions). Households become "
        "customers WITHOUT personal data; transactions become purchase lines (non-positive "
        "quantities or sales are counted and excluded); campaigns become exposures, all in "
        "the treatment group (the data has no control group); a coupon redemption is a "
        "conversion. Nobody is marked as consenting unless --assume-consent is given.",
    )
    cj.add_argument("path", type=PathArg("read", "dir", "import source"),
                    help="the Complete Journey folder")
    cj.add_argument("--out", type=PathArg("write", "dir", "--out"), required=True,
                    help="directory to write the shop to")
    cj.add_argument(
        "--catalog",
        choices=("sold", "all"),
        default="sold",
        help="'sold': products that appear in the transactions (default); 'all': the whole "
        "catalog (products never sold get price 0 and the tag price-unknown)",
    )
    cj.add_argument(
        "--channel",
        choices=CHANNELS,
        default="email",
        help="channel recorded for the campaigns (not in the data; default: email)",
    )
    _add_common_import_options(cj)
    cj.set_defaults(func=run_guarded(cmd_import_complete_journey))

    tx = groups["data import"].add_parser(
        "transactions",
        help="import a transactions CSV through a column mapping",
        description="Import a CSV with one row per order line. Timestamps may be ISO 8601, "
        "12/1/2010 8:45, 13/1/2010 8:45, 1.12.2010 8:45 or epoch seconds; naive times are "
        "taken as UTC. Whether 1/2/2010 is day or month first is decided once per file from "
        "the dates only one order can read (13/1 is day first, 1/13 month first; the "
        "evidence is printed in the notes); a file holding both kinds is refused. "
        "Cancellations, non-positive quantities, negative prices and rows without a "
        "customer are counted and excluded; inf, nan and numbers above 1e12 are refused. "
        "Numeric source ids are kept (customer 17850 becomes C17850); other ids are "
        "numbered in sorted order. A key or a column used twice in --map is refused.",
    )
    tx.add_argument("file", type=PathArg("read", "file", "import source"),
                    help="the CSV file (UTF-8 or Latin-1)")
    tx.add_argument("--map", dest="mapping", required=True, metavar="KEY=COL,...", help=_MAP_HELP)
    tx.add_argument("--out", type=PathArg("write", "dir", "--out"), required=True,
                    help="directory to write the shop to")
    tx.add_argument("--currency", default="USD", help="currency of the prices (default: USD)")
    tx.add_argument(
        "--day-first", "--dayfirst",
        dest="day_first",
        action="store_true",
        help="read dates such as 1/2/2011 as 1 February when no date of the file decides "
        "(default: 2 January); refused when some dates can only be month first",
    )
    tx.add_argument(
        "--encoding", default="auto",
        help="the file's encoding: auto (default: UTF-8, or Latin-1 when no line is UTF-8; a "
        "file mixing both is refused with the lines named), or e.g. utf-8, latin-1, cp1252",
    )
    tx.add_argument("--shop-name", default="", help="a name for the shop")
    _add_common_import_options(tx)
    tx.set_defaults(func=run_guarded(cmd_import_transactions))


def _add_common_import_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--assume-consent",
        nargs="?",
        const="email",
        default="",
        metavar="CHANNELS",
        help=_CONSENT_HELP,
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a shop already in --out")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def parse_channels(text: str) -> list[Channel]:
    """``"email,sms"`` -> ``["email", "sms"]``; unknown channels are refused by name."""
    out: list[Channel] = []
    for word in filter(None, (w.strip().lower() for w in text.split(","))):
        match = next((c for c in CHANNELS if c == word), None)
        if match is None:
            raise ToolInputError(
                f"--assume-consent: unknown channel {word!r}; channels: {', '.join(CHANNELS)}"
            )
        if match not in out:
            out.append(match)
    return out


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a shop and print its counts."""
    from tools.shop.store import load_shop

    settings = load_settings(args)
    data_dir = Path(args.dir) if args.dir else settings.data_dir
    shop = load_shop(data_dir)
    if shop.recovered is not None:
        sys.stderr.write(f"note: {shop.recovered.describe()}\n")
    counts = shop.counts()
    languages = shop.customers["language"].value_counts().sort_index()
    counts["categories"] = int(shop.products["category"].nunique())
    counts["languages"] = len(languages)
    order = (
        "customers",
        "products",
        "events",
        "purchases",
        "campaigns",
        "exposures",
        "categories",
        "languages",
    )
    if args.json:
        print_json(
            {
                "data_dir": str(data_dir.resolve()),
                "version": shop.version,
                "valid": True,
                "recovered": shop.recovered.describe() if shop.recovered else None,
                **{k: counts[k] for k in order},
                "language_counts": {str(k): int(v) for k, v in languages.items()},
            }
        )
        return 0
    name = shop.meta.get("name") or data_dir.name
    sys.stdout.write(f"{name} at {data_dir.resolve()} (version {shop.version}): valid\n")
    details = {
        "events": "views, carts and purchases",
        "purchases": "purchase lines",
        "languages": ", ".join(f"{k} {v:,}" for k, v in languages.items()),
    }
    print_table(["table", "rows", "detail"], [(k, counts[k], details.get(k, "")) for k in order])
    return 0


def _report(summary: Any, out: Path, as_json: bool) -> int:
    """Print an import summary as a table (or one JSON object) and return 0."""
    if as_json:
        print_json({"out": str(out), **summary.model_dump(mode="json")})
        return 0
    sys.stdout.write(f"Imported {summary.source} ({summary.layout}) into {out}\n")
    rows: list[tuple[str, Any]] = [
        ("lines read", summary.rows_read),
        ("purchase lines imported", summary.rows_imported),
    ]
    rows += [(f"excluded: {k.replace('_', ' ')}", v) for k, v in summary.excluded.items()]
    rows += [(f"{k}", v) for k, v in summary.counts.items() if k != "purchases"]
    rows.append(("seconds", summary.seconds))
    print_table(["what", "count"], rows)
    sys.stdout.write("\nNotes:\n")
    for note in summary.notes:
        sys.stdout.write(f"- {note}\n")
    return 0


def cmd_import_complete_journey(args: argparse.Namespace) -> int:
    """Import the Complete Journey folder and write the shop."""
    from tools.shop.importers import (
        check_import_destination,
        import_complete_journey,
        save_imported_shop,
    )

    out = check_import_destination(args.out, overwrite=args.overwrite)
    assume = parse_channels(args.assume_consent)
    result = import_complete_journey(
        args.path, catalog=args.catalog, channel=args.channel, assume_consent=assume
    )
    save_imported_shop(result, out, overwrite=args.overwrite)
    return _report(result.summary, out, args.json)


def cmd_import_transactions(args: argparse.Namespace) -> int:
    """Import a transactions CSV through a column mapping and write the shop."""
    from tools.shop.importers import (
        check_import_destination,
        check_mapping_columns,
        import_transactions_csv,
        parse_mapping,
        read_header,
        save_imported_shop,
    )

    # Everything that can be refused without reading the rows is refused first.
    mapping = parse_mapping(args.mapping)
    out = check_import_destination(args.out, overwrite=args.overwrite)
    assume = parse_channels(args.assume_consent)
    check_mapping_columns(mapping, read_header(args.file), args.file)
    result = import_transactions_csv(
        args.file,
        mapping,
        currency=args.currency,
        day_first=args.day_first,
        encoding=args.encoding,
        assume_consent=assume,
        shop_name=args.shop_name,
    )
    save_imported_shop(result, out, overwrite=args.overwrite)
    return _report(result.summary, out, args.json)
