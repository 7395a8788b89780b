"""The fault injection suite's short version: nothing may be lost in any fault.

``python -m benchmarks.faults`` runs the full version and writes the report;
here each scenario of ``--short`` runs and must lose nothing. See
benchmarks/faults for what is injected and what is counted.
"""

from __future__ import annotations

import pytest

from benchmarks.faults import metering, payments


@pytest.mark.parametrize(
    "scenario", metering.scenarios(short=True), ids=lambda s: s.name
)
def test_metering_loses_nothing_under_faults(
    scenario: metering.MeteringScenario,
) -> None:
    result = metering.run_scenario(scenario)
    assert result.lost == 0, result
    # The faults really happened and were really measured.
    assert result.statements >= 2
    assert result.faults_injected == len(scenario.faults)
    if any(kind == "unplug" for _, kind, _ in scenario.faults):
        assert result.unbridged_s > 0
        assert result.incomplete > 1


@pytest.mark.parametrize(
    "scenario", payments.scenarios(short=True), ids=lambda s: s.name
)
def test_payments_lose_nothing_under_faults(
    scenario: payments.PaymentScenario,
) -> None:
    result = payments.run_scenario(scenario)
    assert result.lost == 0, result
    assert result.payments >= 2
    assert result.owed_iota == result.paid_iota > 0
    assert (
        result.down_s
        + result.failed_writes
        + sum(n for mode, n in result.requests.items() if mode != "pass")
        > 0
    ), "no fault was injected"
