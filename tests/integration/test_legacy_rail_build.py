"""The legacy rail an entry's settings build (offline: nothing is sent).

What the payment shell hands the legacy rail from the entry: the seed, the node
at the stored URL, the proof-of-work weight and tag, the proof-of-work mode, the
follow-up times of the manager's schedule, and the manager's own worker
process for the signing and the proof of work (shut down with the manager).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from homeassistant.core import HomeAssistant
import pytest

from custom_components.iota_energy.core.legacy_rail import FollowTimes, LegacyRail
from custom_components.iota_energy.core.outbox import FollowSchedule, PaymentPolicy
from custom_components.iota_energy.core.worker_pool import WorkerLost
from custom_components.iota_energy.payment_manager import (
    PaymentManager,
    PaymentSettings,
)

from .helpers import unstarted_manager

SEED = "GARDEN9LIGHTS9SEED".ljust(81, "9")
RECEIVER = "C" * 90
SCHEDULE = FollowSchedule(
    promote_interval=timedelta(seconds=41),
    promote_window=timedelta(minutes=7),
    depth=5,
)
SETTINGS = PaymentSettings(
    node_url="http://127.0.0.1:14265",
    receiver=RECEIVER,
    auto_pay=True,
    policy=PaymentPolicy(RECEIVER, pow_mode="local"),
    seed=SEED,
    mwm=9,
    tag="HOTEL",
)


@pytest.fixture
def managers(hass: HomeAssistant) -> Iterator[Callable[[], PaymentManager]]:
    """Managers of the legacy settings; their worker processes shut down after."""
    made: list[PaymentManager] = []

    def make() -> PaymentManager:
        made.append(unstarted_manager(hass, SETTINGS, SCHEDULE))
        return made[-1]

    yield make
    for manager in made:
        if manager._worker is not None:
            manager._worker.shutdown()


async def test_the_rail_pays_from_the_stored_seed_through_the_stored_node(
    managers: Callable[[], PaymentManager],
) -> None:
    manager = managers()
    rail = manager._build_rail()
    assert isinstance(rail, LegacyRail)
    wallet = rail.wallet
    # Compared without showing it: a failure must not print the seed.
    holds_the_seed = wallet._seed.reveal() == SEED
    assert holds_the_seed, "the wallet does not hold the entry's seed"
    assert wallet.node.url == "http://127.0.0.1:14265"
    assert (wallet.mwm, wallet.tag) == (9, "HOTEL".ljust(27, "9"))
    assert rail.pow_mode == "local"
    assert rail.follow == FollowTimes(
        promote_interval=timedelta(seconds=41),
        promote_window=timedelta(minutes=7),
        depth=5,
    )
    # The signing and proof of work run in the manager's worker process,
    # which stopping the manager shuts down.
    assert manager._worker is not None
    assert wallet._run == manager._worker.run


async def test_each_rail_built_has_its_own_worker(
    managers: Callable[[], PaymentManager],
) -> None:
    first, second = managers(), managers()
    rails = [first._build_rail(), second._build_rail()]
    assert first._worker is not None
    assert second._worker is not None
    assert first._worker is not second._worker
    assert all(isinstance(rail, LegacyRail) for rail in rails)
    assert [rail.wallet._run for rail in rails] == [
        first._worker.run,
        second._worker.run,
    ]


async def test_stopping_the_manager_shuts_its_worker_down(
    managers: Callable[[], PaymentManager],
) -> None:
    manager = managers()
    manager._build_rail()
    worker = manager._worker
    assert worker is not None
    await manager.async_stop()
    with pytest.raises(WorkerLost, match="shut down"):
        worker.run(int, "1")
