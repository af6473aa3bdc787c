"""Student reports: a student's exam results for the student, an approved parent, or staff."""
