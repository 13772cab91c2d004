"""Pages: base templates, static files, and pages that compose several domains."""
