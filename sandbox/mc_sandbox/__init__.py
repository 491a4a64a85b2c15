"""Local rehearsal clouds for multicloud.fabric: emulated cloud APIs and real Kubernetes."""
