"""Question categories: a self-referencing tree per org (and zone-shared trees, org_id NULL),
linked N:M to questions. Moves never make a cycle."""
