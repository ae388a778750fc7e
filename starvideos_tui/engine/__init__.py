"""The engine: records, the poll loop, the download queue; events to one callback."""
