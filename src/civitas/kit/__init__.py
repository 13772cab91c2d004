"""Building blocks with no domain knowledge: configuration, errors, clock, audit chain."""
