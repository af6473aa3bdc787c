"""The org's problem bank for live sessions: shared and class-specific vocabulary, proverb and math
problems (CRUD, CSV/xlsx import) and the answer checking the cards use (`checking`). The live
session reads it through `queries.pick_problems` and `queries.get_problem`."""
