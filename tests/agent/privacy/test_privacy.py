"""Rights of the data subject: ``data export`` and ``data forget`` on a copy of the demo shop.

A copy of the demo shop gets real state first (agent runs with sessions and traces, a batch
job with its SQLite checkpoint and JSONL output, an approved-draft export, a profile cache);
the customer is exported, then erased, and every file under the data copy and the state
directory is searched for their id, e-mail, phone and full name.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from agent.__main__ import main
from agent.privacy.rights import ERASED, Subject, export_customer, forget_customer, scrub_record
from agent.settings import Settings
from tests.conftest import DEMO_DIR
from tools.customers.profiles import find_customers
from tools.errors import ToolInputError
from tools.shop.schemas import SegmentFilter
from tools.shop.store import load_shop

SEGMENT_WORDS = {"at_risk": "at-risk", "loyal": "loyal", "champions": "champion"}


def _copy_shop(target: Path) -> Path:
    shutil.copytree(DEMO_DIR, target)
    return target


def _chain_with_unique_top(deps: Any) -> tuple[str, dict[str, Any], list[str]]:
    """A chain request whose first target has a unique name and phone (so a grep proves erasure).

    Demo names and phones repeat (about 60% and 45% of customers share theirs with someone),
    and a shared value would still be found in the other customer's row after the erasure.
    """
    c = deps.shop.customers
    counts = (c["first_name"] + " " + c["last_name"]).value_counts()
    phones = c["phone"].value_counts()
    emails = c["email"].value_counts()
    store = deps.profiles
    for segment, word in SEGMENT_WORDS.items():
        for category in store.categories:
            found = find_customers(
                deps,
                SegmentFilter(segments=[segment], categories=[category], consent_channel="email"),
            )
            top = found.customer_ids[:3]
            if len(top) < 3:
                continue
            row = c[c["customer_id"] == top[0]].iloc[0]
            unique = counts[row["first_name"] + " " + row["last_name"]] == 1
            if unique and phones[row["phone"]] == 1 and emails[row["email"]] == 1:
                label = store.category_label(category)
                request = (
                    f"Find {word} customers who like {label}, recommend them products and "
                    "draft an email for the top 3"
                )
                return request, {str(k): v for k, v in row.to_dict().items()}, top[1:]
    raise AssertionError("no segment whose top customer has a unique full name")


def _needles(row: dict[str, Any]) -> dict[str, re.Pattern[str]]:
    """What must not be found anywhere after erasure."""
    first, last = str(row["first_name"]), str(row["last_name"])
    out = {
        "id": re.compile(rf"(?<![A-Za-z0-9]){re.escape(row['customer_id'])}(?![0-9])"),
        "email": re.compile(re.escape(str(row["email"])), re.I),
        "phone": re.compile(re.escape(str(row["phone"]))),
        "full name": re.compile(re.escape(f"{first} {last}")),
        "name, family first": re.compile(
            re.escape(f"{last}{first}") + "|" + re.escape(f"{last} {first}")
        ),
    }
    if str(row["address"]):
        out["address"] = re.compile(re.escape(str(row["address"])), re.I)
    return out


def _texts_of(path: Path) -> Iterator[str]:
    """Every readable text of a file: Parquet cells, SQLite rows, else the decoded bytes."""
    if path.suffix == ".parquet":
        frame = pq.read_table(path).to_pandas()
        for col in frame.columns:
            yield "\n".join(str(v) for v in frame[col].tolist())
        return
    if path.suffix in (".sqlite", ".sqlite3", ".db"):
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            yield "\n".join(db.iterdump())
    yield path.read_bytes().decode("utf-8", errors="replace")


def _grep(roots: list[Path], needles: dict[str, re.Pattern[str]]) -> list[str]:
    hits = []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            for text in _texts_of(path):
                for name, pattern in needles.items():
                    if pattern.search(text):
                        hits.append(f"{path.relative_to(root.parent)}: {name}")
    return sorted(set(hits))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A demo-shop copy with real state about a chosen customer (and others)."""
    from agent.batch.runner import BatchOptions, run_batch
    from agent.loop.runner import AgentRunner
    from agent.ui.views import DraftItem, write_exports
    from tools.deps import ToolDeps

    root = tmp_path_factory.mktemp("privacy")
    shop_dir = _copy_shop(root / "shop")
    settings = Settings(data_dir=shop_dir, state_dir=root / "state")
    deps = ToolDeps(settings.tool_config())
    chain, target, others = _chain_with_unique_top(deps)
    cid = target["customer_id"]

    runner = AgentRunner(settings, deps=deps)
    runs = [
        runner.run(f"Tell me about {cid}", session="profile-session"),
        runner.run(f"Recommend products for {cid}", session="explain-session"),
        runner.run("Why these products?", session="explain-session"),
        runner.run(f"Draft an email for {cid}", session="draft-session"),
        runner.run(chain, session="chain-session"),
        runner.run(f"Tell me about {others[0]}", session="other-session"),
    ]
    drafts = [d for r in runs for d in r.drafts]
    assert [c.name for c in runs[4].tool_calls][0] == "find_customers"
    assert {cid, *others} <= {d.customer_id for d in runs[4].drafts}
    write_exports(
        [DraftItem(key=d.draft_id, draft=d, status="approved") for d in drafts],
        settings.state_dir / "exports",
        "approved-drafts",
    )
    ids_file = settings.state_dir / "ids.txt"
    ids_file.write_text("\n".join([cid, *others]) + "\n", encoding="utf-8")
    summary = run_batch(
        settings,
        BatchOptions(ids_path=ids_file, channel="email", frequency_cap_days=0),
        deps=deps,
    )
    assert summary.drafted >= 1
    return {
        "settings": settings,
        "shop_dir": shop_dir,
        "target": target,
        "cid": cid,
        "others": others,
        "batch_out": Path(summary.out),
        "checkpoint": Path(summary.checkpoint),
    }


