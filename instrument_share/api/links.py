"""Operation ids and OpenAPI links of the public document, written in one place.

Every operation is named by its view function (`operationId`: `create_booking`,
`cancel_booking` …). A link says which value of an answer a client feeds into
which next call: the booking `POST /bookings` answers with is the `booking_id`
of `GET`/`PATCH /bookings/{booking_id}` and of its actions; the first item of a
list is one to act on; a 409 suggests the nearest free time to book instead.
Clients and generated SDKs read them, and schemathesis follows them in the
stateful phase of tests/test_api_fuzz.py, which also checks that every link
names a real operation, real parameters and values its source answers with.

Each link is a component (`#/components/links/<subject>.<operationId>`) that
the answers below refer to; expressions are OpenAPI runtime expressions. A
link's `requestBody` is an object whose values are runtime expressions: the
fields a client copies into the target's body (the rest it fills in itself;
schemathesis merges them into the body it generates). `POST /tokens` has no
links: its token goes into the Authorization header, which OpenAPI leaves to
the security scheme rather than to parameters a link could fill.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from apispec import BasePlugin


@dataclass(frozen=True)
class Next:
    """One next call: the target operation, what fills its path parameters and
    body fields, and what it does. A value is a JSON pointer relative to the
    subject (`/id` is the subject's id) or a whole runtime expression (`$…`)."""

    operation_id: str
    description: str
    parameters: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Subject:
    """A thing some answers hold (at `pointer` in their body) and the calls that act on it."""

    pointer: str
    sources: tuple[tuple[str, int], ...]  # (operationId, status) of the answers holding it
    next: tuple[Next, ...]


def _booking_calls() -> tuple[Next, ...]:
    booking = {"booking_id": "/id"}
    return (
        Next("get_booking", "Read the booking", booking),
        Next("reschedule_booking", "Move the booking", booking),
        Next("cancel_booking", "Cancel the booking", booking),
        Next("approve_booking", "Managers: confirm the pending booking", booking),
        Next("reject_booking", "Managers: refuse the pending booking", booking),
        Next("check_in", "Mark the service as started", booking),
        Next("record_usage", "Managers: record the booked hours as the hours used", booking,
             body={"start": "/start", "end": "/end"}),
        Next("rate_booking", "Rate the completed service", booking),
        Next("booking_ics", "The booking as an iCalendar event", booking),
        Next("booking_receipt", "The service statement of the completed booking (PDF)", booking),
        Next("instrument_availability", "The booked instrument's free and busy time",
             {"instrument_id": "/instrument_id"}),
    )


def _instrument_calls() -> tuple[Next, ...]:
    instrument = {"instrument_id": "/id"}
    return (
        Next("get_instrument", "Read the instrument's full record", instrument),
        Next("update_instrument", "Managers: change the instrument", instrument),
        Next("instrument_availability", "The instrument's free and busy time", instrument),
        Next("put_opening_hours", "Managers: replace the weekly opening hours", instrument),
        Next("create_blackout", "Managers: block time on the instrument", instrument),
        Next("grant_qualification", "Managers: qualify a user to run the instrument", instrument),
        Next("list_qualifications", "Managers: who is qualified to run the instrument", instrument),
        Next("institution_schedule", "Managers: the schedule of the instrument's institution",
             {"institution_id": "/institution/id"}),
        Next("create_booking", "Book the instrument", body={"instrument_id": "/id"}),
    )


def _voucher_calls() -> tuple[Next, ...]:
    return (
        Next("revoke_voucher", "The issuing city's bureau: withdraw the rest of the voucher", {"voucher_id": "/id"}),
        Next("issue_voucher", "Grant the voucher's firm another voucher", body={"firm_id": "/firm/id"}),
        Next("create_booking", "The firm: book with the voucher", body={"voucher_id": "/id"}),
    )


def _claim_calls() -> tuple[Next, ...]:
    return (
        Next("decide_line", "The issuing city's bureau: decide the claim's first line",
             {"claim_id": "/id", "line_id": "/lines/0/id"}),
        Next("mark_paid", "The issuing city's bureau: record the payment", {"claim_id": "/id"}),
    )


def _order_calls() -> tuple[Next, ...]:
    order = {"order_id": "/id"}
    return (
        Next("get_order", "Read the order", order),
        Next("quote_order", "The institution's managers: quote a price and turnaround", order),
        Next("decline_order", "The institution's managers: decline the order", order),
        Next("accept_order", "The firm: accept the quote", order),
        Next("reject_order", "The firm: reject the quote", order),
        Next("withdraw_order", "The firm: withdraw the order", order),
        Next("receive_samples", "The institution's managers: the samples arrived", order),
        Next("upload_report", "The institution's managers: upload the report", order),
        Next("download_report", "Download the report", order),
        Next("rate_order", "The firm: rate the service and close the order", order),
    )


_BOOKING_ANSWERS = tuple((operation_id, 200) for operation_id in (
    "get_booking", "reschedule_booking", "cancel_booking", "approve_booking", "reject_booking",
    "check_in", "record_usage", "rate_booking"))

SUBJECTS: dict[str, Subject] = {
    "booking": Subject("", (("create_booking", 201), *_BOOKING_ANSWERS), _booking_calls()),
    "first_booking": Subject("/items/0", (("list_bookings", 200),), _booking_calls()),
    "instrument": Subject("", (("create_instrument", 201), ("get_instrument", 200), ("update_instrument", 200)),
                          _instrument_calls()),
    "first_instrument": Subject("/items/0", (("search_instruments", 200),), _instrument_calls()),
    "free_time": Subject("", (("instrument_availability", 200),), (
        Next("create_booking", "Book the first free interval (it may be longer than the instrument allows)",
             body={"instrument_id": "$request.path.instrument_id", "start": "/free/0/start",
                   "end": "/free/0/end"}),
    )),
    "suggestion": Subject("", (("create_booking", 409),), (
        Next("create_booking", "Book the nearest free time of the same length instead",
             body={"instrument_id": "$request.body#/instrument_id", "purpose": "$request.body#/purpose",
                   "start": "/suggestions/0/start", "end": "/suggestions/0/end"}),
    )),
    "qualification": Subject("", (("grant_qualification", 201),), (
        Next("revoke_qualification", "Managers: revoke the qualification", {"qualification_id": "/id"}),)),
    "first_qualification": Subject("/items/0", (("list_qualifications", 200),), (
        Next("revoke_qualification", "Managers: revoke the qualification", {"qualification_id": "/id"}),)),
    "blackout": Subject("", (("create_blackout", 201),), (
        Next("delete_blackout", "Managers: remove the blackout", {"blackout_id": "/id"}),
    )),
    "voucher": Subject("", (("issue_voucher", 201), ("revoke_voucher", 200)), _voucher_calls()),
    "first_voucher": Subject("/items/0", (("list_vouchers", 200),), _voucher_calls()),
    "invitation": Subject("", (("invite_colleague", 201),), (
        Next("withdraw_invitation", "The firm's administrator: withdraw the invitation", {"invitation_id": "/id"}),)),
    "first_invitation": Subject("/items/0", (("list_invitations", 200),), (
        Next("withdraw_invitation", "The firm's administrator: withdraw the invitation", {"invitation_id": "/id"}),)),
    "order": Subject("", (("submit_order", 201), ("get_order", 200)), _order_calls()),
    "first_order": Subject("/items/0", (("list_orders", 200),), _order_calls()),
    "member": Subject("/items/0", (("list_members", 200),), (
        Next("deactivate_member", "The firm's administrator: deactivate the first member listed",
             {"user_id": "/id"}),)),
    "claim": Subject("", (("file_claim", 201), ("decide_line", 200), ("mark_paid", 200)), _claim_calls()),
    "first_claim": Subject("/items/0", (("list_claims", 200),), _claim_calls()),
}


def _expression(subject: Subject, value: str) -> str:
    return value if value.startswith("$") else f"$response.body#{subject.pointer}{value}"


def link_components() -> dict[str, dict]:
    """`components.links`: one per subject and next call."""
    components = {}
    for name, subject in SUBJECTS.items():
        for call in subject.next:
            link = {"operationId": call.operation_id, "description": call.description}
            if call.parameters:
                link["parameters"] = {key: _expression(subject, value) for key, value in call.parameters.items()}
            if call.body:
                link["requestBody"] = {key: _expression(subject, value) for key, value in call.body.items()}
            components[f"{name}.{call.operation_id}"] = link
    return components


def _links_by_answer() -> dict[tuple[str, int], dict[str, str]]:
    """(operationId, status) → {link name: component name}."""
    answers: dict[tuple[str, int], dict[str, str]] = {}
    for name, subject in SUBJECTS.items():
        for source in subject.sources:
            links = answers.setdefault(source, {})
            for call in subject.next:
                link_name = call.operation_id if call.operation_id not in links else f"{name}.{call.operation_id}"
                links[link_name] = f"{name}.{call.operation_id}"
    return answers


class OperationLinks(BasePlugin):
    """Names every operation after its view function and adds the links of
    SUBJECTS to the answers that hold each subject."""

    def init_spec(self, spec):
        super().init_spec(spec)
        self.spec = spec
        self.answers = _links_by_answer()
        for name, component in link_components().items():
            spec.components.link(name, component)

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None:
            return
        operation_id = rule.endpoint.rpartition(".")[2]
        for operation in (operations or {}).values():
            operation["operationId"] = operation_id
            responses = operation.get("responses", {})
            for status in list(responses):
                links = self.answers.get((operation_id, int(status)))
                if not links:
                    continue
                response = responses[status]
                if isinstance(response, str):  # a shared component (409 Conflict): this answer's own copy
                    response = dict(self.spec.components.responses[response])
                    responses[status] = response
                response["links"] = dict(links)
