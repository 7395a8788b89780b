"""Bad values a user, an automation or a broken device may send.

A seeded generator: the same seed gives the same cases on every run and
every leg, so a failure is reproducible from its case number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
import json
from pathlib import Path
import random
from typing import Any

STRINGS_PATH = (
    Path(__file__).parents[2] / "custom_components" / "iota_energy" / "strings.json"
)

# Wrong types: what a YAML automation or a raw API call can send.
WRONG_TYPES: tuple[Any, ...] = (
    None,
    True,
    False,
    [],
    [1, 2],
    {},
    {"a": 1},
    b"bytes",
)
NUMBERS: tuple[Any, ...] = (
    -1,
    0,
    -(10**30),
    10**30,
    2**64,
    1e308,
    -1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    0.5,
    -0.0,
    1e-300,
)
TEXTS: tuple[str, ...] = (
    "",
    " ",
    "\x00",
    "💡⚡",
    "\u202eevil",
    "x" * 100_000,
    "NaN",
    "inf",
    "-1",
    "1e999999999",
    "1e5000",
    "-1e5000",
    "1/0",
    "0x10",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "9" * 5000,
    "DROP TABLE",
)


def bad_value(rng: random.Random) -> Any:
    """One bad value of any kind."""
    pool = rng.choice((WRONG_TYPES, NUMBERS, TEXTS))
    value = rng.choice(pool)
    if isinstance(value, str) and rng.random() < 0.3:
        # Random unicode too, not only the list.
        value = "".join(chr(rng.randrange(0x20, 0x2FFFF)) for _ in range(20))
    return value


def mutations(
    rng: random.Random,
    base: Mapping[str, Any],
    count: int,
    extra: Callable[[random.Random], Mapping[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """``count`` forms: ``base`` with one or two fields bad, dropped or added."""
    keys = list(base)
    for _ in range(count):
        case = dict(base)
        roll = rng.random()
        if roll < 0.1 and keys:
            case.pop(rng.choice(keys))
        elif roll < 0.15:
            case["not_a_field"] = bad_value(rng)
        else:
            for key in rng.sample(keys, k=min(len(keys), rng.choice((1, 1, 2)))):
                case[key] = bad_value(rng)
        if extra is not None:
            case |= extra(rng)
        yield case


def strings() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(STRINGS_PATH.read_text(encoding="utf-8"))
    return loaded


def describe(case: Mapping[str, Any]) -> str:
    """A short label of a case (long values cut; never a secret: callers drop it)."""
    return ", ".join(f"{key}={str(value)[:40]!r}" for key, value in case.items())
