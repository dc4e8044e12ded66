"""General helpers every room may use; they import nothing of ours but each other (atomic file
writes, the data folder's layout, the nine labels, library noise, torch threads, day folders)."""
