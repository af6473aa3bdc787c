"""One moderation pipeline for classroom chat and nicknames: text folding against evasions
(normalize.py), the compiled word-list filter (filter.py), nickname rules (nicknames.py) and
each org's own word list over HTTP (routes.py / service.py), cached per process."""
