"""devtangle: a development IOTA node speaking the legacy IRI HTTP API.

The legacy network no longer accepts value transfers, so the project runs
its own node for development and tests, strict enough that a bundle it
confirms would have been confirmed by a real IRI node. See docs/devtangle.md.
"""

from __future__ import annotations

__version__ = "1.0.0"
APP_NAME = "devtangle"
