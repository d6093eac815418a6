"""Statistics (DESIGN §8): queries that return select()s, and synthetic data to try them on."""
