/**
 * Isolation: many concurrent runs of ONE wrapped function (and of one retried Effect), each
 * with its own outcome, wait and start time, on one shared virtual clock. Every run keeps its
 * own tries and elapsed; every handler call sees only its own run (the call's args, or a
 * FiberRef set by the caller, identify it).
 */
import { Backoff, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, FiberRef, Option } from "effect"
import { virtualTime } from "./support.js"

const RUNS = 1_000
const MAX_TRIES = 5

interface Attempt {
  readonly id: number
  readonly n: number
}

/** Run `id`: fails `failures(id)` times then succeeds; each call lasts `duration(id)` ms; waits `wait(id)` ms; starts at `start(id)` ms. */
const failures = (id: number) => id % 7 // 5 and 6 never succeed within MAX_TRIES
const duration = (id: number) => (id % 3 === 0 ? (id % 5) + 1 : 0) // only Effect calls take virtual time
const wait = (id: number) => (id % 11) + 1
const start = (id: number) => id % 13

interface Seen {
  readonly handler: "onBackoff" | "onSuccess" | "onGiveup"
  readonly id: number
  readonly tries: number
  readonly elapsed: number
  readonly wait?: number
}

const expectedOf = (id: number): ReadonlyArray<Seen> => {
  const k = failures(id)
  const d = duration(id)
  const w = wait(id)
  const calls = Math.min(k + 1, MAX_TRIES)
  const out: Array<Seen> = []
  for (let j = 1; j < calls; j++) {
    out.push({ handler: "onBackoff", id, tries: j, elapsed: j * d + (j - 1) * w, wait: w })
  }
  out.push({
    handler: k + 1 <= MAX_TRIES ? "onSuccess" : "onGiveup",
    id,
    tries: calls,
    elapsed: calls * d + (calls - 1) * w
  })
  return out
}

