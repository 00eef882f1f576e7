"""What the update matrix does to a product: typical edits, a knowledge-base module, SQL."""
