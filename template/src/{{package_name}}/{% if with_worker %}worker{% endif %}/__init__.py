"""Background work on Redis: the connection factory, the Dramatiq broker and actors, `worker`."""
