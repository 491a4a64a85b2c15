"""Google Cloud: OAuth2, GKE v1 and Compute v1."""
