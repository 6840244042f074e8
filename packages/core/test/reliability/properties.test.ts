/**
 * Property suite over random policies (any wait strategy, any jitter, maxTries, maxTime,
 * giveup) run through Timeline (its own virtual clock, no sleeping):
 *   calls <= maxTries; the total sleep never passes maxTime; every wait is finite and >= 0;
 *   each handler runs exactly as often as its events; each `wait` is exactly the clock's
 *   advance; the run gives up exactly when the contract says so; without jitter the waits
 *   are the strategy's own (clamped to the budget).
 * A failing case shrinks to a small policy printed in one line.
 */
import type { Backoff } from "@effect-backoff/core"
import { Timeline, Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Option } from "effect"
import fc from "fast-check"
import type { Failure, JitterSpec, WaitSpec } from "./support.js"
import { buildJitter, buildWait, isDeterministic, quiet, showWait } from "./support.js"

const POLICIES = 10_000
const LONG_POLICIES = 30
const LONG_CALLS = 10_000
/** Node's timer limit: the loop never arms a longer sleep */
const MAX_WAIT = 2 ** 31 - 1

// ---------------------------------------------------------------------------
// Arbitraries (plain data with a one-line toString)
// ---------------------------------------------------------------------------

/** milliseconds: mostly small integers, sometimes fractions, sometimes huge */
const ms = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 5_000, noNaN: true }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 10 * MAX_WAIT }) }
)
const positiveMs = fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.double({ min: 0.001, max: 5_000, noNaN: true }))
const extra = fc.option(ms, { nil: undefined })

const waitArb: fc.Arbitrary<WaitSpec> = fc.oneof(
  fc.record({
    kind: fc.constant("expo" as const),
    base: fc.oneof(fc.constantFrom(1, 2, 3, 10), fc.double({ min: 0.01, max: 100, noNaN: true })),
    factor: positiveMs,
    extra
  }).map(({ base, extra, factor, kind }) => ({
    kind,
    base,
    factor,
    ...(extra === undefined ? {} : { maxValue: factor + extra })
  })),
  fc.record({ kind: fc.constant("fibo" as const), unit: positiveMs, extra }).map(({ extra, kind, unit }) => ({
    kind,
    unit,
    ...(extra === undefined ? {} : { maxValue: unit + extra })
  })),
  fc.record({ kind: fc.constant("constant" as const), interval: ms }),
  fc.record({ kind: fc.constant("list" as const), intervals: fc.array(ms, { minLength: 1, maxLength: 6 }) }),
  fc.record({
    kind: fc.constant("decay" as const),
    initialValue: ms,
    decayFactor: fc.double({ min: 0, max: 5, noNaN: true }),
    minValue: fc.option(ms, { nil: undefined })
  }).map(({ minValue, ...w }) => ({ ...w, ...(minValue === undefined ? {} : { minValue }) })),
  fc.record({ kind: fc.constant("linear" as const), initial: ms, step: ms, extra }).map((
    { extra, initial, kind, step }
  ) => ({ kind, initial, step, ...(extra === undefined ? {} : { maxValue: initial + extra }) })),
  fc.record({ kind: fc.constant("decorrelated" as const), base: ms, extra: ms }).map(({ base, extra, kind }) => ({
    kind,
    base,
    maxValue: base + extra
  })),
  fc.constant({ kind: "runtime" as const }),
  fc.record({ kind: fc.constant("spaced" as const), interval: fc.integer({ min: 0, max: 100_000 }) }),
  fc.record({ kind: fc.constant("jittered" as const), factor: fc.integer({ min: 0, max: 10_000 }) })
)

const jitterArb: fc.Arbitrary<JitterSpec> = fc.constantFrom("default", "full", "equal", "random", "none", "null")

interface Step {
  readonly ok: boolean
  /** the call's own virtual duration */
  readonly duration: number
  /** the wait a runtime strategy reads from this failure */
  readonly ms: number
}

interface Policy {
  readonly mode: "exception" | "predicate"
  readonly wait: WaitSpec
  readonly jitter: JitterSpec
  readonly maxTries: number | undefined
  readonly maxTime: number | undefined
  /** onException only: give up at once on the failure of this call */
  readonly giveupAt: number | undefined
  readonly steps: ReadonlyArray<Step>
  readonly seed: number
}

