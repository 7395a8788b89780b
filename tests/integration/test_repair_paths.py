"""The repair flow clears only its own entry's issues."""

from __future__ import annotations

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iota_energy.const import DOMAIN
from tests.ha_fixtures import StorageFiles

OTHER_ISSUE = "state_write_failed_01JOTHERENTRY0000000000000_ledger"


async def test_starting_a_new_ledger_leaves_other_entries_issues(
    hass: HomeAssistant,
    hass_storage: StorageFiles,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Confirmed: this entry's issues go, another entry's issue stays."""
    assert await async_setup_component(hass, "repairs", {})
    entry = mock_config_entry
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    for slot in ("a", "b"):
        name = f"{DOMAIN}.{entry.entry_id}.ledger.{slot}"
        document = hass_storage[name]
        document["data"]["state"] = "?"
        hass_storage[name] = document
    ir.async_create_issue(
        hass,
        DOMAIN,
        OTHER_ISSUE,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="state_write_failed",
        translation_placeholders={"error": "disk full"},
    )
    assert not await hass.config_entries.async_setup(entry.entry_id)
    issue_id = f"start_new_ledger_{entry.entry_id}"
    own = {
        issue_id
        for (domain, issue_id) in issue_registry.issues
        if domain == DOMAIN and entry.entry_id in issue_id
    }
    assert {
        f"start_new_ledger_{entry.entry_id}",
        f"state_corrupt_{entry.entry_id}_ledger_a",
        f"state_corrupt_{entry.entry_id}_ledger_b",
    } <= own

    flows = repairs_flow_manager(hass)
    assert flows is not None
    result = await flows.async_init(DOMAIN, data={"issue_id": issue_id})
    result = await flows.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    remaining = {
        issue_id for (domain, issue_id) in issue_registry.issues if domain == DOMAIN
    }
    assert remaining == {OTHER_ISSUE}
    assert await hass.config_entries.async_unload(entry.entry_id)
