// The Promise implementations of the same policies: the JS retry libraries and a bare
// `await` loop as their floor. `fn` is `() => Promise`; each returns `() => Promise`
// built once. Policies as in effect-impls.mjs.
import asyncRetry from "async-retry"
import { ConstantBackoff, handleAll, retry as cockatielRetry } from "cockatiel"
import { backOff } from "exponential-backoff"
import pRetry from "p-retry"

export const PEER_IMPLS = ["p-retry", "cockatiel", "exponential-backoff", "async-retry", "await"]

/** Which peers can express a policy exactly (p-retry and async-retry have no full jitter). */
export const peerSupports = (impl, policy) =>
  policy.jitter === "none" || !(impl === "p-retry" || impl === "async-retry")

const waitOf = (policy, tries) => {
  const wait = policy.growth === "expo" ? policy.waitMillis * 2 ** (tries - 1) : policy.waitMillis
  return policy.jitter === "full" ? Math.random() * wait : wait
}

/** The floor: try, catch, sleep with setTimeout (none for a zero wait), count tries. */
const bare = (fn, policy) => async () => {
  for (let tries = 1;; tries++) {
    try {
      return await fn()
    } catch (e) {
      if (tries >= policy.maxTries) throw e
      const wait = waitOf(policy, tries)
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}

export const makePeerImpl = (impl, fn, policy) => {
  const { maxTries, waitMillis } = policy
  const growth = policy.growth === "expo" ? 2 : 1
  switch (impl) {
    case "await":
      return bare(fn, policy)
    case "p-retry": {
      if (!peerSupports(impl, policy)) break
      const options = {
        retries: maxTries - 1,
        minTimeout: waitMillis,
        maxTimeout: Infinity,
        factor: growth,
        randomize: false
      }
      return () => pRetry(fn, options)
    }
    case "async-retry": {
      if (!peerSupports(impl, policy)) break
      const options = {
        retries: maxTries - 1,
        minTimeout: waitMillis,
        maxTimeout: Infinity,
        factor: growth,
        randomize: false
      }
      return () => asyncRetry(fn, options)
    }
    case "cockatiel": {
      const backoff = policy.growth === "constant" && policy.jitter === "none"
        ? new ConstantBackoff(waitMillis)
        : { next: (context) => ({ duration: waitOf(policy, context.attempt), next: (c) => backoff.next(c) }) }
      const retrier = cockatielRetry(handleAll, { maxAttempts: maxTries - 1, backoff })
      return () => retrier.execute(fn)
    }
    case "exponential-backoff": {
      const options = {
        numOfAttempts: maxTries,
        startingDelay: waitMillis,
        timeMultiple: growth,
        maxDelay: Infinity,
        jitter: policy.jitter === "full" ? "full" : "none",
        delayFirstAttempt: false
      }
      return () => backOff(fn, options)
    }
  }
  throw new Error(`${impl} cannot express this policy`)
}
