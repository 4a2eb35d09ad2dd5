# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The figures the sandbox and contract tests write out are the official
engine's: each named case of the engine's table, line for line."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from .official_figures import CFP, OFFICIAL_LINES, SOCIAL, TFC, VL

TABLE = json.loads((Path(__file__).parent / "data" / "official_engine_cases.json").read_text(encoding="utf-8"))
SCENARIOS = {case["scenario"]: case for case in TABLE["cases"] if "scenario" in case}
LABELS = {"cotisations": SOCIAL, "cfp": CFP, "tfc": TFC, "versement_liberatoire": VL}


def test_every_named_case_is_written_out():
    assert SCENARIOS
    assert set(OFFICIAL_LINES) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(OFFICIAL_LINES))
def test_written_figures_are_the_engines(name):
    engine = [
        (line["category"], LABELS[line["kind"]], Decimal(line["base"]), Decimal(line["rate"]), Decimal(line["amount"]))
        for line in SCENARIOS[name]["lines"]
    ]
    assert OFFICIAL_LINES[name] == engine
    assert sum(line[4] for line in OFFICIAL_LINES[name]) == Decimal(SCENARIOS[name]["total"])
