"""Submit one bad form to a flow and sort the answer.

A form refused by its schema (``InvalidData``: the frontend marks the field)
or answered with form errors whose keys strings.json translates is
``refused``. A form that moves the flow on was ``accepted``. Anything else
(an exception from the step, an untranslated error key, an unknown abort
reason) is ``unhandled``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from homeassistant.data_entry_flow import FlowResultType, InvalidData
import voluptuous as vol

from .bad_values import describe, strings
from .tally import Tally

Configure = Callable[[str, dict[str, Any]], Awaitable[Any]]


async def submit(
    tally: Tally,
    configure: Configure,
    flow_id: str,
    step_id: str,
    case: dict[str, Any],
    *,
    section: str = "config",
    secrets: tuple[str, ...] = (),
) -> Any | None:
    """Send ``case`` to the flow at ``step_id``; the result if it moved on.

    Returns None while the flow stays at ``step_id`` (refused) and after an
    unhandled case (the caller starts a new flow then).
    """
    label = f"{step_id} #{tally.cases}: {describe(case)}"
    try:
        result = await configure(flow_id, case)
    except (InvalidData, vol.Invalid) as err:
        if any(secret and secret in str(err) for secret in secrets):
            tally.unhandled.append(f"{label}: a secret in the schema error")
        else:
            tally.refused += 1
        return None
    except Exception as err:  # the point: nothing else escapes
        tally.unhandled.append(f"{label}: {type(err).__name__}: {str(err)[:120]}")
        return {"unhandled": True}
    # A created entry holds the seed by design (the frontend gets the entry,
    # not its data); every other answer goes to the browser as it is.
    text = "" if result["type"] is FlowResultType.CREATE_ENTRY else str(result)
    if any(secret and secret in text for secret in secrets):
        tally.unhandled.append(f"{label}: a secret in the answer")
        return {"unhandled": True}
    known = strings()[section]
    if result["type"] is FlowResultType.ABORT:
        if result["reason"] not in known.get("abort", {}):
            tally.unhandled.append(f"{label}: untranslated abort {result['reason']}")
        else:
            tally.accepted += 1
        return result
    errors: Mapping[str, str] = result.get("errors") or {}
    if result["type"] is FlowResultType.FORM and result["step_id"] == step_id:
        untranslated = [e for e in errors.values() if e not in known["error"]]
        if untranslated:
            tally.unhandled.append(f"{label}: untranslated {untranslated}")
        elif not errors:
            tally.unhandled.append(f"{label}: the same form again, no error")
        else:
            tally.refused += 1
        return None
    tally.accepted += 1
    return result
