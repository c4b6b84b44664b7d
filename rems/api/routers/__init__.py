"""One router per role; each route translates its input into one service call."""
