#!/usr/bin/env python3
"""Runs backoff policies through the real python-backoff library on a fake clock.

Reads {"cases": [...]} as JSON on stdin and writes {"version": ..., "results": [...]}
as JSON on stdout. Each case is run with backoff.on_exception or backoff.on_predicate on
a target whose calls take no time; the library's clock and sleep are replaced by a fake
clock (sleep advances it, and returns at once), so nothing sleeps for real. Each result
is the trace: every call (tries, time, args), every handler call with its details, the
raw waits the generator yielded, whether it ran out, the outcome and the total time.

Units are python-backoff's: seconds. See python.test.ts for the case format.
"""
import json
import math
import sys
import time as real_time
import types

import backoff
import backoff._sync as _sync

try:  # python-backoff >= 2.3 keeps the loop state (and its clock) in _common
    import backoff._common as _common
except ImportError:  # pragma: no cover
    _common = None


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self):
        return self.now


CLOCK = FakeClock()


def install_fake_clock():
    """Replaces every clock python-backoff reads and its sleep, whatever its release.

    2.2.x: elapsed is timedelta.total_seconds(datetime.datetime.now() - start) and the
    sleep is time.sleep (in backoff._sync). 2.3+: time.monotonic() and time.sleep. The
    timedelta is replaced too, so elapsed is the exact float sum of the sleeps (a real
    timedelta would round it to microseconds).
    """
    fake_time = types.SimpleNamespace(
        sleep=lambda s: CLOCK.sleep(s),
        monotonic=lambda: CLOCK.monotonic(),
        time=lambda: CLOCK.monotonic(),
        perf_counter=lambda: CLOCK.monotonic(),
    )
    fake_datetime = types.SimpleNamespace(
        datetime=types.SimpleNamespace(now=lambda *a, **k: CLOCK.now)
    )
    fake_timedelta = types.SimpleNamespace(total_seconds=lambda x: x)
    for module in (_sync, _common):
        if module is None:
            continue
        if hasattr(module, "time"):
            module.time = fake_time
        if hasattr(module, "datetime"):
            module.datetime = fake_datetime
        if hasattr(module, "timedelta"):
            module.timedelta = fake_timedelta
        for name in ("monotonic", "sleep"):
            if hasattr(module, name):
                setattr(module, name, getattr(fake_time, name))


def decay_24(initial_value=1, decay_factor=1, min_value=None):
    """backoff.decay as python-backoff 2.4 defines it (backoff/_wait_gen.py), used only
    when the installed release has no decay (2.2.x)."""
    yield
    t = 0
    while True:
        a = initial_value * math.e ** (-t * decay_factor)
        if min_value is None or a > min_value:
            yield a
            t += 1
        else:
            yield min_value


DECAY = getattr(backoff, "decay", None) or decay_24


class ErrA(Exception):
    def __init__(self, code):
        super().__init__("A%d" % code)
        self.code = code


class ErrB(Exception):
    def __init__(self, code):
        super().__init__("B%d" % code)
        self.code = code


ERRORS = {"ErrA": ErrA, "ErrB": ErrB}


class CallLimit(BaseException):
    """Raised by the target after the case's call limit: not an Exception, never retried."""


def error_json(e):
    return {"type": type(e).__name__, "code": e.code}


def value_json(v):
    return v


def recording_generator(gen_fn, state):
    """Wraps a wait generator so the raw waits (before jitter) and its end are recorded."""

    def wrapper(**kwargs):
        inner = gen_fn(**kwargs)
        inner.send(None)
        sent = yield
        while True:
            try:
                value = inner.send(sent)
            except StopIteration:
                state["exhausted"] = True
                return
            state["raw_waits"].append(value)
            sent = yield value

    return wrapper


def maybe_runtime(flag, value):
    # python-backoff calls a callable max_tries / max_time / generator argument at run time
    return (lambda: value) if flag else value


def build_wait(case, kwargs):
    w = case["wait"]
    rt = case.get("waitRuntime", False)
    kind = w["kind"]
    if kind == "expo":
        kwargs["base"] = maybe_runtime(rt, w["base"])
        kwargs["factor"] = maybe_runtime(rt, w["factor"])
        if w.get("maxValue") is not None:
            kwargs["max_value"] = maybe_runtime(rt, w["maxValue"])
        return backoff.expo
    if kind == "fibo":
        if w.get("maxValue") is not None:
            kwargs["max_value"] = maybe_runtime(rt, w["maxValue"])
        return backoff.fibo
    if kind == "constant":
        kwargs["interval"] = maybe_runtime(rt, w["interval"])
        return backoff.constant
    if kind == "decay":
        kwargs["initial_value"] = maybe_runtime(rt, w["initialValue"])
        kwargs["decay_factor"] = maybe_runtime(rt, w["decayFactor"])
        if w.get("minValue") is not None:
            kwargs["min_value"] = maybe_runtime(rt, w["minValue"])
        return DECAY
    if kind == "runtime":
        scale = w["scale"]
        if case["mode"] == "exception":
            kwargs["value"] = lambda e: e.code * scale
        else:
            kwargs["value"] = lambda v: (v or 0) * scale
        return backoff.runtime
    raise ValueError("unknown wait kind %r" % kind)


