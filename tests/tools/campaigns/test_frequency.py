"""Frequency rules per channel: reading them, applying them at "as of", where they come from."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tools.config import DEFAULT_FREQUENCY_RULES, FrequencyRule, ToolConfig, parse_frequency_rules
from tools.customers.contact_rules import ContactHistory, resolve_rules
from tools.errors import ToolInputError

AS_OF = pd.Timestamp("2026-10-31T23:59:59Z")


def history(rows: list[tuple[str, str, str, float]]) -> ContactHistory:
    """(customer, channel, group, days before as_of) -> a contact history at AS_OF."""
    campaigns = pd.DataFrame({"campaign_id": [f"K{i:03d}" for i in range(len(rows))],
                              "channel": [r[1] for r in rows]})
    exposures = pd.DataFrame({
        "campaign_id": campaigns["campaign_id"],
        "customer_id": [r[0] for r in rows],
        "group": [r[2] for r in rows],
        "sent_at": [AS_OF - pd.Timedelta(days=r[3]) for r in rows],
    })
    return ContactHistory(exposures, campaigns, AS_OF)


def test_rules_are_read_from_text_objects_and_off() -> None:
    rules = parse_frequency_rules({"email": "2/7", "SMS": "1 / 14 days", "push": "off",
                                   "any": {"max_messages": 3, "days": 2}})
    assert [r.label for r in rules] == [
        "email: at most 2 messages in 7 days", "sms: at most 1 message in 14 days",
        "any channel: at most 3 messages in 2 days",
    ]
    assert parse_frequency_rules(DEFAULT_FREQUENCY_RULES) == ToolConfig().frequency_rules


@pytest.mark.parametrize(
    ("spec", "needle"),
    [({"fax": "1/7"}, "unknown channel"), ({"sms": "weekly"}, "expected 'N/D'"),
     ({"sms": "0/7"}, "both 1 or more"), ({"email": {"days": 7}}, "max_messages")],
)
def test_bad_rules_say_what_is_expected(spec: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_frequency_rules(spec)


def test_settings_take_rules_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from agent.settings import Settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENT_FREQUENCY_RULES", '{"email": "1/3", "sms": "off"}')
    config = Settings().tool_config()
    assert config.frequency_rules == (FrequencyRule(channel="email", max_messages=1, days=3),)
    monkeypatch.setenv("AGENT_FREQUENCY_RULES", '{"email": "often"}')
    with pytest.raises(ValueError, match="frequency rule email"):
        Settings()


def test_a_rule_counts_messages_sent_on_its_channel_inside_its_window() -> None:
    h = history([
        ("C1", "email", "treatment", 1), ("C1", "email", "treatment", 6),  # 2 in 7 days
        ("C2", "email", "treatment", 1), ("C2", "email", "treatment", 8),  # 1 in 7 days
        ("C3", "email", "control", 1), ("C3", "email", "control", 2),  # held out: no message
        ("C4", "sms", "treatment", 13),  # SMS inside 14 days
        ("C5", "sms", "treatment", -3),  # sent after "as of": not history yet
    ])
    rules = parse_frequency_rules(DEFAULT_FREQUENCY_RULES)
    email = h.blocking_rule(["C1", "C2", "C3", "C4", "C5"], "email", rules)
    assert email.to_dict() == {"C1": "email: at most 2 messages in 7 days", "C2": None,
                               "C3": None, "C4": None, "C5": None}
    assert h.blocked(["C1", "C4", "C5"], "sms", rules).tolist() == [False, True, False]
    # The e-mail rule frees C1 when the older of the two messages leaves the window.
    assert h.next_allowed("C1", "email", rules) == AS_OF + pd.Timedelta(days=1)
    assert h.next_allowed("C2", "email", rules) is None
    anywhere = parse_frequency_rules({"any": "1/2"})
    assert h.blocked(["C1", "C2", "C4"], "push", anywhere).tolist() == [True, True, False]


def test_plan_arguments_change_the_settings_rules() -> None:
    defaults = parse_frequency_rules(DEFAULT_FREQUENCY_RULES)
    changed = resolve_rules(defaults, {"sms": "1/30", "email": "off"}, None)
    assert sorted(r.label for r in changed) == ["push: at most 3 messages in 7 days",
                                                "sms: at most 1 message in 30 days"]
    assert resolve_rules(defaults, None, 0) == ()
    assert [r.label for r in resolve_rules(defaults, None, 5)] == [
        "any channel: at most 1 message in 5 days"]
    assert resolve_rules(defaults, None, None) == defaults
    with pytest.raises(ToolInputError, match="not both"):
        resolve_rules(defaults, {"sms": "1/3"}, 4)
    with pytest.raises(ToolInputError, match="frequency_rules: frequency rule 'fax'"):
        resolve_rules(defaults, {"fax": "1/3"}, None)


@pytest.mark.slow
def test_on_the_demo_shop_the_rules_exclude_under_15_percent_on_as_of(demo_deps: Any) -> None:
    shop = demo_deps.shop
    h = ContactHistory.from_shop(shop, pd.Timestamp(shop.meta["as_of"]))
    rules = demo_deps.config.frequency_rules
    customers = shop.customers.set_index("customer_id")
    blocked_somewhere = pd.Series(False, index=customers.index)
    for channel in ("email", "sms", "push"):
        blocked = h.blocked(customers.index, channel, rules).to_numpy()
        consented = customers[f"consent_{channel}"].to_numpy()
        blocked_somewhere |= blocked & consented
    share = float(blocked_somewhere.mean())
    assert 0.0 < share < 0.15, share  # the rules bite, but most customers may be contacted
