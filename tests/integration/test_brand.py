"""Home Assistant 2026.3+ serves the brand images the integration ships."""

from __future__ import annotations

from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iota_energy.const import DOMAIN

BRAND = Path(__file__).resolve().parents[2] / "custom_components" / DOMAIN / "brand"

# Older releases have no brands component and show the brands site's images.
pytest.importorskip(
    "homeassistant.components.brands",
    reason="Home Assistant serves custom integrations' brand/ from 2026.3",
)


@pytest.mark.parametrize(
    "image", ["icon.png", "icon@2x.png", "logo.png", "logo@2x.png"]
)
async def test_brand_images_served(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, image: str
) -> None:
    """The local image, not the brands site's placeholder."""
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    response = await client.get(f"/api/brands/integration/{DOMAIN}/{image}")
    assert response.status == 200
    assert await response.read() == (BRAND / image).read_bytes()