const show = (p: Policy): string =>
  [
    p.mode === "exception" ? "onException" : "onPredicate",
    showWait(p.wait),
    `jitter=${p.jitter}`,
    `maxTries=${p.maxTries ?? "-"}`,
    `maxTime=${p.maxTime === undefined ? "-" : `${p.maxTime}ms`}`,
    ...(p.giveupAt === undefined ? [] : [`giveupAt=${p.giveupAt}`]),
    `calls=[${
      p.steps.map((s) => `${s.ok ? "ok" : `fail(${s.ms}ms)`}${s.duration > 0 ? `+${s.duration}ms` : ""}`).join(" ")
    }]`,
    `seed=${p.seed}`
  ].join(" ")

const withToString = (p: Policy): Policy => Object.assign(p, { [fc.toStringMethod]: () => show(p) })

const stepArb: fc.Arbitrary<Step> = fc.record({
  ok: fc.boolean(),
  duration: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: ms }),
  ms
})

const policyArb = (steps: fc.Arbitrary<ReadonlyArray<Step>>): fc.Arbitrary<Policy> =>
  fc.record({
    mode: fc.constantFrom("exception" as const, "predicate" as const),
    wait: waitArb,
    jitter: jitterArb,
    maxTries: fc.option(fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constant(Infinity)), { nil: undefined }),
    maxTime: fc.option(fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.double({ min: 0, max: 1e7, noNaN: true })), {
      nil: undefined
    }),
    giveupAt: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined, freq: 4 }),
    steps,
    seed: fc.integer()
  })
    // a wait already jittered by Jitter.apply takes no jitter option (that is an
    // InvalidOptionError: one of the two jitters would be lost), and gets no default one
    .map((p) => p.wait.kind === "jittered" ? { ...p, jitter: "default" as const } : p)
    .map(withToString)

// ---------------------------------------------------------------------------
// Running one policy and checking the contract
// ---------------------------------------------------------------------------

const counters = () => ({ onSuccess: 0, onBackoff: 0, onGiveup: 0 })

const optionsOf = (p: Policy, count: ReturnType<typeof counters>) => ({
  wait: buildWait(p.wait),
  ...buildJitter(p.jitter),
  ...(p.maxTries === undefined ? {} : { maxTries: p.maxTries }),
  ...(p.maxTime === undefined ? {} : { maxTime: p.maxTime }),
  logger: p.seed % 4 === 0,
  onSuccess: () => {
    count.onSuccess++
  },
  onBackoff: [() => {
    count.onBackoff++
  }],
  onGiveup: () =>
    Effect.sync(() => {
      count.onGiveup++
    })
})

/**
 * Equal up to the Duration's resolution: `Duration.millis` keeps a fractional millisecond
 * as whole nanoseconds, so an event's stamp or a wait may differ from the float sum by
 * less than a nanosecond (1e-6 ms). Integer-millisecond cases compare exactly.
 */
const near = (a: number, b: number): boolean => a === b || Math.abs(a - b) <= 2e-6 + Math.abs(b) * 1e-15

const failureOf = (i: number, s: Step): Failure => ({ _tag: "Failure", n: i + 1, ms: s.ms })

const run = (p: Policy, maxCalls?: number) => {
  const count = counters()
  const settings = { seed: p.seed, ...(maxCalls === undefined ? {} : { maxCalls }) }
  const options = optionsOf(p, count)
  const result = p.mode === "exception"
    ? Timeline.run(
      {
        ...options,
        ...(p.giveupAt === undefined ? {} : { giveup: (e: Failure) => e.n === p.giveupAt })
      } as Backoff.ExceptionOptions<Failure>,
      p.steps.map((s, i) =>
        s.ok ? Timeline.succeed(`ok ${i + 1}`, s.duration) : Timeline.fail(failureOf(i, s), s.duration)
      ),
      settings
    )
    : Timeline.runPredicate(
      { ...options, predicate: (v: { readonly retry: boolean }) => v.retry } as Backoff.PredicateOptions<any>,
      p.steps.map((s, i) => Timeline.succeed({ retry: !s.ok, n: i + 1, ms: s.ms }, s.duration)),
      settings
    )
  return { result: Effect.runSync(quiet(result as Effect.Effect<Timeline.Result<unknown, unknown>>)), count }
}

/** Checks one run against the contract; returns the first broken rule, or undefined. */
const check = (
  p: Policy,
  maxCalls = 10_000
): { readonly broken: string | undefined; readonly calls: number; readonly cutOff: boolean } => {
  const { count, result: r } = run(p, maxCalls)
  const broken = rules(p, maxCalls, count, r)
  return { broken, calls: r.calls, cutOff: r.cutOff }
}

