"""Real Kubernetes control planes: per-cluster PKI, the control-plane processes, the API proxy that
faults cut, the token webhook and the Service load balancers."""
