"""Periodic jobs of participation, registered in ParticipationConfig.ready with
``civitas.kit.scheduler.register(name, seconds, "civitas.participation.tasks.<job>")``.

Tasks need none: a task whose time window has passed drops off the public lists at once (the
selectors compare with the clock) and stays with its publisher until closed or cancelled.
"""

from __future__ import annotations
