"""Routing appeals to the unit that must act, from the responsibility list and the place."""
