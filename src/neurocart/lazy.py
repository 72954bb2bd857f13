"""Package attributes imported on first use (PEP 562), so that importing a package does not
load the heavy libraries (statistics, plotting) that only some of its names need."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any


def lazy_getattr(
    package: str, exports: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> Callable[[str], Any]:
    """A module `__getattr__` importing `exports[name]` (a module path) on first use and
    caching the result in `namespace` (the package's globals)."""

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if module == f"{package}.{name}":
            value: Any = importlib.import_module(module)
        else:
            value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return getattr_
