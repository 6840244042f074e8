/**
 * @internal Core's pure circuit-breaker machine (the public `CircuitBreakerMachine`
 * module), as the Redis breaker uses it: one import site.
 */
export { verdict } from "@effect-backoff/core/CircuitBreakerMachine"
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
} from "@effect-backoff/core/CircuitBreakerMachine"
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
} from "@effect-backoff/core/CircuitBreakerMachine"
