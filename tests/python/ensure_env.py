"""Makes the Python environment the interop tests compare against.

Usage: python3 tests/python/ensure_env.py DIR

Creates a virtual environment in DIR holding exactly the packages pinned in
requirements.txt beside this script, unless DIR already holds one made from
the same file, and prints the path of its Python interpreter. The tests,
the benchmarks and .ci/run all call this script, so there is one mechanism
and one list of versions. Concurrent callers (test binaries run in parallel)
wait on a lock file instead of installing twice.
"""

import fcntl
import os
import pathlib
import subprocess
import sys
import venv

HERE = pathlib.Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"


def interpreter(env: pathlib.Path) -> pathlib.Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure(env: pathlib.Path) -> pathlib.Path:
    wanted = REQUIREMENTS.read_text()
    stamp = env / "requirements.installed"
    env.parent.mkdir(parents=True, exist_ok=True)
    with open(str(env) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == wanted:
            return interpreter(env)
        print(
            f"setting up the test Python environment in {env} "
            f"(first run only: downloads the packages of {REQUIREMENTS.name})",
            file=sys.stderr,
        )
        venv.EnvBuilder(clear=True, with_pip=True).create(env)
        subprocess.run(
            [
                str(interpreter(env)), "-m", "pip", "install", "--quiet",
                "--disable-pip-version-check", "-r", str(REQUIREMENTS),
            ],
            check=True,
            stdout=sys.stderr,
        )
        # Written last: an interrupted install is redone on the next call.
        stamp.write_text(wanted)
        return interpreter(env)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(ensure(pathlib.Path(sys.argv[1]).resolve()))
