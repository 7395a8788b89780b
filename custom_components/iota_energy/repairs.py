"""Repair flow: start with an empty ledger when the stored one cannot be read.

The integration never does this by itself. The user is told what is lost
(the statements in the damaged files, which are kept aside) and must
confirm; then the entry starts afresh.
"""

from __future__ import annotations

from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers import issue_registry as ir
import voluptuous as vol

from .const import DOMAIN
from .issues import async_clear_issue
from .persistence.entry_store import async_discard_state


class StartNewLedgerFlow(RepairsFlow):
    """Confirm, then keep the damaged state aside and start the entry afresh."""

    def __init__(self, entry_id: str) -> None:
        """Bind the flow to the entry whose ledger cannot be read."""
        self._entry_id = entry_id

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> FlowResult:
        """Go to the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> FlowResult:
        """Ask before anything is removed."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                data_schema=vol.Schema({}),
                description_placeholders={"title": entry.title},
            )
        await async_discard_state(self.hass, entry.entry_id)
        registry = ir.async_get(self.hass)
        for (domain, issue_id), _issue in list(registry.issues.items()):
            if domain == DOMAIN and entry.entry_id in issue_id:
                async_clear_issue(self.hass, issue_id)
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant,
    issue_id: str,
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """The flow for a fixable issue of this integration."""
    return StartNewLedgerFlow(str((data or {}).get("entry_id", "")))
