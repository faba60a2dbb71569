"""Persistence adapters: PynamoDB models, table definitions and the unit of work."""
