"""Resource recommendations from expected or observed load."""
