"""Request bodies of the API: JSON read strictly, in one place.

Python's json module accepts what the API must refuse and fails on some of
it with exceptions webargs does not expect (a 500): nesting deep enough to
exhaust the recursion limit, integers past the int-string limit (4,300
digits), NaN and Infinity, numbers that overflow to infinity (1e999), and
strings holding lone surrogates (`"\\ud800"`, not Unicode: no database or
encoder takes them). `loads` refuses each with `BadJson` and a message that
says what was wrong; the API answers 400 `bad_request` and changes nothing.
NUL and other control characters are valid JSON: the text fields refuse
them (422, the field named; see text.py).

Every /api/v1 blueprint is a `Blueprint` of this module, whose parser reads
bodies with `loads`; the app's JSON provider (`request.get_json()`) uses it
too.
"""
from __future__ import annotations

import json
import math
import re

import flask_smorest
from flask import abort
from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

MAX_DEPTH = 32
MAX_NUMBER_LENGTH = 100
NOT_JSON = "The request body is not valid JSON."

_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class BadJson(ValueError):
    """A body the API does not read; the message says why."""


def _check_depth(text: str) -> None:
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise BadJson(f"The request body is nested more than {MAX_DEPTH} levels deep.")
        elif token in "]}":
            depth -= 1


def _number_text(text: str) -> None:
    if len(text) > MAX_NUMBER_LENGTH:
        raise BadJson(f"The request body holds a number longer than {MAX_NUMBER_LENGTH} characters.")


def _int(text: str) -> int:
    _number_text(text)
    return int(text)


def _float(text: str) -> float:
    _number_text(text)
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"The request body holds a number too large to represent ({text[:20]}).")
    return value


def _constant(name: str):
    raise BadJson(f"The request body holds {name}, which is not a JSON number.")


def _check_strings(value) -> None:
    """No lone surrogate in any key or string (iterative: depth is already bounded)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings = (item,)
        elif isinstance(item, dict):
            strings = item.keys()
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for text in strings:
            if _SURROGATE.search(text):
                raise BadJson("The request body holds a lone surrogate (such as \\ud800), "
                              "which is not valid Unicode text.")


def loads(data: str | bytes | bytearray, **kwargs):
    """The JSON value of a request body; raises BadJson. `kwargs` go to
    json.loads (object_hook and the like, from Flask's own callers)."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise BadJson(NOT_JSON) from None
    _check_depth(data)
    try:
        value = json.loads(data, parse_int=_int, parse_float=_float, parse_constant=_constant, **kwargs)
    except json.JSONDecodeError:
        raise BadJson(NOT_JSON) from None
    _check_strings(value)
    return value


class StrictParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with `loads`."""

    def load_json(self, req, schema):
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            return core.missing  # as webargs: no body is a missing body
        try:
            return loads(data)
        except BadJson as error:
            abort(400, description=str(error))


class Blueprint(flask_smorest.Blueprint):
    """Every /api/v1 blueprint: flask-smorest's, with the strict body parser."""

    ARGUMENTS_PARSER = StrictParser()


class JSONProvider(DefaultJSONProvider):
    """The app's JSON: `request.get_json()` reads as strictly as the API."""

    def loads(self, s, **kwargs):
        return loads(s, **kwargs)
