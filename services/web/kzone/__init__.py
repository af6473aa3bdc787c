"""K-Zone pages (app. host of my-ktube.com / my-ktube.ai): a student's voice and dance studio and the tutor."""
