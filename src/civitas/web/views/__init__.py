"""Pages. Each view parses input, calls one selector or service, and renders."""
