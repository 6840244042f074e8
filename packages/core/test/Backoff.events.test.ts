/**
 * Backoff: details, handlers and logging.
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Context, Duration, Effect, Exit, LogLevel, TestClock } from "effect"
import { defectOf, flaky, keysOf } from "./backoff-helpers.js"
import type { LogLine } from "./helpers.js"
import { captureLogs, HttpError, NetError, ParseError, runFor } from "./helpers.js"

describe("details", () => {
  it.effect("onException: exact key sets for success, backoff and giveup", () =>
    Effect.gen(function*() {
      const keys: Record<string, Array<ReadonlyArray<string>>> = { success: [], backoff: [], giveup: [] }
      const options = {
        wait: Wait.constant(),
        jitter: null,
        maxTries: 2,
        onSuccess: (d: Backoff.SuccessDetails<unknown>) => {
          keys.success!.push(keysOf(d))
        },
        onBackoff: (d: Backoff.BackoffDetails<unknown, unknown>) => {
          keys.backoff!.push(keysOf(d))
        },
        onGiveup: (d: Backoff.GiveupDetails<unknown, unknown>) => {
          keys.giveup!.push(keysOf(d))
        }
      }
      yield* runFor(flaky(1, "e", "ok", { calls: 0 }).pipe(Backoff.onException(options)))
      yield* runFor(Effect.fail("e").pipe(Backoff.onException(options)))
      expect(keys).toEqual({
        success: [["args", "elapsed", "target", "tries"]],
        backoff: [["args", "elapsed", "exception", "target", "tries", "wait"], [
          "args",
          "elapsed",
          "exception",
          "target",
          "tries",
          "wait"
        ]],
        giveup: [["args", "elapsed", "exception", "reason", "target", "tries"]]
      })
    }))

  it.effect("onPredicate: value on every event (success included, even when undefined); wait only on backoff", () =>
    Effect.gen(function*() {
      const seen: Array<{ event: string; keys: ReadonlyArray<string>; value: unknown }> = []
      const options = {
        wait: Wait.constant(),
        jitter: null,
        maxTries: 3,
        onSuccess: (d: Backoff.SuccessDetails<unknown>) => {
          seen.push({ event: "success", keys: keysOf(d), value: d.value })
        },
        onBackoff: (d: Backoff.BackoffDetails<unknown, never>) => {
          seen.push({ event: "backoff", keys: keysOf(d), value: d.value })
        },
        onGiveup: (d: Backoff.GiveupDetails<unknown, never>) => {
          seen.push({ event: "giveup", keys: keysOf(d), value: d.value })
        }
      }
      const values: ReadonlyArray<unknown> = [undefined, 0, 7]
      let i = 0
      yield* runFor(Effect.sync(() => values[i++]).pipe(Backoff.onPredicate(options)))
      let j = 0
      yield* runFor(Effect.sync(() => values[j++ % 2]).pipe(Backoff.onPredicate(options)))
      const success = ["args", "elapsed", "target", "tries", "value"]
      const backoff = ["args", "elapsed", "target", "tries", "value", "wait"]
      const giveup = ["args", "elapsed", "reason", "target", "tries", "value"]
      expect(seen).toEqual([
        { event: "backoff", keys: backoff, value: undefined },
        { event: "backoff", keys: backoff, value: 0 },
        { event: "success", keys: success, value: 7 },
        { event: "backoff", keys: backoff, value: undefined },
        { event: "backoff", keys: backoff, value: 0 },
        { event: "giveup", keys: giveup, value: undefined }
      ])
    }))

  it.effect("the Effect form has target \"effect\" and args []", () =>
    Effect.gen(function*() {
      const seen: Array<{ target: string; args: ReadonlyArray<unknown> }> = []
      yield* runFor(
        Effect.fail("e").pipe(Backoff.onException({
          wait: Wait.constant(),
          jitter: null,
          maxTries: 2,
          onBackoff: (d) => {
            seen.push({ target: d.target, args: d.args })
          },
          onGiveup: (d) => {
            seen.push({ target: d.target, args: d.args })
          }
        }))
      )
      expect(seen).toEqual([{ target: "effect", args: [] }, { target: "effect", args: [] }])
    }))

  it.effect("elapsed and wait match the TestClock (calls of 300ms)", () =>
    Effect.gen(function*() {
      const t0 = yield* Clock.currentTimeMillis
      const callStarts: Array<number> = []
      const events: Array<{ event: string; tries: number; elapsed: number; wait?: number; now: number }> = []
      const call = Effect.gen(function*() {
        callStarts.push((yield* Clock.currentTimeMillis) - t0)
        yield* Effect.sleep("300 millis")
        return yield* Effect.fail("e")
      })
      const retried = call.pipe(Backoff.onException({
        wait: Wait.expo({ factor: "500 millis" }),
        jitter: null,
        maxTries: 4,
        onBackoff: (d) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            events.push({
              event: "backoff",
              tries: d.tries,
              elapsed: Duration.toMillis(d.elapsed),
              wait: Duration.toMillis(d.wait),
              now: now - t0
            })
          }),
        onGiveup: (d) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            events.push({ event: "giveup", tries: d.tries, elapsed: Duration.toMillis(d.elapsed), now: now - t0 })
          })
      }))
      yield* runFor(retried)
      expect(callStarts).toEqual([0, 800, 2100, 4400])
      expect(events).toEqual([
        { event: "backoff", tries: 1, elapsed: 300, wait: 500, now: 300 },
        { event: "backoff", tries: 2, elapsed: 1100, wait: 1000, now: 1100 },
        { event: "backoff", tries: 3, elapsed: 2400, wait: 2000, now: 2400 },
        { event: "giveup", tries: 4, elapsed: 4700, now: 4700 }
      ])
      // the wait is the clock advance from the backoff to the next call
      for (let k = 0; k < 3; k++) {
        expect(callStarts[k + 1]! - events[k]!.now).toBe(events[k]!.wait)
      }
    }))

  it.effect("onSuccess elapsed is measured from the start of the first call, after the successful call", () =>
    Effect.gen(function*() {
      let calls = 0
      const elapsed: Array<number> = []
      const retried = Effect.gen(function*() {
        yield* Effect.sleep("250 millis")
        return ++calls < 2 ? yield* Effect.fail("e") : "ok"
      }).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        onSuccess: (d) => {
          elapsed.push(Duration.toMillis(d.elapsed))
        }
      }))
      yield* TestClock.adjust("10 seconds") // the run starts later than the clock's origin
      expect(yield* runFor(retried)).toEqual(Exit.succeed("ok"))
      expect(elapsed).toEqual([1500])
    }))

  it.effect("one details object is shared by all handlers of an event", () =>
    Effect.gen(function*() {
      const objects: Array<Array<object>> = [[], [], []]
      const retried = flaky(1, "e", "ok", { calls: 0 }).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        onBackoff: [(d) => {
          objects[0]!.push(d)
        }, (d) => {
          objects[0]!.push(d)
        }],
        onSuccess: [(d) => {
          objects[1]!.push(d)
        }, (d) => {
          objects[1]!.push(d)
        }, (d) => {
          objects[1]!.push(d)
        }]
      }))
      yield* runFor(retried)
      expect(objects[0]).toHaveLength(2)
      expect(objects[0]![0]).toBe(objects[0]![1])
      expect(objects[1]).toHaveLength(3)
      expect(objects[1]![0]).toBe(objects[1]![1])
      expect(objects[1]![1]).toBe(objects[1]![2])

      const giveups: Array<object> = []
      yield* runFor(
        Effect.fail("e").pipe(Backoff.onException({
          maxTries: 1,
          onGiveup: [(d) => {
            giveups.push(d)
          }, (d) => {
            giveups.push(d)
          }]
        }))
      )
      expect(giveups).toHaveLength(2)
      expect(giveups[0]).toBe(giveups[1])
    }))
})

describe("handlers", () => {
  class Recorder extends Context.Tag("Recorder")<Recorder, { readonly record: (s: string) => void }>() {}

  it.effect("run in array order; a Promise is awaited; an Effect runs (with its requirements)", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const retried = flaky(1, "e", "ok", { calls: 0 }).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        onBackoff: [
          async () => {
            order.push("promise start")
            for (let i = 0; i < 5; i++) await Promise.resolve()
            order.push("promise end")
          },
          () => {
            order.push("sync")
          },
          () => Effect.flatMap(Recorder, (r) => Effect.sync(() => r.record("effect")))
        ]
      }))
      const exit = yield* runFor(retried).pipe(
        Effect.provideService(Recorder, { record: (s) => order.push(s) })
      )
      expect(exit).toEqual(Exit.succeed("ok"))
      expect(order).toEqual(["promise start", "promise end", "sync", "effect"])
    }))

  it.effect("handlers run before the sleep and the next call", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      let calls = 0
      const retried = Effect.suspend(() => {
        order.push(`call ${++calls}`)
        return calls < 3 ? Effect.fail("e") : Effect.succeed("ok")
      }).pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        onBackoff: (d) => Effect.sync(() => order.push(`backoff ${d.tries}`)),
        onSuccess: (d) => Effect.sync(() => order.push(`success ${d.tries}`))
      }))
      yield* runFor(retried)
      expect(order).toEqual(["call 1", "backoff 1", "call 2", "backoff 2", "call 3", "success 3"])
    }))

  const dying = [
    {
      name: "throws",
      handler: (boom: Error) => () => {
        throw boom
      }
    },
    { name: "rejects", handler: (boom: Error) => () => Promise.reject(boom) },
    { name: "dies", handler: (boom: Error) => () => Effect.die(boom) },
    {
      name: "fails (Effect failure)",
      handler: (boom: Error) => () => Effect.fail(boom) as unknown as Effect.Effect<void>
    }
  ] as const

  for (const { handler, name } of dying) {
    it.effect(`an onBackoff handler that ${name}: the run dies with that defect, nothing further runs`, () =>
      Effect.gen(function*() {
        const boom = new Error(`boom ${name}`)
        let calls = 0
        const after: Array<string> = []
        const retried = Effect.suspend(() => {
          calls++
          return Effect.fail("e")
        }).pipe(Backoff.onException({
          wait: Wait.constant(),
          jitter: null,
          maxTries: 5,
          onBackoff: [handler(boom), () => {
            after.push("later handler")
          }],
          onGiveup: () => {
            after.push("giveup")
          }
        }))
        const exit = yield* runFor(retried)
        expect(defectOf(exit)).toBe(boom)
        expect(calls).toBe(1)
        expect(after).toEqual([])
        expect(Array.from(yield* TestClock.sleeps())).toEqual([])
      }))
  }

  it.effect("an onGiveup handler that throws: the run dies with that defect instead of failing", () =>
    Effect.gen(function*() {
      const boom = new Error("giveup boom")
      const retried = Effect.fail("e").pipe(Backoff.onException({
        maxTries: 1,
        onGiveup: () => {
          throw boom
        }
      }))
      expect(defectOf(yield* Effect.exit(retried))).toBe(boom)
    }))

  it.effect("an onSuccess handler that rejects: the run dies with that defect", () =>
    Effect.gen(function*() {
      const boom = new Error("success boom")
      const retried = Effect.succeed(1).pipe(Backoff.onException({ onSuccess: () => Promise.reject(boom) }))
      expect(defectOf(yield* Effect.exit(retried))).toBe(boom)
      const poll = Effect.succeed(1).pipe(Backoff.onPredicate({ onSuccess: () => Promise.reject(boom) }))
      expect(defectOf(yield* Effect.exit(poll))).toBe(boom)
    }))
})

describe("logging", () => {
  const getUrl = (_url: string) => Effect.fail(new HttpError({ message: "503" }))

  it.effect("default lines: text, levels and annotations", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const retried = Backoff.onException(getUrl, { wait: Wait.constant(), jitter: null, maxTries: 3 })
      yield* captureLogs(runFor(retried("/x")), lines)
      expect(lines.map((l) => [l.level, l.message])).toEqual([
        [LogLevel.Info, "Backing off getUrl(...) for 1.0s (HttpError: 503)"],
        [LogLevel.Info, "Backing off getUrl(...) for 1.0s (HttpError: 503)"],
        [LogLevel.Error, "Giving up getUrl(...) after 3 tries (HttpError: 503)"]
      ])
      expect(lines[0]!.annotations).toEqual({
        "backoff.target": "getUrl",
        "backoff.tries": 1,
        "backoff.wait": 1,
        "backoff.elapsed": 0
      })
      expect(lines[1]!.annotations).toEqual({
        "backoff.target": "getUrl",
        "backoff.tries": 2,
        "backoff.wait": 1,
        "backoff.elapsed": 1
      })
      expect(lines[2]!.annotations).toMatchObject({
        "backoff.target": "getUrl",
        "backoff.tries": 3,
        "backoff.elapsed": 2
      })
    }))

  it.effect("the wait is shown with one decimal after jitter and the maxTime clamp", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const retried = Effect.fail(new NetError("reset")).pipe(Backoff.onException({
        wait: Wait.constant({ interval: "2 seconds" }),
        jitter: null,
        maxTime: "3.3 seconds"
      }))
      yield* captureLogs(runFor(retried), lines)
      expect(lines.map((l) => l.message)).toEqual([
        "Backing off effect(...) for 2.0s (NetError: reset)",
        "Backing off effect(...) for 1.3s (NetError: reset)",
        "Giving up effect(...) after 3 tries (NetError: reset)"
      ])
      expect(lines[1]!.annotations["backoff.wait"]).toBeCloseTo(1.3, 9)
      expect(lines[2]!.annotations["backoff.elapsed"]).toBeCloseTo(3.3, 9)
    }))

  it.effect("outcome text: Tag: message, Name: message, else String(value)", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const failWith = (e: unknown) =>
        captureLogs(Effect.exit(Effect.fail(e).pipe(Backoff.onException({ maxTries: 1 }))), lines)
      yield* failWith(new HttpError({ message: "503" }))
      yield* failWith(new ParseError("bad json"))
      yield* failWith("plain")
      yield* failWith(42)
      expect(lines.map((l) => l.message)).toEqual([
        "Giving up effect(...) after 1 try (HttpError: 503)",
        "Giving up effect(...) after 1 try (ParseError: bad json)",
        "Giving up effect(...) after 1 try (plain)",
        "Giving up effect(...) after 1 try (42)"
      ])
    }))

  it.effect("onPredicate lines show the value", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const poll = Effect.succeed(0).pipe(
        Backoff.onPredicate({ wait: Wait.constant(), jitter: null, maxTries: 2, target: "poll" })
      )
      yield* captureLogs(runFor(poll), lines)
      expect(lines.map((l) => [l.level, l.message])).toEqual([
        [LogLevel.Info, "Backing off poll(...) for 1.0s (0)"],
        [LogLevel.Error, "Giving up poll(...) after 2 tries (0)"]
      ])
    }))

  it.effect("custom backoffLogLevel and giveupLogLevel", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const retried = Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 2,
        backoffLogLevel: LogLevel.Warning,
        giveupLogLevel: LogLevel.Fatal
      }))
      yield* captureLogs(runFor(retried), lines)
      expect(lines.map((l) => l.level)).toEqual([LogLevel.Warning, LogLevel.Fatal])
    }))

  it.effect("logger: false silences the default lines (handlers still run)", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      let backoffs = 0
      const retried = Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 3,
        logger: false,
        onBackoff: () => {
          backoffs++
        }
      }))
      yield* captureLogs(runFor(retried), lines)
      expect(lines).toEqual([])
      expect(backoffs).toBe(2)
    }))

  it.effect("the default line runs before the user handlers", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const order: Array<string> = []
      const retried = Effect.fail("e").pipe(Backoff.onException({
        wait: Wait.constant(),
        jitter: null,
        maxTries: 2,
        onBackoff: () => {
          order.push(`handler after ${lines.length} line(s)`)
        },
        onGiveup: () => {
          order.push(`giveup handler after ${lines.length} line(s)`)
        }
      }))
      yield* captureLogs(runFor(retried), lines)
      expect(order).toEqual(["handler after 1 line(s)", "giveup handler after 2 line(s)"])
    }))

  it.effect("reusing one options object for many effects never duplicates lines", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const options = { wait: Wait.constant(), jitter: null, maxTries: 2 } as const
      const a = Effect.fail("a").pipe(Backoff.onException(options))
      const b = Effect.fail("b").pipe(Backoff.onException(options))
      const policy = Backoff.onException(options)
      const c = policy(Effect.fail("c"))
      const d = policy(Effect.fail("d"))
      for (const e of [a, b, c, d, a]) yield* captureLogs(runFor(e), lines)
      expect(lines.map((l) => l.message)).toEqual(
        ["a", "b", "c", "d", "a"].flatMap((x) => [
          `Backing off effect(...) for 1.0s (${x})`,
          `Giving up effect(...) after 2 tries (${x})`
        ])
      )
    }))

  it.effect("a success logs nothing", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      yield* captureLogs(Effect.succeed(1).pipe(Backoff.onException({})), lines)
      expect(lines).toEqual([])
    }))
})
