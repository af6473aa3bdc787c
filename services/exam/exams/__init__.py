"""Exams: draft -> published -> archived; fixed forms and adaptive (CAT) exams."""
