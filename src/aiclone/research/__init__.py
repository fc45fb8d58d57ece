"""Research tasks: queued research on URLs, keywords or a profile, run by pluggable engines."""
