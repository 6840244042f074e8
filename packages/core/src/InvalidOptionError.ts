/**
 * The error every bad option turns into.
 *
 * @since 0.1.0
 */
// first: a wrong effect major fails here, with a sentence naming the versions needed
import "./internal/effectVersion.js"

/**
 * An option had a value that cannot mean anything sensible (a negative duration,
 * `maxTries: 0`, an empty list of intervals, a handler that is not a function, ...).
 *
 * **Details**
 *
 * `option` names the option and `value` holds what was passed; the message names both,
 * e.g. `maxTries must be an integer >= 1, got 0`. The message never throws, whatever the
 * value (circular structures, bigints, symbols, Proxies): the value is shown in a bounded,
 * safe form. A static value throws this at
 * construction; a value read at run time (from an `Effect` or a `Config`) fails that run
 * before the first attempt, as a typed failure.
 *
 * @example
 * ```ts
 * import { Backoff, InvalidOptionError } from "@effect-backoff/core"
 *
 * try {
 *   Backoff.onException({ maxTries: 0 })
 * } catch (e) {
 *   console.log(e instanceof InvalidOptionError) // true
 *   console.log((e as InvalidOptionError).message) // maxTries must be an integer >= 1, got 0
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export { InvalidOptionError } from "./internal/invalidOptionError.js"
