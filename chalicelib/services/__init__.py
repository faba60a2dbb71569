"""Use cases: each reads what it needs, decides, and commits one unit of work."""
