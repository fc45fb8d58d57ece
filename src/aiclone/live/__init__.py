"""Live events: the per-user Server-Sent Events stream, its credentials and its presence."""
