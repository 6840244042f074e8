/**
 * The circuit breaker's pure state machine, for stores other than memory (the Redis
 * breaker of `@effect-backoff/platform-node` runs it on a state it reads from the server).
 * Most users want `CircuitBreaker`; this module is for writing a store.
 *
 * `machine(resolve(options))` gives `step(state, event, nowMillis)`: no Effect, no clock,
 * no mutation. A `State` is plain JSON data, so a store can read it, step it and write it
 * back with a compare-and-set on its `generation`.
 *
 * A sketch:
 *
 *     import { CircuitBreaker, CircuitBreakerMachine as M } from "@effect-backoff/core"
 *
 *     const settings = M.resolve({ policy: CircuitBreaker.consecutive(2) })
 *     const step = M.machine(settings)
 *     let state = M.initialState(settings)
 *     for (const at of [0, 1]) state = step(state, M.outcome("failure", state.generation, false, 10), at).state
 *     console.log(state.name)
 *
 * @since 0.3.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"

export { verdict } from "./internal/callbacks.js"
export {
  /** @since 0.3.0 */
  ADMIT,
  /** @since 0.3.0 */
  FAILURE,
  /** @since 0.3.0 */
  initialState,
  /** @since 0.3.0 */
  ISOLATE,
  /** @since 0.3.0 */
  machine,
  /** @since 0.3.0 */
  outcome,
  /** @since 0.3.0 */
  RESET,
  /** @since 0.3.0 */
  resolve,
  /** @since 0.3.0 */
  SLOW,
  /** @since 0.3.0 */
  TICK
} from "./internal/circuitBreaker.js"
export type {
  Decision,
  Event,
  Outcome,
  OutcomeKind,
  Settings,
  State,
  StateName,
  Step,
  Transition
} from "./internal/circuitBreaker.js"
