"""Azure: Entra ID and Azure Resource Manager (AKS, networking)."""
