"""The node's own coordinator: the 0-value transactions that make milestones.

A milestone is one 0-value transaction at ``COORDINATOR_ADDRESS`` tagged
``MILESTONE_TAG``, its index in the obsolete tag. A transaction approves
only two others, so to reference many tips the coordinator first chains
"merge" transactions (each approving the previous one and one more tip);
the milestone then approves the end of that chain. Every one of them is an
ordinary valid bundle with real proof of work. Real milestones also carried
a Merkle signature; ours need none because only this node issues them.
"""

from __future__ import annotations

from collections.abc import Sequence
import threading
from typing import Final

from custom_components.iota_energy.core.trits import int_to_trytes

from . import crypto
from .transaction import HASH_TRYTES, TAG_TRYTES

COORDINATOR_ADDRESS: Final = "DEVTANGLE9COORDINATOR".ljust(HASH_TRYTES, "9")
MILESTONE_TAG: Final = "DEVTANGLE9MILESTONE".ljust(TAG_TRYTES, "9")
MERGE_TAG: Final = "DEVTANGLE9MERGE".ljust(TAG_TRYTES, "9")
_EMPTY_SIGNATURE: Final = "9" * 2187


def zero_value_transaction(tag: str, obsolete_tag: str, timestamp_s: int) -> str:
    """A single-transaction 0-value bundle, ready for attachToTangle."""
    essence = (
        COORDINATOR_ADDRESS
        + int_to_trytes(0, 27)
        + obsolete_tag
        + int_to_trytes(timestamp_s, 9)
        + int_to_trytes(0, 9)  # current index
        + int_to_trytes(0, 9)  # last index
    )
    bundle = crypto.kerl_hash(essence)
    rest = "9" * HASH_TRYTES * 2 + tag + "9" * (9 * 3 + 27)
    return _EMPTY_SIGNATURE + essence + bundle + rest


def build_milestone(
    index: int,
    references: Sequence[str],
    *,
    mwm: int,
    timestamp_s: int,
    cancel: threading.Event | None = None,
) -> list[str]:
    """Attached trytes for the merge chain and the milestone (last)."""
    if not references:
        raise ValueError("a milestone needs at least one reference")
    milestone = zero_value_transaction(
        MILESTONE_TAG, int_to_trytes(index, 27), timestamp_s
    )
    attached: list[str] = []
    current = references[0]
    for number, reference in enumerate(references[1:-1]):
        merge = zero_value_transaction(
            MERGE_TAG, int_to_trytes(index * 100 + number, 27), timestamp_s
        )
        done = crypto.attach_to_tangle(current, reference, mwm, [merge], cancel=cancel)
        attached.append(done[0])
        current = crypto.transaction_hash(done[0])
    branch = references[-1] if len(references) > 1 else references[0]
    done = crypto.attach_to_tangle(current, branch, mwm, [milestone], cancel=cancel)
    attached.append(done[0])
    return attached
