// Clocks for the Effect implementations. Every Effect implementation in a scenario runs
// on the same clock class, provided once around the whole measured program
// (Effect.withClock), so the clock's own cost is identical on every side.
import { Clock, Duration, Effect } from "effect"

/**
 * Virtual time whose sleep advances the time and returns at once. This is what the
 * retry-on-virtual-time scenario needs: TestClock.adjust costs milliseconds of wall time
 * per step and would drown the library's own cost.
 */
export class InstantClock {
  [Clock.ClockTypeId] = Clock.ClockTypeId
  now = 0
  sleeps = 0
  currentTimeMillis = Effect.sync(() => this.now)
  currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())

  unsafeCurrentTimeMillis() {
    return this.now
  }

  unsafeCurrentTimeNanos() {
    return BigInt(Math.round(this.now * 1e6))
  }

  sleep(duration) {
    return Effect.sync(() => {
      this.sleeps++
      this.now += Duration.toMillis(duration)
    })
  }
}

/**
 * Virtual time whose sleep parks the fiber until `release()`: the scale scenario holds
 * 100,000 operations inside their wait and measures the heap they keep alive.
 */
export class ParkingClock {
  [Clock.ClockTypeId] = Clock.ClockTypeId
  now = 0
  sleeps = 0
  requested = 0
  parked = []
  currentTimeMillis = Effect.sync(() => this.now)
  currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())

  unsafeCurrentTimeMillis() {
    return this.now
  }

  unsafeCurrentTimeNanos() {
    return BigInt(Math.round(this.now * 1e6))
  }

  sleep(duration) {
    const millis = Duration.toMillis(duration)
    return Effect.async((resume) => {
      this.sleeps++
      this.requested += millis
      this.parked.push(resume)
    })
  }

  /** Advances the time by `millis` and wakes every parked fiber. */
  release(millis) {
    this.now += millis
    const parked = this.parked
    this.parked = []
    for (const resume of parked) resume(Effect.void)
  }
}

/** The real clock, counting the sleeps it is asked for (to check every side slept alike). */
export class CountingClock {
  [Clock.ClockTypeId] = Clock.ClockTypeId
  sleeps = 0
  slept = 0
  inner = Clock.make()
  currentTimeMillis = this.inner.currentTimeMillis
  currentTimeNanos = this.inner.currentTimeNanos

  unsafeCurrentTimeMillis() {
    return this.inner.unsafeCurrentTimeMillis()
  }

  unsafeCurrentTimeNanos() {
    return this.inner.unsafeCurrentTimeNanos()
  }

  sleep(duration) {
    this.sleeps++
    this.slept += Duration.toMillis(duration)
    return this.inner.sleep(duration)
  }
}
