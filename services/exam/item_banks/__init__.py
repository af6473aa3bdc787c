"""Item banks: named pools of items with a version and a scaling constant D."""
