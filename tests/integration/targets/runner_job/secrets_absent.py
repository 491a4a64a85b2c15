"""No secret of the sandbox in any file under the given directories (job events, stdout, the
artifacts ansible-runner keeps): the AWS secret key, the Azure client secret, the Cloudflare API
token, the sandbox's admin token and the GCP service account's private key.

    python3 secrets_absent.py <endpoints.yml> <dir> [<dir> ...]
"""

from __future__ import annotations

import json
import pathlib
import sys

import yaml


def secrets(endpoints: dict) -> dict[str, str]:
    found = {
        "aws.secret_key": endpoints["aws"]["secret_key"],
        "azure.client_secret": endpoints["azure"]["client_secret"],
        "cloudflare.api_token": endpoints["cloudflare"]["api_token"],
        "admin_token": endpoints["admin_token"],
    }
    key = json.loads(pathlib.Path(endpoints["gcp"]["service_account_file"]).read_text())["private_key"]
    # Any line of the PEM body (64 characters) would do; the longest is enough to find a copy.
    found["gcp private key"] = max(key.splitlines(), key=len)
    return found


def main() -> None:
    endpoints = yaml.safe_load(pathlib.Path(sys.argv[1]).read_text())
    wanted = secrets(endpoints)
    assert all(len(value) >= 20 for value in wanted.values()), "a secret too short to look for"
    files = [p for directory in sys.argv[2:] for p in pathlib.Path(directory).rglob("*") if p.is_file()]
    assert files, sys.argv[2:]
    leaks = []
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        leaks += [
            f"{name} in {path}" for name, value in wanted.items() if value in text or json.dumps(value)[1:-1] in text
        ]
    print(f"secrets: {len(wanted)} looked for in {len(files)} files, {len(leaks)} found")
    assert not leaks, leaks


if __name__ == "__main__":
    main()
