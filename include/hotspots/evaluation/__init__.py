"""Testing, the third T: the built-in evaluation of hot-spot patrol (issue 17)."""
