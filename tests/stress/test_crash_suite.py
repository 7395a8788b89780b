"""The crash suite's short version: a real hass SIGKILLed three times loses nothing.

``python -m benchmarks.crash`` runs the full version (100 kills) and writes
the report; here ``--short`` runs: a kill just after a period's close, one
just after the payment it queued is signed, one at any moment, then a run
until everything is paid and a clean stop. See benchmarks/crash.
"""

from __future__ import annotations

from benchmarks.crash import suite


def test_a_killed_hass_loses_nothing() -> None:
    targets = suite.plan(0, short=True)
    result = suite.run(targets, seed=1, say=lambda _line: None)
    assert result.lost == 0, result.problems
    # The kills really happened where they were aimed, and were measured.
    assert [k.target for k in result.kills] == list(suite.SHORT_TARGETS)
    assert all(k.hit for k in result.kills), result.kills
    assert result.measured_lost_s(), "no kill came after a save"
    assert max(result.measured_lost_s()) <= suite.FLUSH_INTERVAL_S + suite.SLACK_S
    # Something was billed and paid through the kills, and devtangle holds it.
    # (How many statements depends on how long the run lasted: a cold
    # machine's first start also builds the demo's venv.)
    assert result.statements >= 1
    assert result.confirmed >= 1
    assert result.owed_iota == result.paid_iota > 0
    # Stopped by Home Assistant's own shutdown, not by the signal: the drain
    # waits until a restarted hass runs before it stops it.
    assert result.clean_stop_status == 0
