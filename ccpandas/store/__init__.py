"""Storage: the run journal, membership snapshot pages, their codec, batch records, locks.

SQLite files in the data folder; it imports nothing from ``read`` or ``run`` above it.
"""
