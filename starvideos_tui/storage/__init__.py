"""The watchlist on disk: a base file and a journal of changes, locked and fsynced."""
