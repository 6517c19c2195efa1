"""Who may see which statistics (the scope of every figure is
accounts.policy.stats_scope; see accounts/policy.py for the layer).

Decided: the flow matrix follows the same scope as every other figure, on
the dashboard as in the API (the dashboard used to hide it from managers
while /api/v1/stats/flows served it): a manager sees which cities' firms
use the institution's instruments, a bureau every flow its city takes part
in, the joint office the corridor's.
"""
from __future__ import annotations

from ..accounts.models import User
from ..accounts.policy import can_see_statistics


def can_see_flows(user: User) -> bool:
    """The flow matrix: whoever sees statistics, within their scope (see above)."""
    return can_see_statistics(user)
