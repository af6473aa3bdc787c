"""Teacher pages on the app. host (`/teach…`): classes and rosters, roster import, item banks,
exams and analytics. Page shells only: the browser calls tenant's and exam's public APIs."""
