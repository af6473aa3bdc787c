"""Benchmarks behind `make bench`; each writes its section of bench/REPORT.md."""
