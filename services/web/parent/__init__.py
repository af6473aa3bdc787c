"""Parent pages on app.<domain>: link requests, linked children and a child's report."""
