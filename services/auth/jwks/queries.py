"""No SQL of its own: the signing keys (`auth.signing_keys`) are read and rotated by
`services.auth.keys`, whose `KeyRing` every replica keeps in memory and re-reads on a timer; the
JWKS is served from that ring."""
