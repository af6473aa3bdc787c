"""The mesh probe SREs use to check edge -> exam -> tenant (gRPC) -> event -> kzone in one trace."""
