"""Crash suite: a real hass killed with SIGKILL at random and aimed moments.

Run ``python -m benchmarks.crash`` (see ``__main__.py``).
"""