describe("isolation of concurrent runs", () => {
  it(`${RUNS} concurrent runs of one wrapped function keep their own tries and elapsed`, async () => {
    const vt = virtualTime()
    const program = Effect.gen(function*() {
      const attempts = new Map<number, number>()
      const seen = new Map<number, Array<Seen>>()
      const crossed: Array<string> = []
      const note = (s: Seen, args: ReadonlyArray<unknown>, exception?: unknown) => {
        if (args[0] !== s.id || args[1] !== `label ${s.id}`) {
          crossed.push(`${s.handler} of ${s.id} saw args ${String(args)}`)
        }
        if (exception !== undefined && (exception as Attempt).id !== s.id) {
          crossed.push(`${s.handler} of ${s.id} saw the failure of ${(exception as Attempt).id}`)
        }
        const list = seen.get(s.id) ?? []
        list.push(s)
        seen.set(s.id, list)
      }

      // one function for every run; its three shapes: Effect, Promise, plain (throws)
      function fetchThing(id: number, label: string): any {
        const n = (attempts.get(id) ?? 0) + 1
        attempts.set(id, n)
        if (label !== `label ${id}`) crossed.push(`call ${id} got ${label}`)
        const failed = n <= failures(id)
        switch (id % 3) {
          case 0:
            return Effect.zipRight(
              Effect.sleep(Duration.millis(duration(id))),
              failed ? Effect.fail({ id, n }) : Effect.succeed({ id, n })
            )
          case 1:
            return failed ? Promise.reject({ id, n }) : Promise.resolve({ id, n })
          default:
            if (failed) throw { id, n }
            return { id, n }
        }
      }

      const retried = Backoff.onException(fetchThing, {
        // the wait comes from the run's own failure: a mixed-up failure would change it
        wait: Wait.runtime((e: unknown) => Duration.millis(wait((e as Attempt).id))),
        jitter: null,
        maxTries: MAX_TRIES,
        raiseOnGiveup: false,
        logger: false,
        onBackoff: (d) => {
          const id = d.args[0] as number
          note(
            {
              handler: "onBackoff",
              id,
              tries: d.tries,
              elapsed: Duration.toMillis(d.elapsed),
              wait: Duration.toMillis(d.wait)
            },
            d.args,
            d.exception
          )
        },
        // an Effect handler and a Promise handler, so handlers interleave with other runs
        onSuccess: (d) =>
          Effect.sync(() => {
            const id = d.args[0] as number
            note({ handler: "onSuccess", id, tries: d.tries, elapsed: Duration.toMillis(d.elapsed) }, d.args)
          }),
        onGiveup: async (d) => {
          await Promise.resolve()
          const id = d.args[0] as number
          note({ handler: "onGiveup", id, tries: d.tries, elapsed: Duration.toMillis(d.elapsed) }, d.args, d.exception)
        }
      })

      const ids = Array.from({ length: RUNS }, (_, i) => i)
      const results = yield* Effect.forEach(
        ids,
        (id) => Effect.zipRight(Effect.sleep(Duration.millis(start(id))), retried(id, `label ${id}`)),
        { concurrency: "unbounded" }
      )

      expect(crossed.slice(0, 5)).toEqual([])
      for (const id of ids) {
        const k = failures(id)
        expect(attempts.get(id), `calls of run ${id}`).toBe(Math.min(k + 1, MAX_TRIES))
        expect(seen.get(id), `handlers of run ${id}`).toEqual(expectedOf(id))
        const result = results[id] as Option.Option<Attempt>
        if (k + 1 <= MAX_TRIES) expect(result).toEqual(Option.some({ id, n: k + 1 }))
        else expect(result).toEqual(Option.none())
      }
      const total = [...seen.values()].reduce((n, l) => n + l.length, 0)
      console.log(
        `isolation: ${RUNS} concurrent runs of one function, ${total} handler calls, all their own; ${vt.wakeUps()} timer wake-ups`
      )
    })
    const fiber = Effect.runFork(
      (program as Effect.Effect<void, unknown>).pipe(Effect.withClock(vt.clock), Effect.withScheduler(vt.scheduler))
    )
    await vt.drive()
    await Effect.runPromise(Fiber.join(fiber))
  }, 30_000)

  it(`${RUNS} concurrent runs of one retried Effect: handlers run in the caller's fiber`, async () => {
    const vt = virtualTime()
    const program = Effect.gen(function*() {
      const runId = FiberRef.unsafeMake(-1)
      const calls = new Map<number, number>()
      const crossed: Array<string> = []
      const giveups = new Map<number, number>()
      const onePolicy = Effect.gen(function*() {
        const id = yield* FiberRef.get(runId)
        const n = (calls.get(id) ?? 0) + 1
        calls.set(id, n)
        yield* Effect.sleep(Duration.millis(duration(id)))
        return yield* n <= failures(id) ? Effect.fail({ id, n }) : Effect.succeed({ id, n })
      }).pipe(
        Backoff.onException({
          wait: Wait.constant({ interval: "3 millis" }),
          jitter: null,
          maxTries: MAX_TRIES,
          logger: false,
          onBackoff: (d) =>
            Effect.map(FiberRef.get(runId), (id) => {
              const e = d.exception as Attempt
              if (e.id !== id || d.tries !== e.n) {
                crossed.push(`run ${id} backoff saw ${e.id}/${e.n} at tries ${d.tries}`)
              }
              const expected = d.tries * duration(id) + (d.tries - 1) * 3
              if (Duration.toMillis(d.elapsed) !== expected) {
                crossed.push(
                  `run ${id} elapsed ${Duration.toMillis(d.elapsed)} at tries ${d.tries}, expected ${expected}`
                )
              }
            }),
          onGiveup: (d) =>
            Effect.map(FiberRef.get(runId), (id) => {
              giveups.set(id, d.tries)
            })
        })
      )
      const ids = Array.from({ length: RUNS }, (_, i) => i)
      yield* Effect.forEach(
        ids,
        (id) =>
          Effect.locally(
            Effect.zipRight(Effect.sleep(Duration.millis(start(id))), Effect.either(onePolicy)),
            runId,
            id
          ),
        { concurrency: "unbounded" }
      )
      expect(crossed.slice(0, 5)).toEqual([])
      for (const id of ids) {
        expect(calls.get(id)).toBe(Math.min(failures(id) + 1, MAX_TRIES))
        expect(giveups.get(id)).toBe(failures(id) + 1 > MAX_TRIES ? MAX_TRIES : undefined)
      }
    })
    const fiber = Effect.runFork(
      (program as Effect.Effect<void, unknown>).pipe(Effect.withClock(vt.clock), Effect.withScheduler(vt.scheduler))
    )
    await vt.drive()
    await Effect.runPromise(Fiber.join(fiber))
  }, 30_000)
})
