"""Diagnostics: the mesh probe (`RecordMeshProbe` over gRPC only, hence no routes.py or
schemas.py): an entry service records that a traced call reached tenant."""
