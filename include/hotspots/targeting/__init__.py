"""Targeting you can defend: back-tests of the hot-spot rule, harm weights compared, the harm-prevented forecast,
the patrol dose under capacity and persistence classes (docs/targeting.md)."""
