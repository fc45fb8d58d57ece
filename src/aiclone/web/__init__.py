"""HTTP plumbing around the routes: client address, request ids, security headers, access logs,
metrics, compression and the edge stack that puts them in front of the app."""
