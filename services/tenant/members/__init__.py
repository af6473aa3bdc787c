"""Memberships: which user holds which org role (org_admin, teacher, student, parent). Every
change publishes `member.added|role_changed|removed`, so auth revokes the user's sessions."""
