"""The small test harness shared by the conformance scripts: registration, checks and a runner
that reports every test and exits non-zero when any failed."""

import sys
import traceback

TESTS = []


def test(fn):
    """Registers a test; tests run in the order they are defined."""
    TESTS.append(fn)
    return fn


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def equal(actual, expected, what):
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def main(script, url):
    """Runs every registered test against `url`; prints one line per test and a summary."""
    if not url:
        print(f"usage: {script} <emulator url>", file=sys.stderr)
        return 2
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
            print(f"ok     {fn.__name__}")
        except Exception:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"FAILED {fn.__name__}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
