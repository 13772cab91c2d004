"""Jurisdictions, their boundaries, locate() and the gazetteer."""
