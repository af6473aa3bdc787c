"""gRPC (grpc.aio): server bootstrap with health/reflection/interceptors, client channels."""
