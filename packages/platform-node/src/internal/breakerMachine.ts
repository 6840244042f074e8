/**
 * @internal Core's pure circuit-breaker machine, as the Redis breaker uses it: one import
 * site, so the path changes in one place once core's public `CircuitBreaker` module
 * re-exports it.
 */
export { verdict } from "@effect-backoff/core/internal/callbacks"
export {
  ADMIT,
  FAILURE,
  initialState,
  ISOLATE,
  machine,
  outcome,
  RESET,
  resolve,
  SLOW,
  TICK
} from "@effect-backoff/core/internal/circuitBreaker"
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
} from "@effect-backoff/core/internal/circuitBreaker"
