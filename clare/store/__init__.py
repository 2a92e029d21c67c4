"""SQLite stores: the events DB (truth, the writer's) and the views DB (the projector's)."""
