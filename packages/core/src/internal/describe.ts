import { Duration } from "effect"

/** @internal Renders a value for an error message: strings quoted, objects briefly. */
export const describeValue = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "bigint":
      return `${value}n`
    case "function":
      return value.name ? `function ${value.name}` : "a function"
    case "symbol":
      return value.toString()
    case "object": {
      if (value === null) return "null"
      if (Duration.isDuration(value)) return Duration.format(value)
      if (Array.isArray(value)) return `[${value.map(describeValue).join(", ")}]`
      try {
        const json = JSON.stringify(value)
        return json === undefined ? String(value) : json.length > 80 ? `${json.slice(0, 77)}...` : json
      } catch {
        return String(value)
      }
    }
    default:
      return String(value)
  }
}

/**
 * @internal The text inside a log line's final parentheses: `Tag: message` for a
 * tagged error, `Name: message` for an `Error`, else `String(value)`.
 */
export const describeOutcome = (value: unknown): string => {
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
    return Object.prototype.toString.call(value)
  }
}
