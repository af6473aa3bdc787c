"""Bulk roster import from .xlsx (seed 004 §3): validate first, then a background job streams the
workbook and upserts students in chunked transactions; progress in Redis, result in the DB."""
