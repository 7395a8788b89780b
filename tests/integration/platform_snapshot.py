"""What a platform shows, as plain data for a syrupy snapshot.

Modelled on Home Assistant's ``snapshot_platform`` test helper, with one
difference on purpose: it serialises a fixed, explicit set of entity- and
device-registry fields instead of the whole registry entries. The entries
gain fields from one Home Assistant release to the next (``created_at``,
``suggested_object_id``, ``model_id``, ...), so whole entries would need one
snapshot file per tested release. The fields kept here are the ones this
integration sets and the ones a user sees; one snapshot then holds on every
leg, and a value that is wrong on any leg fails there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

ENTITY_FIELDS = (
    "entity_id",
    "unique_id",
    "platform",
    "translation_key",
    "original_device_class",
    "entity_category",
    "disabled_by",
    "hidden_by",
    "capabilities",
    "unit_of_measurement",
    "has_entity_name",
)
DEVICE_FIELDS = (
    "identifiers",
    "connections",
    "manufacturer",
    "model",
    "name",
    "serial_number",
    "sw_version",
    "hw_version",
    "entry_type",
    "via_device_id",
    "configuration_url",
)


def plain(value: Any) -> Any:
    """Mappings, enums, sets and times as plain, stably ordered JSON-like data."""
    if isinstance(value, Mapping):
        return {str(key): plain(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, (set, frozenset)):
        return sorted((plain(item) for item in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def platform_snapshot(
    hass: HomeAssistant, config_entry_id: str, domain: str
) -> dict[str, Any]:
    """The entry's entities of one platform: registry entry, state, device.

    Every entity belongs to the entry's one device, which is shown once.
    """
    entity_registry = er.async_get(hass)
    device_registry = dr.async_get(hass)
    entries = sorted(
        (
            entry
            for entry in er.async_entries_for_config_entry(
                entity_registry, config_entry_id
            )
            if entry.domain == domain
        ),
        key=lambda entry: entry.entity_id,
    )
    assert entries, f"no {domain} entities"
    device_ids = {entry.device_id for entry in entries}
    assert len(device_ids) == 1, device_ids
    (device_id,) = device_ids
    assert device_id is not None
    device = device_registry.async_get(device_id)
    assert device is not None

    entities: dict[str, Any] = {}
    for entry in entries:
        state = hass.states.get(entry.entity_id)
        # Like snapshot_platform: enabled entities have a state, others none.
        assert (state is None) == (entry.disabled_by is not None), entry.entity_id
        entities[entry.entity_id] = {
            "entry": {field: plain(getattr(entry, field)) for field in ENTITY_FIELDS},
            "state": None
            if state is None
            else {"state": state.state, "attributes": plain(dict(state.attributes))},
        }
    return {
        "device": {field: plain(getattr(device, field)) for field in DEVICE_FIELDS},
        "entities": entities,
    }
