"""Batch drafting: consent and caps first, kill -9 and resume, Ray equals local, bad input.

Every output file any test produces is checked line by line against the demo shop's
customers table: no line belongs to a customer without consent for the line's channel.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agent.__main__ import main
from agent.batch.runner import BatchOptions, checkpoint_path, iter_drafts, run_batch
from tests.conftest import ROOT
from tests.fakes import FakeOpenAI, openai_settings
from tools.errors import ToolInputError
from tools.shop.schemas import SegmentFilter

DEMO_DIR = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def shop(demo_deps: Any) -> Any:
    demo_deps.profiles  # noqa: B018 - builds the profile cache the subprocesses reuse
    return demo_deps.shop


def consent_of(shop: Any) -> dict[tuple[str, str], bool]:
    customers = shop.customers
    return {
        (cid, ch): bool(ok)
        for ch in ("email", "sms", "push")
        for cid, ok in zip(customers["customer_id"], customers[f"consent_{ch}"], strict=True)
    }


def read_lines(path: Path, shop: Any) -> list[dict[str, Any]]:
    """The output lines, after checking that every one has consent for its channel."""
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    consent = consent_of(shop)
    for line in lines:
        assert consent[(line["customer_id"], line["channel"])], line["customer_id"]
    return lines


def recently_contacted(shop: Any, channel: str, most: int, days: int) -> set[str]:
    """Customers sent ``most`` or more messages on ``channel`` in the ``days`` before as-of."""
    as_of = pd.Timestamp(shop.meta["as_of"])
    sent = shop.exposures.merge(shop.campaigns[["campaign_id", "channel"]])
    sent = sent[(sent["group"] == "treatment") & (sent["channel"] == channel)
                & (sent["sent_at"] <= as_of) & (sent["sent_at"] > as_of - pd.Timedelta(days=days))]
    counts = sent.groupby("customer_id").size()
    return set(counts[counts >= most].index)


def cli_env(state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    env.update(
        AGENT_STATE_DIR=str(state_dir),
        AGENT_DATA_DIR=str(DEMO_DIR),
        RAY_USAGE_STATS_ENABLED="0",
    )
    return env


def done_in(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM items WHERE status = 'done'").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


# --- consent, caps and the summary --------------------------------------------------------------


def test_consent_and_frequency_cap_are_applied_before_drafting(
    demo_settings: Any, demo_deps: Any, shop: Any, tmp_path: Path
) -> None:
    out = tmp_path / "drafts.jsonl"
    segments = ["at_risk", "cannot_lose", "hibernating"]
    summary = run_batch(
        demo_settings,
        BatchOptions(segment_filter=SegmentFilter(segments=segments), channel="email", out=out,
                     csv=tmp_path / "drafts.csv"),
        demo_deps, origin="operator")
    profiles = demo_deps.profiles.table
    audience = profiles.index[profiles["segment"].isin(segments)]
    customers = shop.customers.set_index("customer_id")
    no_consent = {c for c in audience if not customers.loc[c, "consent_email"]}
    # The e-mail rule (at most 2 in 7 days) skips those e-mailed twice this week.
    capped = recently_contacted(shop, "email", 2, 7) & (set(audience) - no_consent)
    expected = set(audience) - no_consent - capped
    assert summary.skipped["no_consent"] == len(no_consent) > 0
    assert summary.skipped["frequency_cap"] == len(capped) > 0
    assert summary.frequency_rules == {"email: at most 2 messages in 7 days": len(capped)}
    lines = read_lines(out, shop)
    assert {x["customer_id"] for x in lines} == expected
    assert summary.drafted == len(lines) == len(expected)
    assert summary.failed == {} and summary.guard_failures == 0
    for line in lines:
        assert line["run_id"] == summary.run_id and line["guard"]["passed"]
        assert line["language"] in ("en", "zh") and line["subject"] and line["body"]
        assert "first_name" not in line
    drafts = list(iter_drafts(out))
    assert [d.customer_id for d in drafts] == [x["customer_id"] for x in lines]
    rows = pd.read_csv(tmp_path / "drafts.csv", dtype=str)
    assert rows["customer_id"].tolist() == [x["customer_id"] for x in lines]


def test_sms_batch_for_3000_ids_drafts_everyone_consented_outside_the_sms_rule(
    demo_settings: Any, demo_deps: Any, shop: Any, tmp_path: Path
) -> None:
    ids = shop.customers["customer_id"].tolist()[:3000]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
    out = tmp_path / "sms.jsonl"
    summary = run_batch(demo_settings, BatchOptions(ids_path=ids_file, channel="sms", out=out),
                        demo_deps, origin="operator")
    customers = shop.customers.set_index("customer_id")
    consented = {c for c in ids if customers.loc[c, "consent_sms"]}
    capped = recently_contacted(shop, "sms", 1, 14) & consented
    drafted = {x["customer_id"] for x in read_lines(out, shop)}
    assert drafted == consented - capped
    assert summary.drafted == len(drafted) > 1000
    assert summary.skipped["frequency_cap"] == len(capped) > 0
    assert summary.frequency_rules == {"sms: at most 1 message in 14 days": len(capped)}
    assert summary.skipped["no_consent"] == len(ids) - len(consented)


def test_cli_json_summary_is_the_last_line_and_the_trace_has_an_event_per_item(
    demo_settings: Any,
    shop: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AGENT_STATE_DIR", str(demo_settings.state_dir))
    monkeypatch.setenv("AGENT_DATA_DIR", str(DEMO_DIR))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "push.jsonl"
    code = main(
        [
            "batch",
            "--segment",
            "champions",
            "--category",
            "outdoor_gear",
            "--channel",
            "push",
            "--recommend",
            "--goal",
            "recommendations",
            "--out",
            str(out),
            "--json",
        ]
    )
    stdout = capsys.readouterr().out
    assert code == 0
    summary = json.loads(stdout.strip().splitlines()[-1])
    for key in ("drafted", "skipped", "failed", "guard_failures", "tokens", "seconds"):
        assert key in summary
    assert set(summary["skipped"]) >= {"no_consent", "frequency_cap", "unknown_id"}
    lines = read_lines(out, shop)
    assert summary["drafted"] == len(lines) > 0
    assert all(x["products"] and x["products"][0]["price"] > 0 for x in lines)
    assert all(x["title"] and x["goal"] == "recommendations" for x in lines)

    assert main(["trace", "show", summary["run_id"], "--json"]) == 0
    events = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["events"]
    items = [e for e in events if e["data"].get("name") == "draft_message"]
    assert sorted(e["data"]["id"] for e in items) == sorted(x["customer_id"] for x in lines)
    assert events[0]["kind"] == "request" and events[-1]["kind"] == "answer"
    trace_text = (demo_settings.trace_dir / f"{summary['run_id']}.jsonl").read_text()
    emails = shop.customers.set_index("customer_id").loc[[x["customer_id"] for x in lines], "email"]
    assert not any(e and e in trace_text for e in emails)


def test_unknown_ids_are_skipped_and_listed_not_a_crash(
    demo_settings: Any, demo_deps: Any, shop: Any, tmp_path: Path
) -> None:
    customers = shop.customers
    sms = customers[customers["consent_sms"]]["customer_id"].tolist()[:3]
    no_sms = customers[~customers["consent_sms"]]["customer_id"].tolist()[:1]
    ids = tmp_path / "ids.txt"
    ids.write_text(
        "\n".join(
            [
                "# spring list",
                "customer_id",
                *sms,
                sms[0],
                sms[1].lower(),
                "C9999999",
                "",
                "nobody",
                *no_sms,
            ]
        )
        + "\n"
    )
    out = tmp_path / "ids.jsonl"
    summary = run_batch(
        demo_settings,
        BatchOptions(ids_path=ids, channel="sms", out=out, frequency_cap_days=0),
        demo_deps, origin="operator")
    assert summary.skipped["unknown_id"] == 2
    assert summary.unknown_ids == ["C9999999", "nobody"]
    assert summary.skipped["duplicate"] == 2 and summary.skipped["no_consent"] == 1
    assert [x["customer_id"] for x in read_lines(out, shop)] == sms


# --- nothing lost, nothing twice ---------------------------------------------------------------


def test_a_job_killed_with_sigkill_resumes_to_every_eligible_customer_exactly_once(
    demo_settings: Any, shop: Any, demo_deps: Any, tmp_path: Path
) -> None:
    out = tmp_path / "killed.jsonl"
    limit = 700
    args = [
        sys.executable,
        "-m",
        "agent",
        "batch",
        "--filter",
        "{}",
        "--limit",
        str(limit),
        "--channel",
        "sms",
        "--frequency-cap-days",
        "0",
        "--out",
        str(out),
        "--json",
    ]
    env = cli_env(demo_settings.state_dir)
    ckpt = checkpoint_path(demo_settings, out)
    first = subprocess.Popen(
        [*args, "--delay-ms", "25"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while done_in(ckpt) < 40:
        assert first.poll() is None, first.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "the batch never got going"
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate()
    assert first.returncode == -signal.SIGKILL
    done_at_kill = done_in(ckpt)
    assert not out.exists()  # the output is only ever written whole

    ids = demo_deps.profiles.filter_ids(SegmentFilter())[:limit]
    consenting = set(shop.customers[shop.customers["consent_sms"]]["customer_id"])
    expected = [c for c in ids if c in consenting]
    assert 40 <= done_at_kill < len(expected)  # killed mid-way

    resumed = subprocess.run(
        [*args, "--resume"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert summary["resumed"] is True
    assert summary["drafted"] == len(expected)
    assert summary["drafted_now"] == len(expected) - done_at_kill
    lines = read_lines(out, shop)
    got = [x["customer_id"] for x in lines]
    assert len(got) == len(set(got))  # nobody twice
    assert got == expected  # nobody lost, in audience order
    assert len({x["run_id"] for x in lines}) == 2  # drafted by the killed run and the resume


def test_failed_items_are_recorded_with_their_error_and_retried_on_resume(
    demo_settings: Any, shop: Any, tmp_path: Path
) -> None:
    from tools.deps import ToolDeps

    customers = shop.customers
    ids = customers[customers["consent_push"]]["customer_id"].tolist()[:12]
    (tmp_path / "ids.txt").write_text("\n".join(ids))
    broken = ids[3]
    out = tmp_path / "llm.jsonl"
    options = BatchOptions(
        ids_path=tmp_path / "ids.txt", channel="push", out=out, frequency_cap_days=0, concurrency=3
    )
    with FakeOpenAI({broken: ["500"], ids[5]: ["malformed"]}, delay_s=0.05) as server:
        settings = openai_settings(demo_settings, server.url, max_retries=1)
        first = run_batch(settings, options, ToolDeps(settings.tool_config(), shop),
                          origin="operator")
        assert first.failed == {"server_error": 1}
        assert first.failures[0]["customer_id"] == broken
        assert "InternalServerError" in first.failures[0]["error"]
        assert server.max_in_flight <= 3 and server.max_in_flight >= 2
        assert first.drafted == 11 and first.malformed_replies == 2
        assert first.tokens == 120 * (len(server.requests) - 2)  # the two 500s carry no usage
        lines = {x["customer_id"]: x for x in read_lines(out, shop)}
        assert broken not in lines
        assert lines[ids[5]]["source"] == "template" and lines[ids[5]]["rewrite_rejections"]
        assert lines[ids[0]]["source"] == "model" and lines[ids[0]]["tokens"] == 120
        server.script[broken] = ["echo"]
        second = run_batch(settings, options.model_copy(update={"resume": True}),
                           ToolDeps(settings.tool_config(), shop), origin="operator")
    assert second.failed == {} and second.drafted == 12 and second.drafted_now == 1
    assert sorted(x["customer_id"] for x in read_lines(out, shop)) == sorted(ids)
    with sqlite3.connect(checkpoint_path(demo_settings, out)) as db:
        attempts = db.execute(
            "SELECT attempts FROM items WHERE customer_id = ?", (broken,)
        ).fetchone()[0]
    assert attempts == 2


def test_resuming_with_different_options_is_refused(
    demo_settings: Any, demo_deps: Any, tmp_path: Path
) -> None:
    out = tmp_path / "job.jsonl"
    options = BatchOptions(segment_filter=SegmentFilter(segments=["lost"]), channel="sms",
                           out=out, limit=30)
    run_batch(demo_settings, options, demo_deps, origin="operator")
    again = run_batch(demo_settings, options.model_copy(update={"resume": True}), demo_deps,
                      origin="operator")
    assert again.resumed and again.drafted_now == 0
    changed = options.model_copy(update={"resume": True, "goal": "win-back"})
    with pytest.raises(ToolInputError, match=r"--resume refused.*goal: 're-engage' -> "
                                             r"'win-back'"):
        run_batch(demo_settings, changed, demo_deps, origin="operator")


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"selected": [{"customer_id": "C00001", "channel": "sms"}', "not valid JSON (line 1"),
        ('{"rows": [], "budget": 100}', "not a saved campaign plan"),
        (
            '{"selected": [{"customer_id": "C00001", "channel": "fax"}]}',
            "selected[0]: channel 'fax' is not one of email, sms, push",
        ),
        ('{"selected": [{"channel": "sms"}]}', "selected[0]: customer_id must be"),
        (
            '{"selected": [{"customer_id": "C00001", "channel": "email", "offer": "Mystery"}]}',
            "offer 'Mystery'",
        ),
    ],
)
def test_a_malformed_plan_file_is_a_clear_error(
    demo_settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    message: str,
) -> None:
    monkeypatch.setenv("AGENT_STATE_DIR", str(demo_settings.state_dir))
    monkeypatch.chdir(tmp_path)
    plan = tmp_path / "plan.json"
    plan.write_text(content)
    code = main(["batch", "--plan", str(plan), "--out", str(tmp_path / "p.jsonl")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err and str(plan) in err


def test_a_saved_campaign_plan_drafts_each_contact_on_its_channel_with_its_offer(
    demo_settings: Any, demo_deps: Any, shop: Any, tmp_path: Path
) -> None:
    from tools.campaigns.models import OfferOption
    from tools.campaigns.optimize import optimize_campaign

    plan = optimize_campaign(
        demo_deps, budget=600.0, offers=[OfferOption(name="no offer"), OfferOption(name="15% off")]
    ).model_dump(mode="json")
    planned = {s["customer_id"]: s for s in plan["selected"]}
    assert {s["offer"] for s in planned.values()} == {"no offer", "15% off"}
    customers = shop.customers
    no_push = customers[~customers["consent_push"] & ~customers["customer_id"].isin(planned)]
    plan["selected"].append(
        {
            "customer_id": no_push["customer_id"].iloc[0],
            "segment": "lost",
            "channel": "push",
            "offer": "no offer",
            "score": 0.0,
        }
    )
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "plan.jsonl"
    summary = run_batch(demo_settings, BatchOptions(plan_path=tmp_path / "plan.json", out=out),
                        demo_deps, origin="operator")
    assert summary.skipped["no_consent"] == 1  # the hand-added contact, never drafted
    lines = {x["customer_id"]: x for x in read_lines(out, shop)}
    assert set(lines) == set(planned)
    for cid, line in lines.items():
        assert line["channel"] == planned[cid]["channel"]
        if planned[cid]["offer"] == "15% off":
            assert line["offer"]["discount_pct"] == 15 and "15%" in line["body"]
        else:
            assert line["offer"] is None and "%" not in line["body"]


def test_an_audience_needs_exactly_one_source_and_a_channel(
    demo_settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AGENT_STATE_DIR", str(demo_settings.state_dir))
    monkeypatch.chdir(tmp_path)
    assert main(["batch", "--channel", "sms"]) == 2
    assert "give exactly one audience" in capsys.readouterr().err
    assert main(["batch", "--segment", "lost"]) == 2
    assert "channel is required" in capsys.readouterr().err
    assert main(["batch", "--segment", "lost", "--channel", "sms", "--goal", "promotion"]) == 2
    assert "needs an offer" in capsys.readouterr().err


# --- Ray ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ray_workers_draft_the_same_set_as_the_local_backend(
    demo_settings: Any, demo_deps: Any, shop: Any, tmp_path: Path
) -> None:
    def key(line: dict[str, Any]) -> tuple[Any, ...]:
        return (
            line["customer_id"],
            line["channel"],
            line["subject"],
            line["preheader"],
            line["title"],
            line["body"],
            json.dumps(line["products"]),
            json.dumps(line["guard"]),
            line["source"],
        )

    options = BatchOptions(segment_filter=SegmentFilter(segments=["at_risk"]), channel="email",
                           recommend=True, limit=80, frequency_cap_days=0)
    local = run_batch(demo_settings, options.model_copy(update={"out": tmp_path / "l.jsonl"}),
                      demo_deps, origin="operator")
    ray = run_batch(demo_settings, options.model_copy(
        update={"out": tmp_path / "r.jsonl", "backend": "ray"}), demo_deps, origin="operator")
    assert ray.job_id == local.job_id and ray.backend == "ray"
    assert ray.drafted == local.drafted > 20
    local_lines = read_lines(tmp_path / "l.jsonl", shop)
    ray_lines = read_lines(tmp_path / "r.jsonl", shop)
    assert {key(x) for x in ray_lines} == {key(x) for x in local_lines}
    assert all(x["run_id"] == ray.run_id for x in ray_lines)
