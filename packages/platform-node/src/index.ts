/**
 * @since 0.1.0
 */
export * as NodeHttpBackoff from "./NodeHttpBackoff.js"

/**
 * @since 0.2.0
 */
export * as RedisRetryBudget from "./RedisRetryBudget.js"

/**
 * @since 0.3.0
 */
export * as RedisCircuitBreaker from "./RedisCircuitBreaker.js"
