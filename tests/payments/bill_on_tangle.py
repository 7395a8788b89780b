"""Reading a payment's bill back from its bundle, as the receiver would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def message_of(transactions: Sequence[Any]) -> list[str]:
    """Message fragments of a bundle's first output and its 0-value followers.

    A message longer than one fragment continues in 0-value transactions to
    the same address right after the output (PyOTA's and iota.js's layout).
    """
    fragments: list[str] = []
    output_address: str | None = None
    for transaction in sorted(transactions, key=lambda t: int(t.current_index)):
        if output_address is None and int(transaction.value) > 0:
            output_address = str(transaction.address)
            fragments.append(str(transaction.signature_message_fragment))
        elif output_address is not None:
            if (
                str(transaction.address) == output_address
                and int(transaction.value) == 0
            ):
                fragments.append(str(transaction.signature_message_fragment))
            else:
                break
    return fragments
