"""The watchlist as a face holds it (storage/store.py's), named here so that no face
imports the storage itself (pyproject.toml's contract). Light on purpose: `list`, `add`
and `remove` import it and start in the time Python itself takes.
"""

from starvideos_tui.storage.store import Watchlist as Watchlist
from starvideos_tui.storage.store import WatchlistError as WatchlistError
