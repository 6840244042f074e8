import { Wait } from "@effect-backoff/core"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"

describe("smoke", () => {
  it.effect("expo", () =>
    Effect.gen(function*() {
      const waits = yield* Wait.delays(Wait.expo(), 3)
      expect(waits.map(Duration.toSeconds)).toEqual([1, 2, 4])
    }))
})
