// The Effect implementations of one retry policy, with identical semantics:
//   ours            Backoff.onException, logger off, no handlers
//   ours+handlers   the same with three no-op handlers (onSuccess, onBackoff, onGiveup)
//   ours+budget     `ours` with an in-memory RetryBudget (policy.budget, made by the worker)
//   ours+redis      `ours` with a RedisRetryBudget on a loopback redis-server (policy.budget)
//   ours+breaker    `ours` with a closed in-memory CircuitBreaker (policy.breaker)
//   bare            the call itself; bare+breaker: breaker.execute(call) (policy.breaker)
//   fail            Effect.either(Effect.fail(error)); breaker-reject: Effect.either of a
//                   call through an isolated breaker (rejected, the call never runs)
//   effect-loop     the smallest correct hand-written loop: catch, sleep via Clock, try again, count tries
//   effect-raw      Effect.retry with the equivalent core Schedule
//   ours-schedule   Backoff.retry(op, { schedule: policy }) with the policy built by piping
//                   (Wait + Jitter.apply + Backoff.maxTries): our loop, fast path
//   effect-ours     Effect.retry(op, policy): Effect's driver stepping our policy Schedule
//   ours-intersect  Backoff.retry with Schedule.intersect(policy, Schedule.recurs(n)): our
//                   loop, stepping a policy it cannot look into (Schedule.step, slow path)
//
// A policy is { maxTries, waitMillis, growth: "constant" | "expo", jitter: "none" | "full" }:
// constant waits of `waitMillis`, or waitMillis·2^n; full jitter draws uniform [0, wait]
// from Effect's Random on every side. A wait of zero arms no timer on any side.
import { Clock, Duration, Effect, Random, Schedule } from "effect"

// run.mjs points this at its compiled snapshot of packages/core/src; standalone, the
// workspace package (packages/core/dist, after `pnpm --filter @effect-backoff/core build`)
const { Backoff, Jitter, Wait } = await import(process.env.EFFECT_BACKOFF_CORE ?? "@effect-backoff/core")
export const EFFECT_IMPLS = [
  "ours",
  "ours+handlers",
  "effect-loop",
  "effect-raw",
  "ours-schedule",
  "effect-ours",
  "ours-intersect"
]

const noop = () => {}
const breakerError = new Error("unavailable")

const ours = (op, policy, withHandlers) =>
  Backoff.onException(op, {
    ...(policy.budget === undefined ? {} : { budget: policy.budget }),
    ...(policy.breaker === undefined ? {} : { breaker: policy.breaker }),
    wait: policy.growth === "expo"
      ? Wait.expo({ factor: policy.waitMillis })
      : Wait.constant({ interval: policy.waitMillis }),
    maxTries: policy.maxTries,
    jitter: policy.jitter === "full" ? Jitter.full : null,
    logger: false,
    ...(withHandlers ? { onSuccess: noop, onBackoff: noop, onGiveup: noop } : {})
  })

/** The same policy as one Schedule, built by piping. */
const piped = (policy) => {
  const wait = policy.growth === "expo"
    ? Wait.expo({ factor: policy.waitMillis })
    : Wait.constant({ interval: policy.waitMillis })
  const jittered = policy.jitter === "full" ? wait.pipe(Jitter.apply(Jitter.full)) : wait
  return jittered.pipe(Backoff.maxTries(policy.maxTries))
}

/** The floor for any Effect retry library. */
const loop = (op, policy) => {
  const { maxTries, waitMillis } = policy
  if (policy.growth === "constant" && policy.jitter === "none") {
    const delay = Duration.millis(waitMillis)
    const attempt = (tries) =>
      Effect.catchAll(op, (e) => {
        if (tries >= maxTries) return Effect.fail(e)
        return waitMillis > 0 ? Effect.zipRight(Clock.sleep(delay), attempt(tries + 1)) : attempt(tries + 1)
      })
    return attempt(1)
  }
  // exponential growth with full jitter (the real-timer scale scenario)
  const attempt = (tries) =>
    Effect.catchAll(op, (e) => {
      if (tries >= maxTries) return Effect.fail(e)
      const wait = policy.growth === "expo" ? waitMillis * 2 ** (tries - 1) : waitMillis
      if (wait === 0) return attempt(tries + 1)
      const sleep = policy.jitter === "full"
        ? Effect.flatMap(Random.next, (u) => Clock.sleep(Duration.millis(u * wait)))
        : Clock.sleep(Duration.millis(wait))
      return Effect.zipRight(sleep, attempt(tries + 1))
    })
  return attempt(1)
}

const raw = (op, policy) => {
  const base = policy.growth === "expo"
    ? Schedule.exponential(Duration.millis(policy.waitMillis), 2)
    : Schedule.spaced(Duration.millis(policy.waitMillis))
  let schedule = Schedule.intersect(base, Schedule.recurs(policy.maxTries - 1))
  if (policy.jitter === "full") {
    schedule = Schedule.modifyDelayEffect(
      schedule,
      (_, delay) => Effect.map(Random.next, (u) => Duration.millis(u * Duration.toMillis(delay)))
    )
  }
  return Effect.retry(op, schedule)
}

/** The retried effect of `impl` around `op`, built once. */
export const makeEffectImpl = (impl, op, policy) => {
  switch (impl) {
    case "ours":
      return ours(op, policy, false)
    case "ours+handlers":
      return ours(op, policy, true)
    case "ours+budget":
    case "ours+redis":
      if (policy.budget === undefined) throw new Error(`${impl} needs policy.budget`)
      return ours(op, policy, false)
    case "ours+breaker":
      if (policy.breaker === undefined) throw new Error(`${impl} needs policy.breaker`)
      return ours(op, policy, false)
    case "bare":
      return op
    case "bare+breaker":
      return policy.breaker.execute(op)
    case "fail":
      return Effect.as(Effect.either(Effect.fail(breakerError)), 0)
    case "breaker-reject":
      return Effect.as(Effect.either(policy.breaker.execute(op)), 0)
    case "effect-loop":
      return loop(op, policy)
    case "effect-raw":
      return raw(op, policy)
    case "ours-schedule":
      return Backoff.retry(op, { schedule: piped(policy), logger: false })
    case "effect-ours":
      return Effect.retry(op, piped(policy))
    case "ours-intersect":
      // recurs(maxTries) never binds first: the policy's own maxTries ends the run
      return Backoff.retry(op, {
        schedule: Schedule.intersect(piped(policy), Schedule.recurs(policy.maxTries)),
        logger: false
      })
  }
  throw new Error(`unknown Effect implementation ${impl}`)
}
