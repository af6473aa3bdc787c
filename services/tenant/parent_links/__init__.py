"""Parent–student links (seed 001 §3.2.5): a parent asks by the student's email, the student (or
an org admin) approves or rejects, either side or an org admin revokes. Only an APPROVED link
lets a parent see the student (roster reads; `CheckParentLink` for exam reports)."""
