"""Reader of the demo region's data files, ``demo/data/*.yaml``.

The tables are YAML, not Python or CSV: they are lists of records, some with
long Chinese text blocks and nested lists (an instrument type's models), which
YAML shows as ``field: value`` lines with comments and without quoting, so a
lab manager can read them and add an institution or an instrument type by
copying an entry.  CSV would squeeze the text blocks and the models into cells.

Each file is read once with ``yaml.safe_load`` and checked against the fields
its reader expects: a missing, unknown or mistyped field stops with the file,
the entry and the field named.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).with_name("data")

# A kind is a type (or tuple of types); {"a", "b"}: one of these values; [kind]:
# a list of any length, [k1, k2]: a list of exactly those; {key type: kind}: a
# mapping; {"field": kind, ...}: a record whose fields ending in "?" may be left out.
Kind = Any


class DemoDataError(ValueError):
    """A data file does not have the shape its reader expects."""


@cache
def _read(file: str) -> Any:
    path = DATA_DIR / file
    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.safe_load(stream)
    except yaml.YAMLError as error:
        raise DemoDataError(f"{path}: not valid YAML: {error}") from None


def _check(value: Any, kind: Kind, where: str) -> None:
    if isinstance(kind, dict) and isinstance(next(iter(kind)), str):  # a record
        if not isinstance(value, dict):
            raise DemoDataError(f"{where}: expected fields, found {value!r}")
        fields = {name.rstrip("?"): name.endswith("?") for name in kind}
        unknown = sorted(value.keys() - fields.keys(), key=str)
        if unknown:
            raise DemoDataError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(fields)})")
        for (name, optional), field_kind in zip(fields.items(), kind.values(), strict=True):
            if name in value:
                _check(value[name], field_kind, f"{where}, field {name!r}")
            elif not optional:
                raise DemoDataError(f"{where}: field {name!r} is missing")
    elif isinstance(kind, dict):  # a mapping
        [(key_kind, value_kind)] = kind.items()
        if not isinstance(value, dict):
            raise DemoDataError(f"{where}: expected a mapping, found {value!r}")
        for key, item in value.items():
            _check(key, key_kind, f"{where}, key {key!r}")
            _check(item, value_kind, f"{where}, {key!r}")
    elif isinstance(kind, set):
        if not isinstance(value, str) or value not in kind:
            raise DemoDataError(f"{where}: expected one of {', '.join(sorted(kind))}, found {value!r}")
    elif isinstance(kind, list):
        if not isinstance(value, list) or len(kind) > 1 and len(value) != len(kind):
            size = f" of {len(kind)}" if len(kind) > 1 else ""
            raise DemoDataError(f"{where}: expected a list{size}, found {value!r}")
        for index, item in enumerate(value):
            _check(item, kind[index] if len(kind) > 1 else kind[0], f"{where}, item {index + 1}")
    elif not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise DemoDataError(f"{where}: expected {names}, found {value!r}")


def entries(file: str, record: dict[str, Kind]) -> list[dict[str, Any]]:
    """The entries of ``data/<file>``, a list of records, each checked against
    `record`; an entry is named by its position and by its first field, which
    no other entry may repeat."""
    data, label, seen = _read(file), next(iter(record)), set()
    if not isinstance(data, list):
        raise DemoDataError(f"{DATA_DIR / file}: expected a list of entries")
    for number, entry in enumerate(data, start=1):
        name = entry.get(label) if isinstance(entry, dict) else None
        where = f"{DATA_DIR / file}, entry {number}" + (f" ({label} {name!r})" if name else "")
        _check(entry, record, where)
        if entry[label] in seen:
            raise DemoDataError(f"{where}: another entry has the same {label}")
        seen.add(entry[label])
    return data


def section(file: str, name: str, kind: Kind) -> Any:
    """The value under `name` in ``data/<file>``, a mapping of sections."""
    data = _read(file)
    if not isinstance(data, dict) or name not in data:
        raise DemoDataError(f"{DATA_DIR / file}: section {name!r} is missing")
    _check(data[name], kind, f"{DATA_DIR / file}, {name}")
    return data[name]
