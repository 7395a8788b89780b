"""Errors that become IRI-style HTTP answers, and the node's own failures."""

from __future__ import annotations


class ApiError(Exception):
    """A bad request: answered with 400 and ``{"error": ..., "duration": n}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class InvalidTransactionError(ApiError):
    """A transaction failed validation (hash, weight, fields, bundle)."""


class StoreError(Exception):
    """The database is missing, corrupt or from an unknown schema."""
