"""The period of the statistics, as the API reads it: each refusal with
its field and reason, and the shortest and longest periods allowed
exactly (the refusals of make_period had only their status checked)."""
from __future__ import annotations

import pytest

MISSING = ["Missing data for required field."]


@pytest.mark.parametrize(("query", "message", "fields"), [
    ({}, "Some fields are not valid.", {"from": MISSING, "to": MISSING}),
    ({"from": "2026-09-28"}, "Some fields are not valid.", {"to": MISSING}),
    ({"from": "2026-10-04", "to": "2026-10-03"}, "The period is not valid.",
     {"to": ["The end must be after the start."]}),
    ({"from": "2024-10-01", "to": "2026-10-03"}, "The period is not valid.", {"to": ["At most two years at a time."]}),
])
def test_a_period_refused_names_its_field_and_says_why(api, make, query, message, fields):
    admin = api.as_user(make.user(role="admin"))
    response = admin.get("/api/v1/stats/utilisation", query_string={**query, "group_by": "city"})
    assert (response.status_code, response.json) == (422, {"error": "validation", "message": message,
                                                           "fields": fields})


def test_a_period_of_one_day_and_one_of_two_years_to_the_day_are_answered(api, make):
    """731 days apart (two years with a leap day) is the longest period; a
    single day the shortest."""
    admin = api.as_user(make.user(role="admin"))
    for first, last in (("2026-10-04", "2026-10-04"), ("2024-10-01", "2026-10-02")):
        response = admin.get("/api/v1/stats/utilisation", query_string={"from": first, "to": last, "group_by": "city"})
        assert response.status_code == 200, response.json
