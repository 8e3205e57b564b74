"""The one place a read-out writes the shop: every changed table, checked before any write.

``write_shop_tables`` validates each changed table against the data model and the whole
shop's references first, so a bad table stops the join before a byte is written; then it
writes the tables one by one (each atomically). Writing several files as one transaction is
the shop store's business: this function is the single call to switch when it exists.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tools.errors import DataValidationError
from tools.shop.store import TABLES, ShopData, check_references, save_table, validate_table


def write_shop_tables(data_dir: Path, tables: dict[str, pd.DataFrame], shop: ShopData) -> None:
    """Write the changed ``tables`` of ``shop`` to ``data_dir``, all checked first.

    Raises:
        DataValidationError: a table breaks the data model or a reference dangles (nothing
            is written then).
        ValueError: a name that is not one of the shop's tables.
    """
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ValueError(f"not shop tables: {', '.join(unknown)}")
    checked = {name: validate_table(name, frame) for name, frame in tables.items()}
    def table(name: str) -> pd.DataFrame:
        return checked.get(name, shop.table(name))

    problems = check_references(ShopData(
        customers=table("customers"), products=table("products"), events=table("events"),
        campaigns=table("campaigns"), exposures=table("exposures"), meta=shop.meta,
    ))
    if problems:
        raise DataValidationError("\n".join(problems))
    for name in TABLES:
        if name in checked:
            save_table(name, checked[name], Path(data_dir))
