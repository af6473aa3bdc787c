"""The question bank: multiple choice, short answer and free text questions of an org or shared
with the whole zone; CRUD, CSV/xlsx import, MiniLM embeddings and duplicate detection."""
