"""Offline stand-in for pip's ``get-pip.py`` bootstrap script.

ansible-test creates each sanity-test virtual environment without pip and then runs
``get-pip.py <pip install arguments>``, which it downloads from a host outside the package
registries. This stand-in does the same job with what every CPython carries: ``ensurepip``
installs the bundled pip, which then installs the pip version ansible-test asked for from the
package index. scripts/sanity.sh puts it where ansible-test looks for its cached copy.
"""

import subprocess
import sys

# Options of get-pip.py itself, not of `pip install`.
OWN_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main():
    args = [arg for arg in sys.argv[1:] if arg not in OWN_OPTIONS]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", *args])


if __name__ == "__main__":
    main()
