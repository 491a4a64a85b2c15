# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # AWS credentials and endpoint. Matches AWS_OPTIONS in plugins/module_utils/common/args.py.
    DOCUMENTATION = r"""
options:
  aws_access_key:
    description:
      - AWS access key ID.
      - If not set, the environment variable E(AWS_ACCESS_KEY_ID) is used, then the profile and
        the rest of the standard AWS credential chain (instance/container roles, SSO).
    type: str
  aws_secret_key:
    description:
      - AWS secret access key. Never logged or returned.
      - If not set, the environment variable E(AWS_SECRET_ACCESS_KEY) is used.
    type: str
  aws_session_token:
    description:
      - Session token for temporary credentials. Never logged or returned.
      - If not set, the environment variables E(AWS_SESSION_TOKEN) and E(AWS_SECURITY_TOKEN) (what
        Automation Controller's Amazon Web Services credential sets as well) are tried in that order.
    type: str
  aws_profile:
    description:
      - Named profile from the AWS shared config and credentials files.
      - If not set, the environment variable E(AWS_PROFILE) is used.
      - Mutually exclusive in practice with O(aws_access_key)/O(aws_secret_key); explicit keys win.
    type: str
  aws_endpoint_url:
    description:
      - URL that replaces every AWS service endpoint, for example a private endpoint, an
        emulator or the collection's local sandbox.
      - If not set, the environment variable E(AWS_ENDPOINT_URL) is used.
    type: str
  aws_ca_bundle:
    description:
      - PEM file of certificate authorities to trust for the AWS endpoints.
      - If not set, the environment variable E(AWS_CA_BUNDLE) is used.
    type: path
requirements:
  - python >= 3.11
  - boto3 >= 1.34.0
  - botocore >= 1.34.0
"""
