"""Demo data for `manage.py seed_demo`, contributed by each app.

Each app that has something to show puts a `demo.py` module beside its models with a function
decorated by `@demo_step(order)`; steps run in order and receive the shared `DemoContext`. A step
must add nothing when run again.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEMO_PASSWORD = "crm-demo-2026"

_steps: list[tuple[int, str, Callable[["DemoContext"], None]]] = []


@dataclass
class DemoContext:
    rng: random.Random = field(default_factory=lambda: random.Random(2026))
    data: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = print


def demo_step(order: int) -> Callable:
    def register(fn: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        if not any(name == f"{fn.__module__}.{fn.__name__}" for _, name, _ in _steps):
            _steps.append((order, f"{fn.__module__}.{fn.__name__}", fn))
        return fn

    return register


def steps() -> list[tuple[int, str, Callable[[DemoContext], None]]]:
    return sorted(_steps, key=lambda s: s[0])
