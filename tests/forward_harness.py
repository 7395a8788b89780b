"""Run the test harness on a Home Assistant release newer than it was made for.

The forward-check leg (scripts/test --leg next) runs the newest Home Assistant
with the newest pytest-homeassistant-custom-component, which was made for an
older release. ``scripts/test`` loads this module with ``-p`` on that leg only:
``-p`` modules load before the plugins pytest finds through entry points, so
this runs before the harness and respx are imported. Delete a fix here when a
harness release for that Home Assistant exists.
"""

# Home Assistant 2026.11 aliases httpx to httpx2 when its package is imported
# and refuses if httpx is loaded already; respx's pytest plugin imports httpx.
import homeassistant  # noqa: F401
from homeassistant.components import logger

# 2026.11 moved _clear_logger_overwrites to logger.helpers; the harness still
# imports it from the package.
if not hasattr(logger, "_clear_logger_overwrites"):
    from homeassistant.components.logger.helpers import _clear_logger_overwrites

    logger._clear_logger_overwrites = _clear_logger_overwrites  # type: ignore[attr-defined]
