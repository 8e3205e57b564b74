"""Export and erasure through the API, on a copy of the demo shop.

Admin keys only; afterwards nothing of the customer is left in the state or the running server.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.api.app import create_app
from agent.settings import Settings
from tests.api_servers import (
    DEMO_DIR,
    Key,
    fresh_state,
    key_settings,
    make_keys,
    serve_in_thread,
    wait_ready,
)


@pytest.fixture(scope="module")
def server(warm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("api-rights")
    shop = root / "shop"
    shutil.copytree(DEMO_DIR, shop)
    keys = make_keys(admin=("read", "admin"), staff=("read", "draft", "plan"))
    state = fresh_state(root, warm)
    settings = Settings(data_dir=shop, state_dir=state, api_keys=key_settings(keys))
    with serve_in_thread(create_app(settings)) as base:
        wait_ready(base)
        yield {"base": base, "keys": keys, "settings": settings}


def client(server: dict[str, Any], key: str) -> httpx.Client:
    k: Key = server["keys"][key]
    return httpx.Client(base_url=server["base"], headers=k.headers, timeout=600)


def unique_customer(demo_deps: Any) -> dict[str, str]:
    """A customer whose e-mail and phone nobody else has (so a search proves erasure)."""
    c = demo_deps.shop.customers
    emails, phones = c["email"].value_counts(), c["phone"].value_counts()
    for row in c.iloc[::-1].itertuples(index=False):
        if emails[row.email] == 1 and phones[row.phone] == 1 and row.consent_sms:
            return {"id": row.customer_id, "email": row.email, "phone": row.phone}
    raise AssertionError("no customer with a unique e-mail and phone")


def mentions(folder: Path, *needles: str) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".parquet"):
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{path.name}: {n}" for n in needles if re.search(re.escape(n), text)]
    return found


def test_only_admin_exports_and_erases_and_the_server_forgets(
    server: dict[str, Any], demo_deps: Any
) -> None:
    who = unique_customer(demo_deps)
    cid = who["id"]
    with client(server, "staff") as staff, client(server, "admin") as admin:
        asked = admin.post("/v1/ask", json={"text": f"Tell me about {cid}", "session": "rights"})
        drafted = staff.post("/v1/tools/draft_message", json={"customer_id": cid, "channel": "sms"})
        assert asked.status_code == drafted.status_code == 200
        assert staff.get(f"/v1/customers/{cid}/export").status_code == 403
        assert staff.delete(f"/v1/customers/{cid}").status_code == 403

        export = admin.get(f"/v1/customers/{cid}/export")
        preview = admin.delete(f"/v1/customers/{cid}", params={"dry_run": "true"})
        still = staff.post("/v1/tools/lookup_customer", json={"customer_id": cid})
        erased = admin.delete(f"/v1/customers/{cid}")
        settings: Settings = server["settings"]
        left = mentions(settings.state_dir, cid, who["email"], who["phone"])
        # Asking about them again leaves a new trace naming the id, and finds no one.
        gone = staff.post("/v1/tools/lookup_customer", json={"customer_id": cid})
        again = admin.post("/v1/ask", json={"text": f"Tell me about {cid}"}).json()

    assert export.status_code == 200
    held = export.json()
    assert held["customer"]["email"] == who["email"]  # the one response with contact details
    assert held["traces"] and held["sessions"]
    assert preview.json()["dry_run"] is True and still.status_code == 200
    report = erased.json()
    assert erased.status_code == 200 and report["dry_run"] is False
    assert report["leftovers"] == []
    places = {step["place"] for step in report["steps"]}
    assert {"data files", "traces", "sessions"} <= places
    assert gone.status_code == 422 and "unknown customer_id" in gone.json()["detail"]
    assert not [c for c in again["tool_calls"] if c["ok"]]
    assert left == []
    access = "\n".join(p.read_text("utf-8") for p in settings.trace_dir.glob("api-access-*"))
    assert "DELETE /v1/customers/[erased] -> 200 (api:admin)" in access
