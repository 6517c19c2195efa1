"""Typical travel between the corridor's cities (travel_minutes.csv: an
estimate between city centres, shipped as data a deployment may replace;
the pages say so wherever a time is shown)."""
from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

TRAVEL_FILE = Path(__file__).with_name("travel_minutes.csv")


@cache
def travel_table() -> dict[str, dict[str, int]]:
    """minutes[from city][to city]; 0 within a city."""
    with TRAVEL_FILE.open(encoding="utf-8") as stream:
        rows = list(csv.reader(line for line in stream if not line.startswith("#")))
    header, *lines = rows
    cities = header[1:]
    table = {line[0]: {to: int(minutes) for to, minutes in zip(cities, line[1:], strict=True)} for line in lines}
    for origin, row in table.items():
        assert row[origin] == 0 and set(row) == set(table), f"{TRAVEL_FILE}: row {origin} is not complete"
    return table


def travel_minutes(origin: str | None, destination: str) -> int | None:
    """Typical minutes from `origin`'s city centre to `destination`'s, or None
    without an origin (or for a city the table does not know)."""
    if origin is None:
        return None
    return travel_table().get(origin, {}).get(destination)