def test_export_holds_everything_on_the_customer(world: dict[str, Any]) -> None:
    settings, cid, target = world["settings"], world["cid"], world["target"]
    export = export_customer(settings, cid)
    shop = load_shop(world["shop_dir"])
    assert export.customer is not None
    assert export.customer["email"] == target["email"]
    assert export.customer["last_name"] == target["last_name"]
    assert export.customer["consent_email"] is True
    assert len(export.events) == int((shop.events["customer_id"] == cid).sum()) > 0
    assert len(export.exposures) == int((shop.exposures["customer_id"] == cid).sum())
    assert export.profile and export.profile["customer_id"] == cid
    assert "truth/customers.parquet" in export.other_tables
    # Every run that named the customer is in the export, and no other run.
    runs = {r.run_id for r in export.traces}
    for path in settings.trace_dir.glob("*.jsonl"):
        assert (path.stem in runs) == (cid in path.read_text(encoding="utf-8"))
    assert {s.path.rsplit("#", 1)[1] for s in export.sessions} == {
        "profile-session", "explain-session", "draft-session", "chain-session"
    }
    places = {f.place for f in export.files}
    assert {"batch checkpoints", "batch outputs", "exports", "state files"} <= places
    batch_lines = [f for f in export.files if f.place == "batch outputs"][0].records
    assert [line["customer_id"] for line in batch_lines] == [cid]
    # Nothing about other customers is handed out (the chain run listed three of them).
    text = export.model_dump_json()
    assert not re.findall(rf"C(?!{cid[1:]})\d{{5}}", text)
    assert "[another customer]" in text


