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

/**
 * @since 0.1.0
 */
export * as HttpBackoff from "./HttpBackoff.js"

/**
 * @since 0.2.0
 */
export * as RetryBudget from "./RetryBudget.js"
