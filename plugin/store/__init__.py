"""Storage (an edge, like the API): issued CDS cards, radiologists' feedback and seen JWT ids, in one SQL database.

SQLAlchemy Core over a SQLite file by default, PostgreSQL when DDX_DATABASE_URL names one; the schema is versioned by
Alembic migrations (plugin/store/migrations/) applied at start-up. No web framework here.
"""
