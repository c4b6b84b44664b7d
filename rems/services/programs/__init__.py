"""Programs as data at run time: lifecycle status, relaxations, views and diffs for the administrator."""