const rules = (
  p: Policy,
  maxCalls: number,
  count: ReturnType<typeof counters>,
  r: Timeline.Result<unknown, unknown>
): string | undefined => {
  const millis = Duration.toMillis
  const maxTries = p.maxTries ?? Infinity
  const maxTime = p.maxTime ?? Infinity
  const stepAt = (call: number) => p.steps[Math.min(call, p.steps.length) - 1]!
  const calls = r.events.filter((e) => e._tag === "Call")
  const backoffs = r.events.filter((e) => e._tag === "Backoff")
  const successes = r.events.filter((e) => e._tag === "Success")
  const giveups = r.events.filter((e) => e._tag === "Giveup")

  if (calls.length !== r.calls) return `calls: ${calls.length} Call events but calls=${r.calls}`
  if (r.calls > maxTries) return `calls ${r.calls} > maxTries ${maxTries}`
  let slept = 0
  for (const b of backoffs) {
    const wait = millis(b.wait!)
    if (!Number.isFinite(wait) || wait < 0) return `wait ${wait} after call ${b.tries} is not finite and >= 0`
    if (wait > MAX_WAIT) return `wait ${wait} after call ${b.tries} exceeds the timer limit`
    if (millis(b.at) + wait > maxTime && !near(millis(b.at) + wait, maxTime)) {
      return `call ${b.tries} ends at ${millis(b.at)}, sleeps ${wait}: past maxTime ${maxTime}`
    }
    slept += wait
  }
  if (slept > maxTime && !near(slept, maxTime)) return `total sleep ${slept} > maxTime ${maxTime}`

  // handler counts are exact, and match the events
  if (count.onBackoff !== backoffs.length) {
    return `onBackoff ran ${count.onBackoff} times for ${backoffs.length} backoffs`
  }
  if (count.onSuccess !== successes.length) return `onSuccess ran ${count.onSuccess} times`
  if (count.onGiveup !== giveups.length) return `onGiveup ran ${count.onGiveup} times`
  if (r.cutOff) {
    if (r.calls !== maxCalls) return `cut off after ${r.calls} calls, not ${maxCalls}`
    if (successes.length + giveups.length !== 0) return "a cut-off run has an end event"
    if (backoffs.length !== r.calls) return `cut off: ${backoffs.length} backoffs for ${r.calls} calls`
  } else {
    if (successes.length + giveups.length !== 1) return `${successes.length} successes and ${giveups.length} giveups`
    if (backoffs.length !== r.calls - 1) return `${backoffs.length} backoffs for ${r.calls} calls`
  }

  // each wait is exactly the clock's advance to the next call; the events come in order
  for (let i = 0; i < backoffs.length; i++) {
    const b = backoffs[i]!
    if (b.tries !== i + 1) return `backoff ${i + 1} has tries=${b.tries}`
    const next = calls[i + 1]
    if (next === undefined) continue // the cut-off call
    const expected = millis(b.at) + millis(b.wait!)
    if (!near(millis(next.at), expected)) {
      return `call ${i + 2} at ${millis(next.at)}, expected ${millis(b.at)} + ${millis(b.wait!)}`
    }
  }
  // each call's end is stamped on the event that follows it; the run's total is the last end
  const ends = [...backoffs, ...successes, ...giveups]
  for (let i = 0; i < ends.length; i++) {
    const callEnd = millis(calls[i]!.at) + stepAt(i + 1).duration
    if (!near(millis(ends[i]!.at), callEnd)) {
      return `the event after call ${i + 1} is at ${millis(ends[i]!.at)}, the call ended at ${callEnd}`
    }
  }
  const lastCall = calls[calls.length - 1]!
  // a cut-off run stops as the call after its last sleep would start
  const lastSleep = backoffs[backoffs.length - 1]
  const total = r.cutOff && lastSleep !== undefined
    ? millis(lastSleep.at) + millis(lastSleep.wait!)
    : millis(lastCall.at) + stepAt(calls.length).duration
  if (!near(millis(r.total), total)) return `total ${millis(r.total)}, expected ${total}`

  // gives up exactly when the contract says: giveup → maxTries → maxTime (or a spent budget) → strategy end
  if (!r.cutOff) {
    const last = r.calls
    const step = stepAt(last)
    const lastEnd = millis(calls[last - 1]!.at) + step.duration
    // the last sleep was cut to (or landed on) the budget: the next failure gives up
    const budgetSpent = lastSleep !== undefined && maxTime !== Infinity &&
      near(millis(lastSleep.wait!), maxTime - millis(lastSleep.at))
    const listEnded = p.wait.kind === "list" && last - 1 >= p.wait.intervals.length
    const giveupSaid = p.mode === "exception" && p.giveupAt === Math.min(last, p.steps.length)
    const shouldGiveUp = !step.ok &&
      (giveupSaid || last >= maxTries || lastEnd >= maxTime || budgetSpent || listEnded)
    if (step.ok && successes.length !== 1) return `call ${last} succeeded but no onSuccess`
    if (!step.ok && shouldGiveUp !== (giveups.length === 1)) {
      return `call ${last} failed: gave up=${giveups.length === 1}, the contract says ${shouldGiveUp}`
    }
    // the result is the last outcome itself
    // the script's last outcome repeats once the run outlives it
    const n = Math.min(last, p.steps.length)
    if (p.mode === "exception") {
      const ok = step.ok
        ? Exit.isSuccess(r.result) && r.result.value === `ok ${n}`
        : Exit.isFailure(r.result) &&
          Option.exists(Cause.failureOption(r.result.cause), (e) => (e as Failure).n === n)
      if (!ok) return `result ${String(r.result)}, expected ${step.ok ? "success" : "failure"} of call ${last}`
    } else if (!(Exit.isSuccess(r.result) && (r.result.value as { n: number }).n === n)) {
      return `result ${String(r.result)}, expected the value of call ${last}`
    }
  }

  // without jitter, a deterministic strategy's waits are its own, clamped to the budget
  if ((p.jitter === "none" || p.jitter === "null") && isDeterministic(p.wait)) {
    const inputs = backoffs.map((b) => {
      const s = stepAt(b.tries)
      return p.mode === "exception" ? failureOf(b.tries - 1, s) : { retry: true, n: b.tries, ms: s.ms }
    })
    const planned = Effect.runSync(Wait.delays(buildWait(p.wait) as any, backoffs.length, inputs))
    for (let i = 0; i < backoffs.length; i++) {
      const b = backoffs[i]!
      const own = Math.min(millis(planned[i]!), MAX_WAIT)
      const expected = Math.min(own, maxTime - millis(b.at))
      if (!near(millis(b.wait!), expected)) {
        return `wait ${i + 1} is ${millis(b.wait!)}, the strategy says ${own} (clamped ${expected})`
      }
    }
  }
  return undefined
}

