import { Duration } from "effect"

/** @internal The longest text `describeValue` returns, in characters. */
export const MAX_DESCRIBED_LENGTH = 120

/** How deep `describeValue` looks into arrays and objects, how many items and keys it shows. */
const MAX_DEPTH = 2
const MAX_ITEMS = 8
const MAX_STRING = 60

const ELLIPSIS = "…"

/** The last resort: never throws, whatever `value` is (a revoked Proxy included). */
const fallback = (value: unknown): string => {
  try {
    return Object.prototype.toString.call(value)
  } catch {
    return typeof value === "function" ? "a function" : "an object"
  }
}

const quote = (s: string): string =>
  s.length > MAX_STRING ? `${JSON.stringify(s.slice(0, MAX_STRING)).slice(0, -1)}${ELLIPSIS}"` : JSON.stringify(s)

const KEY = /^[A-Za-z_$][\w$]*$/

const className = (value: object): string => {
  const proto = Object.getPrototypeOf(value)
  if (proto === null) return "[Object: null prototype] "
  if (proto === Object.prototype) return ""
  const ctor = Object.prototype.hasOwnProperty.call(proto, "constructor") ? proto.constructor : undefined
  const name = typeof ctor === "function" ? ctor.name : ""
  return typeof name === "string" && name !== "" ? `${name} ` : ""
}

/** One item or property: a getter (or a nested value) that throws shows as `[unreadable]`. */
const guarded = (read: () => unknown, depth: number, seen: Set<object>): string => {
  try {
    return render(read(), depth, seen)
  } catch {
    return "[unreadable]"
  }
}

const render = (value: unknown, depth: number, seen: Set<object>): string => {
  switch (typeof value) {
    case "string":
      return quote(value)
    case "number":
      return Object.is(value, -0) ? "-0" : String(value)
    case "bigint":
      return `${value}n`
    case "symbol":
      return value.toString()
    case "undefined":
    case "boolean":
      return String(value)
    case "function": {
      const name = value.name
      return typeof name === "string" && name !== "" ? `function ${name}` : "a function"
    }
  }
  if (value === null) return "null"
  const object = value as object
  if (Duration.isDuration(object)) return Duration.format(object)
  if (seen.has(object)) return "[Circular]"
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString()
  if (object instanceof Error) {
    const name = typeof object.name === "string" ? object.name : "Error"
    const message = typeof object.message === "string" ? object.message : ""
    return message === ""
      ? name
      : `${name}: ${message.length > MAX_STRING ? `${message.slice(0, MAX_STRING)}${ELLIPSIS}` : message}`
  }
  const isArray = Array.isArray(object)
  if (depth >= MAX_DEPTH) return isArray ? `[${ELLIPSIS}]` : `{${ELLIPSIS}}`
  seen.add(object)
  try {
    if (isArray) {
      const items = object as ReadonlyArray<unknown>
      const shown = items.slice(0, MAX_ITEMS).map((item) => guarded(() => item, depth + 1, seen))
      if (items.length > MAX_ITEMS) shown.push(`${ELLIPSIS} ${items.length - MAX_ITEMS} more`)
      return `[${shown.join(", ")}]`
    }
    const keys = Object.keys(object)
    const prefix = className(object)
    if (keys.length === 0) return `${prefix}{}`
    const shown = keys.slice(0, MAX_ITEMS).map((key) =>
      `${KEY.test(key) ? key : JSON.stringify(key)}: ${
        guarded(() => (object as Record<string, unknown>)[key], depth + 1, seen)
      }`
    )
    if (keys.length > MAX_ITEMS) shown.push(`${ELLIPSIS} ${keys.length - MAX_ITEMS} more`)
    return `${prefix}{ ${shown.join(", ")} }`
  } finally {
    seen.delete(object)
  }
}

/**
 * @internal Renders a value for an error message: strings quoted, arrays and objects
 * briefly (two levels deep, eight items, circular references as `[Circular]`), at most
 * `MAX_DESCRIBED_LENGTH` characters. Never throws, whatever the value: bigints, symbols,
 * objects whose `toString` or getters throw, Proxies.
 */
export const describeValue = (value: unknown): string => {
  let text: string
  try {
    text = render(value, 0, new Set())
  } catch {
    text = fallback(value)
  }
  return text.length > MAX_DESCRIBED_LENGTH ? `${text.slice(0, MAX_DESCRIBED_LENGTH - 1)}${ELLIPSIS}` : text
}

/**
 * @internal The text inside a log line's final parentheses: `Tag: message` for a
 * tagged error, `Name: message` for an `Error`, else `String(value)`.
 */
export const describeOutcome = (value: unknown): string => {
  try {
    return outcome(value)
  } catch {
    return fallback(value)
  }
}

const outcome = (value: unknown): string => {
  if (typeof value === "object" && value !== null) {
    const tag = (value as { readonly _tag?: unknown })._tag
    const message = (value as { readonly message?: unknown }).message
    if (typeof tag === "string") {
      return typeof message === "string" && message !== "" ? `${tag}: ${message}` : tag
    }
    if (value instanceof Error) {
      return value.message !== "" ? `${value.name}: ${value.message}` : value.name
    }
  }
  try {
    return String(value)
  } catch {
    return fallback(value)
  }
}

/**
 * @internal `value` as it may appear in JSON: itself when it serializes (to at most a few
 * kilobytes), else its `describeValue` text. `JSON.stringify(error)` and `String(exit)`
 * must not throw on a circular or bigint value either.
 */
export const jsonValue = (value: unknown): unknown => {
  if (value === undefined) return undefined
  try {
    const json = JSON.stringify(value)
    if (json !== undefined && json.length <= 4096) return value
  } catch {
    // not serializable: described below
  }
  return describeValue(value)
}
