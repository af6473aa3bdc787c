"""Retrieval over question embeddings (pgvector): similar questions a player has not seen, and
grounded explanations that cite the questions they draw on."""
