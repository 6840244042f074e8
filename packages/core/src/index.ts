// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"

/**
 * @since 0.1.0
 */
export * as Wait from "./Wait.js"

/**
 * @since 0.1.0
 */
export * as Jitter from "./Jitter.js"

/**
 * @since 0.1.0
 */
export { InvalidOptionError } from "./InvalidOptionError.js"

/**
 * @since 0.1.0
 */
export * as Backoff from "./Backoff.js"

/**
 * @since 0.1.0
 */
export * as Timeline from "./Timeline.js"

// HttpBackoff is its own entry point, `@effect-backoff/core/HttpBackoff`: it needs
// @effect/platform (an optional peer), which this main entry must not load.

/**
 * @since 0.2.0
 */
export * as RetryBudget from "./RetryBudget.js"

/**
 * @since 0.3.0
 */
export * as AdaptiveThrottle from "./AdaptiveThrottle.js"
export * as CircuitBreaker from "./CircuitBreaker.js"
export * as CircuitBreakerMachine from "./CircuitBreakerMachine.js"
