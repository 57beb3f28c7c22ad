"""The reads that feed a plan or verify a run: membership snapshots and address lookups."""
