"""The K-content catalogue (`kzone.kzone_contents`): CRUD and search by title and tag."""
