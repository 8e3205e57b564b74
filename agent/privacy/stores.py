"""Erasing a customer from the data directory and the caches.

- **data files**: ``data_erasure`` gives the customers, events and exposures tables without
  the customer (written, validated, by ``tools.shop.store.write_shop_change``); other
  Parquet tables of the data directory with a ``customer_id`` column lose their rows, and
  other text files there are scrubbed like state files (``agent.privacy.scrub``).
- **caches and indexes** under ``settings.cache_dir``: every profile cache holding the
  customer and everything named after the old data version is deleted (rebuilt on next
  use); any other cache file mentioning the id is deleted too.

Every change is staged in the erasure's transaction (``tools.shop.journal``); with no
transaction (a dry run) nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from agent.privacy.models import ErasureStep, Place
from agent.privacy.scan import TEXT_SUFFIXES, file_mentions, walk
from agent.privacy.scrub import erase_in_file
from agent.privacy.subject import Subject
from agent.settings import Settings
from tools.shop.journal import ShopTransaction
from tools.shop.store import TABLES, ShopData

#: Tables of the shop keyed by customer (rewritten without the customer).
CUSTOMER_TABLES: tuple[str, ...] = ("customers", "events", "exposures")


def data_erasure(
    settings: Settings, shop: ShopData, subject: Subject
) -> tuple[dict[str, pd.DataFrame], list[ErasureStep]]:
    """The customer-keyed shop tables without the subject's rows, and the steps to report."""
    tables: dict[str, pd.DataFrame] = {}
    steps = []
    for name in CUSTOMER_TABLES:
        frame = shop.table(name)
        keep = frame["customer_id"].astype(str) != subject.customer_id
        removed = int((~keep).sum())
        if not removed:
            continue
        tables[name] = frame[keep].reset_index(drop=True)
        steps.append(
            ErasureStep(
                place="data files",
                path=str(settings.data_dir / f"{name}.parquet"),
                removed=removed,
                unit="rows",
                action="rewritten without the customer's rows",
            )
        )
    return tables, steps


def erase_in_other_tables(
    settings: Settings, subject: Subject, tx: ShopTransaction | None
) -> list[ErasureStep]:
    """Remove the subject from the data directory's files other than the shop tables."""
    steps = []
    data_dir = settings.data_dir
    for path in walk(data_dir):
        rel = path.relative_to(data_dir)
        if len(rel.parts) == 1 and path.stem in TABLES:
            continue
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            try:
                table = pq.read_table(path)
            except (pa.ArrowException, OSError):
                continue
            if "customer_id" not in table.column_names:
                continue
            frame = table.to_pandas()
            keep = frame["customer_id"].astype(str) != subject.customer_id
            removed = int((~keep).sum())
            if not removed:
                continue
            if tx is not None:
                _stage_parquet(tx, path, frame[keep].reset_index(drop=True))
            steps.append(
                ErasureStep(
                    place="data files",
                    path=str(path),
                    removed=removed,
                    unit="rows",
                    action="rewritten without the customer's rows",
                )
            )
        elif suffix in TEXT_SUFFIXES:
            step = erase_in_file(path, "data files", subject, tx)
            if step is not None:
                steps.append(step)
    return steps


def _stage_parquet(tx: ShopTransaction, path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)

    def write(tmp: Path) -> None:
        pq.write_table(table, tmp, compression="zstd")

    tx.stage(path, write)


def erase_in_cache(
    settings: Settings, old_version: str | None, subject: Subject, tx: ShopTransaction | None
) -> list[ErasureStep]:
    """Delete profile caches holding the customer and everything keyed by the old version."""
    cache = settings.cache_dir
    if not cache.is_dir():
        return []
    doomed: dict[Path, Place] = {}
    profiles = cache / "profiles"
    if profiles.is_dir():
        for folder in sorted(p for p in profiles.iterdir() if p.is_dir()):
            if (old_version and folder.name.startswith(old_version)) or any(
                file_mentions(f, subject) for f in walk(folder)
            ):
                doomed[folder] = "profile cache"
    if old_version:
        for path in sorted(cache.rglob(f"*{old_version}*")):
            if not any(path.is_relative_to(d) for d in doomed):
                doomed[path] = "profile cache" if path.is_relative_to(profiles) else "indexes"
    for path in walk(cache):
        if any(path.is_relative_to(d) for d in doomed):
            continue
        if file_mentions(path, subject):
            doomed[path] = "profile cache" if path.is_relative_to(profiles) else "indexes"
    steps = []
    for path, place in doomed.items():
        files = sum(1 for _ in walk(path)) if path.is_dir() else 1
        if tx is not None:
            tx.remove(path)
        steps.append(
            ErasureStep(
                place=place,
                path=str(path),
                removed=files,
                unit="files",
                action="deleted (a cache of the old data version; rebuilt on next use)",
            )
        )
    return steps
