// The client of the tail-latency and throttle figures (bench/tail.mjs). Started as:
//   node --import tsx bench/tail-worker.ts URL PLAN_JSON
// PLAN_JSON: { seed, tail: { rate, warmup, calls, fixedDelayMillis, quantile },
//              throttle: { rate, warmupMillis, measureMillis, k, windowMillis } }
// Runs each mode in turn against the server at URL, through NodeHttpBackoff.layer (the
// Node client, HttpBackoff's `hedge` and `throttle` options), sending calls at a steady
// rate (open loop: a slow call does not delay the next). Before each mode it tells the
// server which scenario to play and when the measured phase starts and ends
// (`/__control`); the server counts what it receives. Prints one JSON line per mode:
// { mode, calls, latencies? (ms, measured calls only), throttled? }.
// A benchmark may read the real clock; the library never does.
import { AdaptiveThrottle, Backoff } from "@effect-backoff/core"
import { NodeHttpBackoff } from "@effect-backoff/platform-node"
import { HttpClient } from "@effect/platform"
import { Context, Effect, Fiber, Layer, Random } from "effect"

const [url, planText] = process.argv.slice(2)
const plan = JSON.parse(planText!) as {
  readonly seed: number
  readonly tail: {
    readonly rate: number
    readonly warmup: number
    readonly calls: number
    readonly rounds: number
    readonly fixedDelayMillis: number
    readonly quantile: number
  }
  readonly throttle: {
    readonly rate: number
    readonly warmupMillis: number
    readonly measureMillis: number
    readonly k: number
    readonly windowMillis: number
  }
}

const control = (query: string) => Effect.promise(() => fetch(`${url}/__control?${query}`).then((r) => r.text()))

interface Result {
  readonly mode: string
  readonly calls: number
  readonly latencies?: ReadonlyArray<number>
  readonly throttled?: number
}

/**
 * Sends calls at `rate` per second until `until(sent, elapsedMillis)` says stop; `call(i)`
 * is forked for each. Waits for all of them.
 */
const steady = <R>(
  rate: number,
  until: (sent: number, elapsed: number) => boolean,
  call: (i: number) => Effect.Effect<void, never, R>
) =>
  Effect.gen(function*() {
    const fibers: Array<Fiber.RuntimeFiber<void>> = []
    const interval = 1000 / rate
    const start = performance.now()
    let sent = 0
    while (!until(sent, performance.now() - start)) {
      const wait = start + sent * interval - performance.now()
      if (wait > 1) yield* Effect.sleep(wait)
      fibers.push(yield* Effect.fork(call(sent)))
      sent++
    }
    yield* Fiber.joinAll(fibers)
    return sent
  })

/**
 * The hedge modes, interleaved: round r sends one block of calls per mode in turn, the
 * server replaying the same latency draws (seed + r) for each, so a change in the
 * machine's load falls on every mode alike. Each mode keeps its client (and its latency
 * tracker) across rounds.
 */
const tailModes = (modes: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]>) =>
  Effect.scoped(Effect.gen(function*() {
    const { calls, rate, rounds, warmup } = plan.tail
    const clients: Array<readonly [string, Effect.Effect<string>]> = []
    for (const [mode, layer] of modes) {
      const context = yield* Layer.build(layer)
      const http = Context.get(context, HttpClient.HttpClient)
      clients.push([mode, http.get(`${url}/work`).pipe(Effect.flatMap((r) => r.text), Effect.orDie)])
    }
    yield* control(`scenario=tail&seed=${plan.seed}&phase=warmup`)
    // warm-up: connections opened, the latency trackers filled; not measured
    for (const [, get] of clients) yield* steady(rate, (sent) => sent >= warmup, () => Effect.asVoid(get))
    const perRound = Math.ceil(calls / rounds)
    const latencies = new Map(clients.map(([mode]) => [mode, [] as Array<number>]))
    for (let round = 0; round < rounds; round++) {
      for (const [mode, get] of clients) {
        yield* control(`seed=${plan.seed + round}&phase=measure&mode=${encodeURIComponent(mode)}`)
        const samples = latencies.get(mode)!
        yield* steady(rate, (sent) => sent >= perRound, () =>
          Effect.suspend(() => {
            const t0 = performance.now()
            return Effect.map(get, () => {
              samples.push(performance.now() - t0)
            })
          }))
        yield* control("phase=idle")
      }
    }
    return clients.map(([mode]): Result => ({
      mode,
      calls: latencies.get(mode)!.length,
      latencies: latencies.get(mode)!
    }))
  }))

const throttleMode = (mode: string, throttled: boolean) =>
  Effect.gen(function*() {
    const { k, measureMillis, rate, warmupMillis, windowMillis } = plan.throttle
    const throttle = yield* AdaptiveThrottle.make({ k, window: `${windowMillis} millis`, name: "bench" })
    const layer = throttled
      ? NodeHttpBackoff.layer({ maxTries: 1, logger: false, throttle })
      : NodeHttpBackoff.layer({ maxTries: 1, logger: false })
    return yield* Effect.gen(function*() {
      const http = yield* HttpClient.HttpClient
      let rejected = 0
      let measuring = false
      const get = http.get(`${url}/work`).pipe(
        Effect.flatMap((r) => r.text),
        // the layer's HttpClient is typed HttpClientError only: the throttle's rejection is told by its tag
        Effect.catchAll((e: unknown) =>
          e instanceof AdaptiveThrottle.ThrottledError
            ? Effect.sync(() => {
              if (measuring) rejected++
              return ""
            })
            : Effect.die(e)
        ),
        Effect.asVoid
      )
      yield* control(`scenario=capacity&seed=${plan.seed}&rate=${rate}&phase=warmup&mode=${encodeURIComponent(mode)}`)
      yield* steady(rate, (_, elapsed) => elapsed >= warmupMillis, () => get)
      yield* control("phase=measure")
      measuring = true
      const made = yield* steady(rate, (_, elapsed) => elapsed >= measureMillis, () => get)
      measuring = false
      yield* control("phase=idle")
      return { mode, calls: made, throttled: rejected } satisfies Result
    }).pipe(Effect.provide(layer))
  }).pipe(Effect.withRandom(Random.make(plan.seed)))

const base = { maxTries: 1, logger: false } as const

const program = Effect.gen(function*() {
  const only = process.env.TAIL_ONLY?.split(",")
  const wanted = (name: string) => only === undefined || only.includes(name)
  const hedgeModes = ([
    ["no hedge", NodeHttpBackoff.layer(base)],
    ["fixed hedge", NodeHttpBackoff.layer({ ...base, hedge: { delay: `${plan.tail.fixedDelayMillis} millis` } })],
    ["p95 hedge", NodeHttpBackoff.layer({ ...base, hedge: { delay: Backoff.latencyQuantile(plan.tail.quantile) } })]
  ] as const).filter(([name]) => wanted(name))
  const emit = (r: Result) => Effect.sync(() => process.stdout.write(`${JSON.stringify(r)}\n`))
  if (hedgeModes.length > 0) {
    process.stderr.write(`tail: ${hedgeModes.map(([n]) => n).join(", ")}, interleaved...\n`)
    for (const r of yield* tailModes(hedgeModes)) yield* emit(r)
  }
  for (const [name, throttled] of [["no throttle", false], ["throttle", true]] as const) {
    if (!wanted(name)) continue
    process.stderr.write(`tail: ${name}...\n`)
    yield* emit(yield* throttleMode(name, throttled))
  }
})

Effect.runPromise(program).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
