# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: cluster_name
short_description: The name of a deployment's cluster in one cloud
version_added: 0.1.0
description:
  - The cluster name the bootstrap role gives a host's cluster unless the host sets
    C(bootstrap_cluster_name), C(<deployment>-<cloud>); the C(topology_errors) filter checks
    clusters under the same names.
author:
  - multicloud.fabric contributors (@multicloud-fabric)
positional: _input, deployment
options:
  _input:
    description: The cloud of the cluster (V(aws), V(gcp), V(azure)).
    type: str
    required: true
  deployment:
    description: The deployment's name (host variable C(mc_deployment)); V(fabric) when not set.
    type: str
"""

EXAMPLES = r"""
- name: The cluster of this host
  ansible.builtin.debug:
    msg: "{{ mc_cloud | multicloud.fabric.cluster_name(mc_deployment | default(none)) }}"
"""

RETURN = r"""
_value:
  description: The cluster name, for example V(fabric-aws).
  type: str
"""

from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.spec import cluster_name


class FilterModule:
    def filters(self):
        return {"cluster_name": cluster_name}
