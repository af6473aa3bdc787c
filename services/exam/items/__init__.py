"""Items: authoring, listing, changing and retiring the items of a bank."""
