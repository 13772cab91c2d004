"""The matters catalogue: what residents appeal about, with deadlines and responsible types."""
