"""`bakery release`: move legacy, compatibility and release tags onto verified digests."""
