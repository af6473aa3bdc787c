"""Bulk item import from CSV or .xlsx with a per-row error report."""
