"""Taking an exam: start, answer, resume, submit."""
