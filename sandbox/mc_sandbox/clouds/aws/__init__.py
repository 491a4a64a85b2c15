"""AWS: moto extended with EKS behaviour and EKS authentication."""
