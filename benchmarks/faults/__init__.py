"""Fault injection: the integration's real parts under faults, counting what is lost.

Run ``python -m benchmarks.faults`` (see ``__main__.py``).
"""
