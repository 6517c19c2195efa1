"""How a booking is paid for (issue #14: the vouchers package sits above
booking, so booking names what it needs and create_app installs it).

Booking decides when money moves: a voucher's share of the fee is held when
the booking is made, given back on cancel, move, rejection or no-show, and
spent on use. The voucher ledger (vouchers/services.py) decides how, in the
same transaction and under the same locks, and is the one implementation:
`app.extensions[PAYMENT]` is that module. The firm pays the rest."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from flask import current_app

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..catalogue.models import Instrument
    from .models import Booking

PAYMENT = "instrument_share.payment"


class Payment(Protocol):
    """The voucher operations a booking calls; each one's rule is stated where
    it is implemented."""

    def usable_voucher(self, user: User, voucher_id: int, instrument: Instrument, last_day: date) -> Any: ...
    def spendable_vouchers(self, user: User, instrument: Instrument) -> list[Any]: ...
    def locked_for_spending(self, voucher_id: int, last_day: date) -> Any: ...
    def parts_of(self, voucher: Any, fees: list[Decimal]) -> list[Decimal]: ...
    def hold(self, voucher: Any, bookings: list[Booking], actor: User) -> Decimal: ...
    def release(self, bookings: list[Booking], actor: User | None) -> None: ...
    def capture(self, booking: Booking, actor: User | None) -> None: ...


def payment() -> Payment:
    """The app's payment (vouchers.services, installed by create_app)."""
    return current_app.extensions[PAYMENT]
