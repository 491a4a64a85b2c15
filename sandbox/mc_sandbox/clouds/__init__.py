"""One package per emulated cloud: its authentication, API handlers and models."""
