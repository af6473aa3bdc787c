"""The adaptive testing engine, free of I/O: IRT models, item bank arrays, ability estimators,
item selection, exposure rules, content balancing, stopping rules and the session step logic.

The gRPC service (`services.cat.grpc_api`) and the simulation/benchmark drive the same code.
"""
