"""Shared code every MegaCity service imports: settings, zones, db+RLS, gRPC, events, Redis keys, telemetry."""
