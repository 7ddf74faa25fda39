"""CDS Hooks: conformance, feedback storage on SQLite and PostgreSQL, durability and the shared replay store."""
