"""The fault injection suite's short version: nothing may be lost in any fault.

``python -m benchmarks.faults`` runs the full version and writes the report;
here each scenario of ``--short`` runs and must lose nothing. See
benchmarks/faults for what is injected and what is counted.
"""

from __future__ import annotations

import pytest

from benchmarks.faults import metering, payments, storage


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


def test_damaged_storage_files_lose_nothing_beyond_the_fallback() -> None:
    """A real hass starts on damaged files: the documented fallback, an issue."""
    results = storage.run_all(short=True)
    assert [r.name for r in results] == [s.name for s in storage.scenarios(True)]
    for result in results:
        assert result.lost == 0, result
        assert result.issues, result  # the user is told, always
        assert result.copies_kept >= 1, result
    one_head, both_live, both_outbox = results
    # One damaged head slot: the other holds everything.
    assert one_head.restored_from == one_head.expected
    assert one_head.expected.startswith("live slot")
    assert one_head.fallback_cost_j == 0
    # Both live slots: the head's meter, an issue that says energy was lost.
    assert both_live.restored_from == "ledger head"
    assert "live_state_lost" in both_live.issues
    assert both_live.fallback_cost_j > 0
    # Both outbox slots: payments stop, metering goes on.
    assert both_outbox.entry_state == "loaded"
    assert "outbox_unreadable" in both_outbox.issues
