"""Repair issues of this integration: raised and cleared in one place.

Every issue is the domain's, so a call names only what differs: its id,
translation key and placeholders and, where it is not the common case (an
error, gone with a restart, not fixable), its severity, persistence or fix
flow. The fix flow itself lives in repairs.py, which Home Assistant loads
as the integration's repairs platform.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN


# Keyword-only like Home Assistant's own, so tests/test_repository.py finds
# each literal translation_key; the last three default to the common case.
@callback
def async_raise_issue(  # noqa: PLR0913
    hass: HomeAssistant,
    issue_id: str,
    *,
    translation_key: str,
    placeholders: dict[str, str],
    severity: ir.IssueSeverity = ir.IssueSeverity.ERROR,
    persistent: bool = False,
    fix_data: dict[str, str | int | float | None] | None = None,
) -> None:
    """Create or replace ``issue_id``; fixable exactly when ``fix_data`` is given."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=fix_data is not None,
        is_persistent=persistent,
        severity=severity,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        data=fix_data,
    )


@callback
def async_clear_issue(hass: HomeAssistant, issue_id: str) -> None:
    """Remove ``issue_id`` if it is raised."""
    ir.async_delete_issue(hass, DOMAIN, issue_id)