describe("properties over random policies (Timeline, virtual clock)", () => {
  it(`${POLICIES} policies keep every limit, count and wait exact`, () => {
    let policies = 0
    let attempts = 0
    fc.assert(
      fc.property(policyArb(fc.array(stepArb, { minLength: 1, maxLength: 25 })), (p) => {
        policies++
        // unlimited policies are cut off at 300 calls here; the next property goes to 10,000
        const { broken, calls } = check(p, 300)
        attempts += calls
        if (broken !== undefined) throw new Error(broken)
      }),
      { numRuns: POLICIES, seed: 20240611 }
    )
    expect(policies).toBeGreaterThanOrEqual(POLICIES)
    console.log(`properties: ${policies} policies, ${attempts} attempts`)
  }, 60_000)

  it(`${LONG_POLICIES} unlimited policies against endless failures: ${LONG_CALLS} attempts, every wait finite`, () => {
    let steps = 0
    fc.assert(
      fc.property(
        policyArb(fc.constant([{ ok: false, duration: 0, ms: 1_000 }])).map((p) =>
          withToString({ ...p, maxTries: undefined, maxTime: undefined, giveupAt: undefined })
        ).filter((p) => p.wait.kind !== "list"),
        (p) => {
          const { broken, calls, cutOff } = check(p, LONG_CALLS)
          steps += calls
          if (broken !== undefined) throw new Error(broken)
          expect(cutOff).toBe(true)
          expect(calls).toBe(LONG_CALLS)
        }
      ),
      { numRuns: LONG_POLICIES, seed: 42 }
    )
    console.log(`properties: ${LONG_POLICIES} unlimited policies, ${steps} attempts`)
  }, 60_000)

  it("a broken invariant shrinks to a one-line policy", () => {
    // the checker is not vacuous: claim a false rule (every run succeeds) and read the counterexample
    const details = fc.check(
      fc.property(policyArb(fc.array(stepArb, { minLength: 1, maxLength: 25 })), (p) => {
        const { result } = run(p)
        return Exit.isSuccess(result.result) || p.mode === "predicate"
      }),
      { numRuns: 1_000, seed: 1 }
    )
    expect(details.failed).toBe(true)
    const shown = fc.stringify(details.counterexample![0])
    expect(shown).toMatch(/^onException .* calls=\[fail\(\d+(\.\d+)?ms\)\] seed=-?\d+$/)
    expect(shown.split("\n")).toHaveLength(1)
  })
})
