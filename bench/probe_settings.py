"""Civitas settings plus the probe app (bench/probe.py): its periodic job for the fault run."""

from civitas.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "probe.ProbeConfig"]  # noqa: F405
