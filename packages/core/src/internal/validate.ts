import "./effectVersion.js"
import { Duration } from "effect"
import { InvalidOptionError } from "./invalidOptionError.js"

/** @internal The longest sleep Effect's clock can arm (Node's timer limit); longer would never fire. */
export const MAX_WAIT_MILLIS = 2 ** 31 - 1

const DURATION_STRING = /^(-?\d+(?:\.\d+)?)\s+(nanos?|micros?|millis?|seconds?|minutes?|hours?|days?|weeks?)$/

/** @internal */
export const invalid = (option: string, value: unknown, expected: string): InvalidOptionError =>
  new InvalidOptionError({ option, value, expected })

const DURATION_EXPECTED = "a non-negative duration (\"2 seconds\", a number of milliseconds, a Duration)"

/**
 * @internal Reads a `DurationInput` as milliseconds, looking at the raw input first:
 * Effect decodes `-5`, `NaN` and `"-1 seconds"` to zero, which would hide the mistake.
 * Throws `InvalidOptionError` naming `option`.
 */
export const durationMillis = (
  option: string,
  input: unknown,
  allowInfinite = false
): number => {
  let millis: number
  if (typeof input === "number") {
    millis = input
  } else if (typeof input === "bigint") {
    millis = Number(input) / 1e6
  } else if (typeof input === "string") {
    const match = DURATION_STRING.exec(input.trim())
    if (match === null) {
      if (allowInfinite && input.trim() === "Infinity") return Infinity
      throw invalid(option, input, DURATION_EXPECTED)
    }
    millis = Duration.toMillis(Duration.decode(`${Math.abs(Number(match[1]))} ${match[2]}` as Duration.DurationInput))
    if (match[1]!.startsWith("-") && millis !== 0) millis = -millis
  } else if (Duration.isDuration(input)) {
    millis = Duration.toMillis(input)
  } else if (Array.isArray(input) && input.length === 2 && input.every((n) => typeof n === "number")) {
    const [s, ns] = input as [number, number]
    millis = s * 1000 + ns / 1e6
  } else {
    throw invalid(option, input, DURATION_EXPECTED)
  }
  if (Number.isNaN(millis) || millis < 0 || (!allowInfinite && millis === Infinity)) {
    throw invalid(option, input, allowInfinite ? DURATION_EXPECTED : "a finite, non-negative duration")
  }
  return millis
}

/** @internal A finite number > 0 (or >= 0 with `allowZero`). */
export const positiveNumber = (option: string, input: unknown, allowZero = false): number => {
  if (typeof input !== "number" || !Number.isFinite(input) || input < 0 || (!allowZero && input === 0)) {
    throw invalid(option, input, allowZero ? "a finite number >= 0" : "a finite number > 0")
  }
  return input
}

/** @internal An integer >= 1, or Infinity for "unlimited". */
export const maxTriesValue = (input: unknown): number => {
  if (input === Infinity) return Infinity
  if (typeof input !== "number" || !Number.isInteger(input) || input < 1) {
    throw invalid("maxTries", input, "an integer >= 1")
  }
  return input
}

/** @internal A function, or throws naming the option. */
export const isFunctionOption = <F>(option: string, input: unknown): F => {
  if (typeof input !== "function") throw invalid(option, input, "a function")
  return input as F
}

/**
 * @internal A constructor's options object: `undefined` is `{}`; anything that is not a
 * plain options object (`null`, `5`, `"fast"`, an array, a Duration) is an
 * `InvalidOptionError` naming `name`, and so is a key `keys` does not list (a misspelt
 * `max_value` would otherwise vanish and take the cap with it), named `name.key`.
 * A key whose value is `undefined` is ignored, as for the policy options.
 */
export const optionsObject = (
  name: string,
  input: unknown,
  keys: ReadonlyArray<string>
): Readonly<Record<string, unknown>> => {
  if (input === undefined) return {}
  const shape = keys.length === 0 ? "{}" : `{ ${keys.join(", ")} }`
  if (typeof input !== "object" || input === null || Array.isArray(input) || Duration.isDuration(input)) {
    throw invalid(name, input, `an options object ${shape} or nothing`)
  }
  const o = input as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!keys.includes(key) && o[key] !== undefined) {
      throw invalid(`${name}.${key}`, o[key], `a known option of ${name} (one of ${keys.join(", ")})`)
    }
  }
  return o
}

/**
 * @internal An entry point's options object (`undefined` and `null` are `{}`) whose keys
 * `keys` lists: an unknown name is a typo, and a typo must not pass silently.
 */
export const record = (options: unknown, keys: ReadonlyArray<string>): Record<string, unknown> => {
  if (options === undefined || options === null) return {}
  if (typeof options !== "object" || Array.isArray(options)) throw invalid("options", options, "an object")
  const o = options as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!keys.includes(key) && o[key] !== undefined) {
      throw invalid(key, o[key], `a known option (one of ${keys.join(", ")})`)
    }
  }
  return o
}
