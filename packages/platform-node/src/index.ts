/**
 * @since 0.1.0
 */
export * as NodeHttpBackoff from "./NodeHttpBackoff.js"
