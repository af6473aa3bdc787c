"""Student records of an org's roster: name, grade, class, parent phone (optionally email and
the auth user). Deleting is soft; a parent sees only the students it holds an approved link to."""
