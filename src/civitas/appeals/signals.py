"""Signals other layers listen to without the appeals layer knowing them.

``case_moved`` is sent by ``workflow.transition`` inside the transaction that moved the case,
after the timeline event and the audit entry are written: a receiver that writes rows (an
outbound handoff, say) commits or rolls back with the move itself.
"""

from __future__ import annotations

from django.dispatch import Signal

# sender=Appeal, appeal=<locked Appeal>, action=str, public=bool, note=str
case_moved = Signal()