JITTERS = {
    "none": None,
    "half": lambda v: v * 0.5,
    "plus": lambda v: v + 0.25,
}


def build_giveup(spec):
    if spec is None:
        return lambda e: False
    if spec["kind"] == "codeAtLeast":
        return lambda e: e.code >= spec["n"]
    if spec["kind"] == "codeEquals":
        return lambda e: e.code == spec["n"]
    raise ValueError(spec)


def build_predicate(spec):
    if spec == "falsy":
        return None  # python-backoff's default, operator.not_
    if spec["kind"] == "lessThan":
        return lambda v: v < spec["n"]
    if spec["kind"] == "even":
        return lambda v: v % 2 == 0
    raise ValueError(spec)


def build_exception(spec):
    if spec == "any":
        return Exception
    if isinstance(spec, list):
        return tuple(ERRORS[name] for name in spec)
    return ERRORS[spec]


def run_case(case):
    CLOCK.now = 0.0
    CLOCK.sleeps = []
    state = {"raw_waits": [], "exhausted": False}
    calls = []
    events = []
    script = case["script"]
    limit = case.get("callLimit", 2000)

    def call(*args):
        n = len(calls)
        if n >= limit:
            raise CallLimit()
        calls.append({"tries": n + 1, "at": CLOCK.now, "args": list(args)})
        step = script[min(n, len(script) - 1)]
        if isinstance(step, dict) and "raise" in step:
            raise ERRORS[step["raise"]["type"]](step["raise"]["code"])
        if isinstance(step, dict) and "return" in step:
            return step["return"]
        return step

    def handler(event, index):
        def record(details):
            entry = {
                "event": event,
                "handler": index,
                "keys": sorted(k for k in details if k != "kwargs"),
                "target": details["target"].__name__,
                "args": list(details["args"]),
                "tries": details["tries"],
                "elapsed": details["elapsed"],
                "at": CLOCK.now,
            }
            if "wait" in details:
                entry["wait"] = details["wait"]
            if "value" in details:
                entry["value"] = value_json(details["value"])
            if "exception" in details:
                entry["exception"] = error_json(details["exception"])
            events.append(entry)

        return record

    def handlers(event):
        count = case["handlers"][event]
        if count == 0:
            return None
        if count == 1:
            return handler(event, 0)
        return [handler(event, i) for i in range(count)]

    kwargs = {}
    wait_gen = recording_generator(build_wait(case, kwargs), state)
    common = dict(
        max_tries=maybe_runtime(case.get("maxTriesRuntime", False), case["maxTries"]),
        max_time=maybe_runtime(case.get("maxTimeRuntime", False), case["maxTime"]),
        jitter=JITTERS[case["jitter"]],
        on_success=handlers("success"),
        on_backoff=handlers("backoff"),
        on_giveup=handlers("giveup"),
        logger=None,
    )
    if case["mode"] == "exception":
        decorate = backoff.on_exception(
            wait_gen,
            build_exception(case["exception"]),
            giveup=build_giveup(case.get("giveup")),
            raise_on_giveup=case.get("raiseOnGiveup", True),
            **common,
            **kwargs,
        )
    else:
        predicate = build_predicate(case["predicate"])
        if predicate is None:
            decorate = backoff.on_predicate(wait_gen, **common, **kwargs)
        else:
            decorate = backoff.on_predicate(wait_gen, predicate, **common, **kwargs)

    target = decorate(call)
    try:
        ret = target(*case.get("args", []))
        outcome = {"none": True} if ret is None and case["mode"] == "exception" else {"return": value_json(ret)}
    except CallLimit:
        outcome = {"cutoff": True}
    except (ErrA, ErrB) as e:
        outcome = {"raise": error_json(e)}
    return {
        "id": case["id"],
        "calls": calls,
        "events": events,
        "sleeps": CLOCK.sleeps,
        "rawWaits": state["raw_waits"],
        "exhausted": state["exhausted"],
        "outcome": outcome,
        "total": CLOCK.now,
    }


def self_check():
    """The fake clock must be in place: 3 tries of constant(1 s) is 2 fake seconds, no real ones."""
    started = real_time.perf_counter()
    CLOCK.now = 0.0

    @backoff.on_predicate(backoff.constant, interval=1, max_tries=3, jitter=None, logger=None)
    def never():
        return False

    never()
    if CLOCK.now != 2 or real_time.perf_counter() - started > 0.5:
        raise RuntimeError("could not install the fake clock into python-backoff %s" % backoff.__version__)


def main():
    install_fake_clock()
    self_check()
    cases = json.load(sys.stdin)["cases"]
    results = []
    for case in cases:
        try:
            results.append(run_case(case))
        except Exception as e:  # a bug in the case or in this script: report it, keep going
            results.append({"id": case.get("id"), "error": "%s: %s" % (type(e).__name__, e)})
    json.dump(
        {
            "version": backoff.__version__,
            "python": sys.version.split()[0],
            "decay": "library" if getattr(backoff, "decay", None) else "ported from python-backoff 2.4",
            "results": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
