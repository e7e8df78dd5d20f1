"""Check suites: one pytest file per program family (see harness/checks.py)."""