def test_export_cli_writes_json_where_the_operator_says(
    world: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings, cid = world["settings"], world["cid"]
    monkeypatch.setenv("AGENT_STATE_DIR", str(settings.state_dir))
    monkeypatch.chdir(settings.state_dir)
    # Outside every allowed directory: the operator's own path at the CLI is theirs to choose.
    out = tmp_path / "elsewhere" / "export.json"
    assert main(["data", "export", cid, "--data", str(world["shop_dir"]), "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["customer"]["phone"] == world["target"]["phone"]
    assert "events" in capsys.readouterr().out
    out.unlink()  # the export itself is personal data: not part of the state checked below
    # A folder where a file is written: one line, exit code 2.
    code = main(["data", "export", cid, "--data", str(world["shop_dir"]), "--out", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: --out {tmp_path} is a directory; name a file to write\n"
    )


def test_forget_needs_confirmation(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, cid = world["settings"], world["cid"]
    monkeypatch.setenv("AGENT_STATE_DIR", str(settings.state_dir))
    monkeypatch.chdir(settings.state_dir)
    before = (world["shop_dir"] / "customers.parquet").read_bytes()
    code = main(["data", "forget", cid, "--data", str(world["shop_dir"])])
    captured = capsys.readouterr()
    assert code == 2 and "--yes" in captured.err
    assert "would remove" in captured.out and "traces" in captured.out
    assert (world["shop_dir"] / "customers.parquet").read_bytes() == before


def test_unknown_customer_is_refused_with_suggestions(world: dict[str, Any]) -> None:
    with pytest.raises(ToolInputError, match="nothing is held on them; did you mean C00042"):
        forget_customer(world["settings"], "C42")
    with pytest.raises(ToolInputError, match="not a customer id"):
        export_customer(world["settings"], "bob@example.com")


def test_forget_leaves_nothing_of_the_customer(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, cid, target = world["settings"], world["cid"], world["target"]
    roots = [world["shop_dir"], settings.state_dir]
    needles = _needles(target)
    assert len(_grep(roots, needles)) >= 8  # the customer really is all over the place first
    version_before = load_shop(world["shop_dir"]).version
    monkeypatch.setenv("AGENT_STATE_DIR", str(settings.state_dir))
    monkeypatch.chdir(settings.state_dir)

    code = main(["data", "forget", cid, "--yes", "--data", str(world["shop_dir"])])
    out = capsys.readouterr().out
    assert code == 0, out
    for place in (
        "data files",
        "profile cache",
        "traces",
        "sessions",
        "batch checkpoints",
        "batch outputs",
        "exports",
    ):
        assert place in out, place
    assert "nothing of the customer is left" in out

    assert _grep(roots, needles) == []
    shop = load_shop(world["shop_dir"])  # still a valid shop, one customer fewer
    assert len(shop.customers) == 4999 and cid not in set(shop.customers["customer_id"])
    assert shop.version != version_before
    assert not (settings.cache_dir / "profiles" / f"{version_before}-f1").exists()
    # Other customers are untouched: still in the data, traces, batch output and checkpoint.
    other = world["others"][0]
    assert other in set(shop.customers["customer_id"])
    assert any(other in p.read_text(encoding="utf-8") for p in settings.trace_dir.glob("*.jsonl"))
    from agent.loop.sessions import SessionStore

    assert SessionStore(settings.state_dir / "sessions").load("other-session")
    lines = [json.loads(x) for x in world["batch_out"].read_text().splitlines()]
    assert lines and cid not in {x["customer_id"] for x in lines}
    with closing(sqlite3.connect(world["checkpoint"])) as db:
        keys = {r[0] for r in db.execute("SELECT customer_id FROM items")}
    assert cid not in keys and set(world["others"]) & keys
    # Trace files still read back; the erased events keep their place in the run.
    from agent.loop.trace import list_runs

    assert all(r.events > 0 for r in list_runs(settings.trace_dir, limit=100))
    # Nothing is left to export, and the agent no longer knows the customer.
    with pytest.raises(ToolInputError, match="unknown customer_id"):
        export_customer(settings, cid)


def test_scrub_record_removes_records_and_mentions() -> None:
    subject = Subject.from_row(
        {
            "customer_id": "C00042",
            "first_name": "Anna",
            "last_name": "Green",
            "email": "anna.green@example.org",
            "phone": "+1 212 555-0100",
            "address": "",
            "notes": "",
        }
    )
    event = {
        "run_id": "r1",
        "data": {
            "text": "Drafts for C00042 (Anna) and C00043 (Anna-Lee)",
            "sample": [
                {"customer_id": "C00042", "segment": "loyal"},
                {"customer_id": "C00043", "segment": "lost"},
            ],
            "customer_ids": ["C00042", "C00043", "C000421"],
            "args": {"customer_id": "C00042"},
            "note": "write to anna.green@example.org",
        },
    }
    clean = scrub_record(event, subject)
    assert clean["data"]["sample"] == [{"customer_id": "C00043", "segment": "lost"}]
    assert clean["data"]["customer_ids"] == ["C00043", "C000421"]
    assert clean["data"]["args"] == ERASED
    assert clean["data"]["text"] == f"Drafts for {ERASED} ({ERASED}) and C00043 ({ERASED}-Lee)"
    assert clean["data"]["note"] == f"write to {ERASED}"


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    shop_dir = _copy_shop(tmp_path / "shop")
    settings = Settings(data_dir=shop_dir, state_dir=tmp_path / "state")
    before = {p.name: p.read_bytes() for p in shop_dir.glob("*.parquet")}
    report = forget_customer(settings, "C00007", dry_run=True)
    assert report.by_place()["data files"] > 1
    assert {p.name: p.read_bytes() for p in shop_dir.glob("*.parquet")} == before
    assert pd.read_parquet(shop_dir / "customers.parquet")["customer_id"].eq("C00007").any()
