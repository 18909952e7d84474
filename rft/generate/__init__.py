"""`rft generate`: step-by-step search with validator ranking and recorded backtracking."""
