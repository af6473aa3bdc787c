"""The wrong-answer notebook (`user_problem_banks`): a player's bookmarks and wrong answers with
the AI feedback, and the questions a practice match draws from it."""
