"""Diagnostics: whether a mesh probe's event (`diagnostics.probe.recorded`) reached K-Zone."""
