"""Units, people, roles, memberships, API keys, the responsibility list and access scoping."""
