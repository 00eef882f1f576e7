"""Agent configurations: the registry of HiAgent agents this product may call."""
