"""Identity for every service: access-token claims, local verification (cached JWKS, Redis
denylist), the role -> permission map, and the FastAPI dependencies that enforce them."""
from megacity.auth.permissions import ROLE_PERMISSIONS, allows, permissions_for
from megacity.auth.tokens import Principal

__all__ = ["ROLE_PERMISSIONS", "Principal", "allows", "permissions_for"]
