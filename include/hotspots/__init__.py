"""Hot-spots patrol: harm-weighted hot-spot selection, GPS patrol dose and supervisor alerts."""

__version__ = "0.1.0"
