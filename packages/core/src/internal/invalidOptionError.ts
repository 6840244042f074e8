import { Data } from "effect"
import { describeValue, jsonValue } from "./describe.js"

/**
 * @internal The error every bad option turns into; exported by the public module
 * InvalidOptionError.ts (internal code never imports a public module).
 */
export class InvalidOptionError extends Data.TaggedError("InvalidOptionError")<{
  readonly option: string
  readonly value: unknown
  readonly expected: string
}> {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.option} must be ${this.expected}, got ${describeValue(this.value)}`
  }

  /**
   * The fields as JSON; a value that does not serialize (circular, bigint) appears as its
   * description, so `JSON.stringify(error)` and `String(exit)` never throw.
   *
   * @since 0.2.0
   */
  override toJSON(): unknown {
    return { _tag: this._tag, option: this.option, value: jsonValue(this.value), expected: this.expected }
  }
}
