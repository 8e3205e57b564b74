"""Fairness audits: selection rates by group and the four-fifths flag."""

import pandas as pd

from tools.fairness import audit_selection


def _population() -> pd.DataFrame:
    rows = []
    for i in range(200):
        rows.append(
            {
                "customer_id": f"C{i:05d}",
                "gender": "female" if i % 2 else "male",
                "age": 20 + i % 50,
            }
        )
    return pd.DataFrame(rows)


def test_balanced_selection_is_not_flagged() -> None:
    pop = _population()
    selected = [c for i, c in enumerate(pop["customer_id"]) if i % 4 < 2]  # half of each gender
    audit = audit_selection(pop, selected)
    gender = next(a for a in audit.attributes if a.attribute == "gender")
    assert gender.parity_ratio == 1.0
    assert not gender.four_fifths_flag
    assert "gender" not in audit.flagged
    assert {g.group for g in gender.groups} == {"female", "male"}


def test_skewed_selection_is_flagged_under_four_fifths() -> None:
    pop = _population()
    # 60% of women, 30% of men: ratio 0.5.
    women = pop[pop["gender"] == "female"]["customer_id"].tolist()
    men = pop[pop["gender"] == "male"]["customer_id"].tolist()
    selected = women[:60] + men[:30]
    audit = audit_selection(pop, selected, values=dict.fromkeys(selected, 10.0))
    gender = next(a for a in audit.attributes if a.attribute == "gender")
    assert gender.four_fifths_flag
    assert abs(gender.parity_ratio - 0.5) < 1e-9
    assert abs(gender.parity_difference - 0.3) < 1e-9
    assert "gender" in audit.flagged
    assert "FLAG" in audit.summary()
    assert all(g.mean_value == 10.0 for g in gender.groups)


def test_age_bands_cover_unknown_ages() -> None:
    pop = _population()
    pop.loc[:9, "age"] = None
    audit = audit_selection(pop, pop["customer_id"].tolist()[:50])
    bands = next(a for a in audit.attributes if a.attribute == "age_band")
    assert "unknown" in {g.group for g in bands.groups}
    assert sum(g.population for g in bands.groups) == 200
