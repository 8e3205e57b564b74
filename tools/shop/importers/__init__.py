"""Importers that turn real retail data into the shop's data model (see ``tools.shop.store``).

Two layouts are understood:

- Dunnhumby / 84.51 "The Complete Journey" (``import_complete_journey``): households become
  customers without any personal data, product text is built from every catalog field,
  transaction lines become purchase events, campaigns and their targeted households become
  exposures (all treatment: the data has no control group) and coupon redemptions become
  conversions.
- Any transactions CSV with one row per order line (``import_transactions_csv``), through a
  column mapping such as the UCI Online Retail layout.

Neither drops a row silently: every excluded row is counted by reason, and the counts are
returned in an ``ImportSummary`` and stored in the shop's ``shop.json`` under ``"import"``.
No consent is ever invented: every channel is "not consented" unless the caller passes
``assume_consent`` (documented in the shop's notes as an assumption the user made).

The code is split by layout: ``common`` (summary, result, shared helpers, saving),
``complete_journey`` and ``cj_tables`` (the Complete Journey files and the tables built from
them) and ``transactions`` (any transactions CSV). Import from ``tools.shop.importers``.
"""

from __future__ import annotations

from tools.shop.importers.common import (
    DEFAULT_STOCK,
    ImportResult,
    ImportSummary,
    check_import_destination,
    save_imported_shop,
)
from tools.shop.importers.complete_journey import import_complete_journey
from tools.shop.importers.transactions import (
    EPOCH,
    ISO,
    OPTIONAL_KEYS,
    REQUIRED_KEYS,
    check_mapping_columns,
    date_order,
    import_transactions_csv,
    parse_mapping,
    parse_timestamps,
    read_header,
)

__all__ = [
    "DEFAULT_STOCK",
    "EPOCH",
    "ISO",
    "OPTIONAL_KEYS",
    "REQUIRED_KEYS",
    "ImportResult",
    "ImportSummary",
    "check_import_destination",
    "check_mapping_columns",
    "date_order",
    "import_complete_journey",
    "import_transactions_csv",
    "parse_mapping",
    "parse_timestamps",
    "read_header",
    "save_imported_shop",
]
