# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig users for GKE: an OAuth2 access token of the connection's credentials, or the
``gke-gcloud-auth-plugin`` exec entry."""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

EXEC_INSTALL_HINT = (
    "Install gke-gcloud-auth-plugin for use with kubectl by following "
    "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin"
)


def kube_user(conn, mode="token"):
    """The kubeconfig ``user`` entry: an OAuth2 access token of ``conn``'s credentials
    (``token``), or the ``gke-gcloud-auth-plugin`` exec entry (``exec``)."""
    if mode == "token":
        return {"token": conn.access_token()}
    if mode == "exec":
        return {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "gke-gcloud-auth-plugin",
                "installHint": EXEC_INSTALL_HINT,
                "provideClusterInfo": True,
                "interactiveMode": "Never",
            }
        }
    raise ValidationError("kubeconfig.auth", f"expected token or exec, got {mode!r}")
