"""EKS on top of moto: models (state, shapes) and responses (the API handlers)."""
