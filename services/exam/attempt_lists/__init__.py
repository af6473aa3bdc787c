"""Teachers' and admins' view of one exam's attempts: `GET /api/v1/exams/{exam_id}/attempts`,
filtered by class and status (`not_started`: the class's students with no attempt), cursor
pages, each row with the student's name from auth. Teachers see only their assigned classes
(tenant's `ListTeacherClasses`), org admins the whole org."""
