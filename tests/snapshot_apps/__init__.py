"""The apps the snapshot tests picture (tests/test_snapshots.py): a fixed watchlist, a
frozen clock, a simulator that answers every poll with a canned body."""
