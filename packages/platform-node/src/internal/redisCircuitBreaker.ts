/**
 * @internal The circuit breaker shared on Redis (the public module `RedisCircuitBreaker`
 * documents it). It runs core's pure state machine (`machine`, `State`, events), not a
 * second copy of its rules:
 *
 * - Redis holds, per breaker key, the machine's JSON `State` with a version
 *   (`<version>|<json>`). Each process decides locally from its copy: the last state read
 *   plus its own outcomes not yet sent, stepped over it (`view`). The success path never
 *   waits on Redis.
 * - A sync fiber sends, at most every `syncInterval`, one script call per key: the batch
 *   of outcomes stepped over the shared state it last read, as a compare-and-set on the
 *   version. On a conflict the script answers with the fresh state and the process steps
 *   the same batch over it again. A batch keeps its id until it is applied and the script
 *   remembers each client's last applied id, so a batch whose answer was lost counts once.
 *   Only one command is in flight per process: while one has not answered, nothing else is
 *   sent (a stall queues nothing), and after `timeout` the process decides locally.
 * - Time is the server's (`TIME` in the script); a process steps on its Clock's monotonic
 *   time plus the offset measured at each answer.
 * - Probes are leased fleet-wide: `SET slot client NX PX lease` over `probes` slot keys.
 * - Quorum: the script keeps a sorted set client id → last failure time; an opening
 *   (`tripped`) is written only when the clients that failed within `quorumWindow`, this
 *   one included, are at least `quorum`; until then the failures stay in the window.
 * - Redis unreachable (no answer within `timeout`, not connected, an error such as a key
 *   of the wrong type): the process goes on with a local breaker, the same machine
 *   stepped from its last view, says so once (a warning and the `fallbacks` metric), and
 *   goes back to the shared state at the first answer. Nothing is queued meanwhile.
 */
import { CircuitBreaker } from "@effect-backoff/core"
import { Cause, Clock, Context, Duration, Effect, Layer, Metric, Option, PubSub, Runtime, Stream } from "effect"
import type { Scope } from "effect"
import type { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import * as machineApi from "./breakerMachine.js"
import type { Event, Settings, State, StateName, Step, Transition } from "./breakerMachine.js"
import type { RedisInput } from "./redisClient.js"
import {
  describe,
  invalid,
  isReady,
  millisOption,
  redisOption,
  runScript,
  scopedClient,
  script
} from "./redisClient.js"

// ---------------------------------------------------------------------------
// The script
// ---------------------------------------------------------------------------

/**
 * @internal KEYS: state, quorum set, batch ids, probe slots 1..n. ARGV[1] op.
 * `sync`: client, batch id, expected version, new state ('' to read), failed (0/1),
 * trips (0/1), quorum, quorum window ms, ttl ms, transitioned (0/1), slots to release (csv).
 * `lease`: client, lease ms, quorum window ms.
 * Returns { status, server ms, version, state text, other failing clients, slot }.
 */
export const SCRIPT = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local raw = redis.call('GET', KEYS[1])
local version, text = 0, ''
if raw then
  local bar = string.find(raw, '|', 1, true)
  if bar then
    version = tonumber(string.sub(raw, 1, bar - 1)) or 0
    text = string.sub(raw, bar + 1)
  end
end
local op, client = ARGV[1], ARGV[2]
local function others(window)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  local n = redis.call('ZCARD', KEYS[2])
  if redis.call('ZSCORE', KEYS[2], client) then n = n - 1 end
  return n
end
if op == 'lease' then
  local slot = 0
  for i = 4, #KEYS do
    if redis.call('SET', KEYS[i], client, 'NX', 'PX', ARGV[3]) then
      slot = i - 3
      break
    end
  end
  return { 'lease', now, version, text, others(tonumber(ARGV[4])), slot }
end
for s in string.gmatch(ARGV[12], '%d+') do
  local k = KEYS[3 + tonumber(s)]
  if k and redis.call('GET', k) == client then redis.call('DEL', k) end
end
local window = tonumber(ARGV[9])
if ARGV[5] == '' then return { 'read', now, version, text, others(window), 0 } end
if redis.call('HGET', KEYS[3], client) == ARGV[3] then return { 'dup', now, version, text, others(window), 0 } end
if ARGV[6] == '1' then
  redis.call('ZADD', KEYS[2], now, client)
  redis.call('PEXPIRE', KEYS[2], window + 1000)
end
local n = others(window)
if version ~= tonumber(ARGV[4]) then return { 'conflict', now, version, text, n, 0 } end
local mine = 0
if redis.call('ZSCORE', KEYS[2], client) then mine = 1 end
if ARGV[7] == '1' and n + mine < tonumber(ARGV[8]) then return { 'quorum', now, version, text, n, 0 } end
version = version + 1
redis.call('SET', KEYS[1], version .. '|' .. ARGV[5], 'PX', ARGV[10])
redis.call('HSET', KEYS[3], client, ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[10])
if ARGV[11] == '1' then
  redis.call('DEL', KEYS[2])
  n = 0
end
return { 'ok', now, version, ARGV[5], n, 0 }
`)

type Reply = [status: string, now: number, version: number, text: string, others: number, slot: number]

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

const EXTRA = ["redis", "key", "syncInterval", "timeout", "quorum", "quorumWindow", "clientId"]

/** @internal Validated options. */
export interface Resolved {
  readonly settings: Settings
  readonly redis: RedisInput
  readonly key: string
  readonly syncMillis: number
  readonly timeoutMillis: number
  readonly quorum: number
  readonly quorumWindowMillis: number
  readonly leaseMillis: number
  readonly clientId: string
}

/** A state key lives this long after its last write (an idle breaker is forgotten: closed). */
const STATE_TTL = 24 * 3600 * 1000
/** Without a `probeTimeout`, a probe's lease lasts this long. */
const DEFAULT_LEASE = 30_000
/** Outcomes kept for the next batch at most (the oldest go first). */
const MAX_PENDING = 1000
/** How long the first connection may take before the store counts as away (ms). */
const CONNECT_GRACE = 1000
/** Compare-and-set attempts per key and sync. */
const MAX_ATTEMPTS = 3

/** @internal */
export const resolve = (options: unknown): Resolved => {
  if (typeof options !== "object" || options === null) throw invalid("options", options, "an object with redis and key")
  const o = options as Record<string, unknown>
  const settings = machineApi.resolve(o, EXTRA)
  if (typeof o.key !== "string" || o.key === "") {
    throw invalid("key", o.key, "a non-empty string (the Redis key of the breaker)")
  }
  const redis = redisOption(o.redis)
  const quorum = o.quorum === undefined ? 1 : o.quorum
  if (typeof quorum !== "number" || !Number.isInteger(quorum) || quorum < 1) {
    throw invalid("quorum", quorum, "an integer >= 1 (distinct clients whose failures open the breaker)")
  }
  if (o.clientId !== undefined && (typeof o.clientId !== "string" || o.clientId === "")) {
    throw invalid("clientId", o.clientId, "a non-empty string")
  }
  const policyWindow = settings.policy._tag === "Sampling"
    ? Duration.toMillis(settings.policy.options.duration as Duration.Duration)
    : 60_000
  return {
    settings,
    redis,
    key: o.key,
    syncMillis: millisOption("syncInterval", o.syncInterval, 100, 1),
    timeoutMillis: millisOption("timeout", o.timeout, 100, 1),
    quorum,
    quorumWindowMillis: millisOption("quorumWindow", o.quorumWindow, policyWindow, 1),
    leaseMillis: settings.probeTimeout === Infinity ? DEFAULT_LEASE : Math.ceil(settings.probeTimeout),
    clientId: (o.clientId as string | undefined) ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  }
}

// ---------------------------------------------------------------------------
// Observability
// ---------------------------------------------------------------------------

/** @internal Switches to the local fallback breaker (one per outage seen by a process). */
export const fallbacks = Metric.counter("circuit_breaker_store_fallbacks_total", {
  description: "Times a shared circuit breaker fell back to a local one because Redis was unreachable",
  incremental: true
})

/** @internal Probe leases asked for and granted / refused (tagged `granted`). */
export const leases = Metric.counter("circuit_breaker_probe_leases_total", {
  description: "Fleet-wide probe leases asked for, tagged by granted",
  incremental: true
})

/**
 * @internal A call the breaker did not let through (the effect was not run): core's
 * `CircuitBreaker.OpenError`, so one `catchTag("OpenError")` serves both breakers.
 */
export const OpenError: typeof CircuitBreaker.OpenError = CircuitBreaker.OpenError
/** @internal */
export type OpenError = CircuitBreaker.OpenError

const openError = (key: string, retryAfter: number, state: StateName): OpenError => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new OpenError({
      key,
      retryAfter: retryAfter === Infinity ? Duration.infinity : Duration.millis(Math.max(0, retryAfter)),
      state
    })
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** @internal A transition as `changes` shows it. */
export interface Change extends Transition {
  readonly key: string
  /** The Clock's time of the transition (epoch milliseconds). */
  readonly at: number
  /** Seen in the shared state, or decided by the local fallback breaker. */
  readonly store: "redis" | "local"
}

// ---------------------------------------------------------------------------
// The store: one client, one command in flight, the away/back switch
// ---------------------------------------------------------------------------

/** Effect's default Clock (not the fiber's): for the timeouts of real I/O only. */
const ioClock = Clock.make()

/** Monotonic milliseconds, as the retry loop reads them. */
const monotonic = (clock: Clock.Clock): number => Number(clock.unsafeCurrentTimeNanos()) / 1e6

interface Pending {
  readonly event: Event
  readonly now: number
  /** A lease slot to give back with the batch that carries this outcome. */
  readonly slot: number
}

/** @internal The process's side of one Redis server: the client, the lane, the clock offset. */
class Store {
  /** The command in flight, since when (monotonic ms). */
  busySince: number | undefined = undefined
  /** Redis did not answer: decisions are local until it does. */
  away = false
  closed = false
  /** Server ms − monotonic ms, measured at each answer. */
  offset: number
  answered = false
  readonly started: number

  constructor(
    readonly client: Redis,
    readonly resolved: Resolved,
    readonly run: (effect: Effect.Effect<void>) => void,
    clock: Clock.Clock
  ) {
    this.offset = clock.unsafeCurrentTimeMillis() - monotonic(clock)
    this.started = monotonic(clock)
  }

  now(clock: Clock.Clock): number {
    return monotonic(clock) + this.offset
  }

  /** Sends one command if none is in flight and the client is ready; undefined otherwise. */
  send(keys: ReadonlyArray<string>, args: ReadonlyArray<string>, clock: Clock.Clock): Promise<Reply> | undefined {
    if (this.busySince !== undefined || this.closed) return undefined
    if (!isReady(this.client)) {
      // the first connection gets a grace period (decisions are local, the breaker closed,
      // but that is no outage to report); after it, not ready means away
      const status = this.client.status
      const connecting = status === "wait" || status === "connecting" || status === "connect"
      if (!(this.answered === false && connecting && monotonic(clock) - this.started < CONNECT_GRACE)) {
        this.goAway(`not connected (${status})`)
      }
      return undefined
    }
    const sent = monotonic(clock)
    this.busySince = sent
    return runScript<Array<unknown>>(this.client, SCRIPT, keys, args).then(
      (r) => {
        this.busySince = undefined
        this.answered = true
        const reply: Reply = [String(r[0]), Number(r[1]), Number(r[2]), String(r[3] ?? ""), Number(r[4]), Number(r[5])]
        const received = monotonic(clock)
        this.offset = reply[1] - (sent + received) / 2
        this.comeBack()
        return reply
      },
      (e: unknown) => {
        this.busySince = undefined
        this.goAway(describe(e))
        throw e
      }
    )
  }

  /** Called by the sync fiber: a command without an answer for `timeout` means Redis is away. */
  check(clock: Clock.Clock): void {
    if (this.busySince !== undefined && monotonic(clock) - this.busySince > this.resolved.timeoutMillis) {
      this.goAway(`no answer within ${this.resolved.timeoutMillis} ms`)
    }
  }

  onAway: () => void = () => {}

  goAway(reason: string): void {
    if (this.away || this.closed) return
    this.away = true
    this.onAway()
    this.run(Effect.zipRight(
      Metric.increment(fallbacks),
      Effect.logWarning(
        `RedisCircuitBreaker ${this.resolved.key}: Redis is unreachable (${reason}); deciding with a local breaker until it answers`
      )
    ))
  }

  comeBack(): void {
    if (!this.away) return
    this.away = false
    this.run(
      Effect.logInfo(`RedisCircuitBreaker ${this.resolved.key}: Redis answers again; back to the shared breaker`)
    )
  }
}

// ---------------------------------------------------------------------------
// One shared breaker
// ---------------------------------------------------------------------------

/** @internal What the breaker said to one call. */
type Ticket =
  | {
    readonly admitted: true
    readonly probe: boolean
    readonly generation: number
    readonly start: number
    readonly slot: number
  }
  | { readonly admitted: false; readonly error: OpenError }

const TIMED_OUT: unique symbol = Symbol("@effect-backoff/platform-node/RedisCircuitBreaker/timedOut")

/** @internal */
export const TypeId: unique symbol = Symbol.for("@effect-backoff/platform-node/RedisCircuitBreaker")
/** @internal */
export type TypeId = typeof TypeId

/** @internal A breaker as users see it (core's `CircuitBreaker` shape). */
export interface RedisCircuitBreaker {
  readonly [TypeId]: TypeId
  readonly key: string
  readonly settings: Settings
  /** The state this process decides by now (an open breaker whose wait is over reads half-open). */
  readonly state: Effect.Effect<StateName>
  /** Whether decisions come from the shared state (`"redis"`) or the local fallback (`"local"`). */
  readonly store: Effect.Effect<"redis" | "local">
  readonly changes: Stream.Stream<Change>
  readonly isolate: Effect.Effect<void>
  readonly reset: Effect.Effect<void>
  execute<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OpenError, R>
}

const OUTCOME_FAILED = (e: Event) => e._tag === "Outcome" && (e.kind === "failure" || e.kind === "timeout")

/** @internal */
export class SharedBreaker {
  readonly [TypeId]: TypeId = TypeId
  /** The shared state as last read, and its version. */
  shared: State
  version = 0
  /** Other clients that failed within the quorum window, as last read. */
  others = 0
  /** The shared state with this process's unsent outcomes stepped over it. */
  view: State
  /** The local fallback's state (while the store is away). */
  local: State
  pending: Array<Pending> = []
  /** The batch in flight or to resend: its id and length (a prefix of `pending`). */
  batch: { id: number; size: number } | undefined = undefined
  nextBatch = 1
  /** This process's last failure (server ms): it counts toward the quorum. */
  failedAt = -Infinity
  /** A refused lease: no new ask before this (server ms). */
  leaseRefusedUntil = -Infinity
  private readonly step: Step
  private readonly keys: ReadonlyArray<string>
  private shown: StateName = "closed"

  constructor(
    readonly store: Store,
    readonly key: string,
    readonly redisKey: string,
    readonly settings: Settings,
    private readonly pubsub: PubSub.PubSub<Change>,
    now: number
  ) {
    this.step = machineApi.machine(settings)
    this.shared = machineApi.initialState(settings, now)
    this.view = this.shared
    this.local = this.shared
    const slots: Array<string> = []
    for (let i = 1; i <= settings.probes; i++) slots.push(`${redisKey}:probe:${i}`)
    this.keys = [redisKey, `${redisKey}:failing`, `${redisKey}:batches`, ...slots]
  }

  get resolved(): Resolved {
    return this.store.resolved
  }

  /** The step, with the opening held back while fewer than `quorum` clients fail. */
  private stepQ(state: State, event: Event, now: number, quorum: boolean) {
    const r = this.step(state, event, now)
    if (
      !quorum || this.resolved.quorum <= 1 || r.transition?.reason !== "tripped" || event._tag !== "Outcome" ||
      this.others + (now - this.failedAt <= this.resolved.quorumWindowMillis ? 1 : 0) >= this.resolved.quorum
    ) return r
    const policy = this.settings.policy
    const code = ((event.kind === "success" ? 0 : machineApi.FAILURE) |
      (event.millis > policy.slowMillis ? machineApi.SLOW : 0)) as machineApi.Outcome
    return {
      state: { ...state, window: policy.record(state.window, code, now) },
      decision: r.decision,
      transition: undefined
    }
  }

  /** `events` stepped over `from` (each after a tick: an open breaker due half-opens first). */
  private replay(from: State, events: ReadonlyArray<Pending>) {
    let state = from
    let trips = false
    for (const p of events) {
      state = this.step(state, machineApi.TICK, p.now).state
      const r = this.stepQ(state, p.event, p.now, true)
      if (r.transition?.reason === "tripped") trips = true
      state = r.state
    }
    return { state, trips }
  }

  /** The state decisions are made from now. */
  current(): State {
    return this.store.away ? this.local : this.view
  }

  /** Announces a change of the state decided by (a log line and `changes`), when there is one. */
  private announce(clock: Clock.Clock, t?: Transition): void {
    const name = this.current().name
    if (name === this.shown) return
    const from = this.shown
    this.shown = name
    const store = this.store.away ? "local" : "redis"
    const change: Change = {
      from,
      to: name,
      reason: t?.reason ?? (name === "open" ? "tripped" : name === "closed" ? "probesSucceeded" : "halfOpenAfter"),
      detail: t?.detail ?? "seen in the shared state",
      key: this.key,
      at: clock.unsafeCurrentTimeMillis(),
      store
    }
    this.pubsub.unsafeOffer(change)
    const line = `RedisCircuitBreaker ${this.key}: ${from} -> ${name} (${change.detail}; ${store})`
    this.store.run(
      (name === "open" || name === "isolated" ? Effect.logWarning(line) : Effect.logInfo(line)).pipe(
        Effect.annotateLogs({ "circuitBreaker.key": this.key, "circuitBreaker.from": from, "circuitBreaker.to": name })
      )
    )
  }

  /** Records an event: stepped into the view and kept for the next batch (local only while away). */
  record(event: Event, now: number, clock: Clock.Clock, slot = 0): void {
    if (OUTCOME_FAILED(event)) this.failedAt = now
    let t: Transition | undefined
    if (this.store.away) {
      const r = this.step(this.step(this.local, machineApi.TICK, now).state, event, now)
      this.local = r.state
      t = r.transition
    } else {
      if (this.pending.length >= MAX_PENDING) {
        // bounded: the oldest unsent outcome goes (never one of the batch in flight)
        const at = this.batch === undefined ? 0 : this.batch.size
        if (at < this.pending.length) this.pending.splice(at, 1)
      }
      this.pending.push({ event, now, slot })
      const r = this.stepQ(this.step(this.view, machineApi.TICK, now).state, event, now, true)
      this.view = r.state
      t = r.transition
    }
    this.announce(clock, t)
  }

  onAway(): void {
    this.local = this.view
  }

  /** A new shared state read: the view is it with the unsent outcomes stepped over it. */
  private adopt(reply: Reply, clock: Clock.Clock): void {
    this.version = reply[2]
    this.others = reply[4]
    let state: State | undefined
    if (reply[3] !== "") {
      try {
        state = JSON.parse(reply[3]) as State
      } catch {
        state = undefined
      }
    }
    this.shared = state ?? machineApi.initialState(this.settings, reply[1])
    this.view = this.replay(this.shared, this.pending).state
    this.announce(clock)
  }

  /** One sync: the batch (or a read) as a compare-and-set, again over the fresh state on a conflict. */
  sync(clock: Clock.Clock, attempt = 1): Promise<void> | undefined {
    if (this.batch === undefined && this.pending.length > 0) {
      this.batch = { id: this.nextBatch++, size: this.pending.length }
    }
    const r = this.resolved
    const batch = this.batch
    const events = batch === undefined ? [] : this.pending.slice(0, batch.size)
    const { state, trips } = this.replay(this.shared, events)
    const release = events.filter((p) => p.slot > 0).map((p) => p.slot).join(",")
    const text = batch === undefined ? "" : JSON.stringify(state)
    const sent = this.store.send(this.keys, [
      "sync",
      r.clientId,
      batch === undefined ? "0" : `${batch.id}`,
      String(this.version),
      text,
      events.some((p) => OUTCOME_FAILED(p.event)) ? "1" : "0",
      trips ? "1" : "0",
      String(r.quorum),
      String(r.quorumWindowMillis),
      String(STATE_TTL),
      state.name !== this.shared.name ? "1" : "0",
      release
    ], clock)
    if (sent === undefined) return undefined
    return sent.then((reply) => {
      const status = reply[0]
      if (status === "ok" || status === "dup") {
        if (batch !== undefined) {
          this.pending.splice(0, batch.size)
          this.batch = undefined
        }
        this.adopt(reply, clock)
        return
      }
      this.adopt(reply, clock)
      if (status !== "read" && attempt < MAX_ATTEMPTS) return this.sync(clock, attempt + 1)
    }, () => undefined)
  }

  /** Asks for a probe lease: one round trip, bounded by `timeout`; the slot, or 0. */
  private lease(clock: Clock.Clock): Effect.Effect<number> {
    const r = this.resolved
    return Effect.suspend(() => {
      const sent = this.store.send(
        this.keys,
        ["lease", r.clientId, String(r.leaseMillis), String(r.quorumWindowMillis)],
        clock
      )
      if (sent === undefined) return Effect.succeed(-1)
      return Effect.tryPromise(() => sent).pipe(
        Effect.map((reply) => {
          this.adopt(reply, clock)
          return reply[5]
        }),
        // real I/O: its timeout runs on Effect's default Clock, whatever Clock the caller has
        Effect.timeoutTo({
          duration: Duration.millis(r.timeoutMillis),
          onSuccess: (n) => n,
          onTimeout: () => {
            this.store.goAway(`no answer within ${r.timeoutMillis} ms`)
            return -1
          }
        }),
        Effect.withClock(ioClock),
        Effect.orElseSucceed(() => -1)
      )
    })
  }

  /** Admission from the current state; a probe on the shared state asks for a lease first. */
  admit(clock: Clock.Clock): Ticket | Effect.Effect<Ticket> {
    const now = this.store.now(clock)
    if (this.store.away) {
      const r = this.step(this.local, machineApi.ADMIT, now)
      this.local = r.state
      this.announce(clock, r.transition)
      return this.ticket(r.decision, r.state, now, 0)
    }
    const r = this.step(this.view, machineApi.ADMIT, now)
    if (r.decision._tag !== "Admitted" || !r.decision.probe) return this.ticket(r.decision, r.state, now, 0)
    if (now < this.leaseRefusedUntil) return this.ticket({ _tag: "Rejected", retryAfter: 0 }, r.state, now, 0)
    return Effect.map(this.lease(clock), (slot) => {
      const at = this.store.now(clock)
      if (slot < 0 && this.store.away) {
        // no answer: the local breaker decides this call
        const l = this.step(this.local, machineApi.ADMIT, at)
        this.local = l.state
        this.announce(clock, l.transition)
        return this.ticket(l.decision, l.state, at, 0)
      }
      Metric.tagged(leases, "granted", String(slot > 0)).unsafeUpdate(1, [])
      const again = this.step(this.view, machineApi.ADMIT, at)
      if (slot <= 0) {
        this.leaseRefusedUntil = at + this.resolved.syncMillis
        const d = again.decision._tag === "Admitted" && !again.decision.probe
          ? again.decision
          : {
            _tag: "Rejected" as const,
            retryAfter: again.decision._tag === "Rejected" ? again.decision.retryAfter : 0
          }
        return this.ticket(d, again.state, at, 0)
      }
      if (again.decision._tag === "Admitted" && !again.decision.probe) {
        // closed meanwhile: a plain call, and the slot goes back with the next batch
        this.pending.push({ event: machineApi.TICK, now: at, slot })
        return this.ticket(again.decision, again.state, at, 0)
      }
      // the lease is the fleet's probe slot: the local probe count does not limit it
      const half = this.step(this.view, machineApi.TICK, at).state
      return this.ticket({ _tag: "Admitted", probe: true }, half, at, slot)
    })
  }

  private ticket(decision: machineApi.Decision, state: State, now: number, slot: number): Ticket {
    if (decision._tag === "Rejected") {
      return { admitted: false, error: openError(this.key, decision.retryAfter, state.name) }
    }
    const probe = decision._tag === "Admitted" && decision.probe
    return { admitted: true, probe, generation: state.generation, start: now, slot }
  }

  private report(kind: machineApi.OutcomeKind, ticket: Ticket & { admitted: true }, clock: Clock.Clock): void {
    const now = this.store.now(clock)
    this.record(machineApi.outcome(kind, ticket.generation, ticket.probe, now - ticket.start), now, clock, ticket.slot)
  }

  private classify(
    cause: Cause.Cause<unknown>
  ): machineApi.OutcomeKind | Effect.Effect<machineApi.OutcomeKind, never, unknown> {
    if (Cause.isInterruptedOnly(cause)) return "interrupt"
    const failure = Cause.failureOption(cause)
    const isFailure = this.settings.isFailure
    if (Option.isNone(failure) || isFailure === undefined) return "failure"
    const answer = machineApi.verdict(isFailure, failure.value)
    return typeof answer === "boolean"
      ? (answer ? "failure" : "success")
      : Effect.map(answer, (yes): machineApi.OutcomeKind => yes ? "failure" : "success")
  }

  private observe<A, E, R>(
    self: Effect.Effect<A, E, R>,
    ticket: Ticket & { admitted: true },
    clock: Clock.Clock
  ): Effect.Effect<A, E | OpenError, R> {
    const onFailure = (cause: Cause.Cause<E>): Effect.Effect<never, E, unknown> => {
      const kind = this.classify(cause)
      if (typeof kind === "string") {
        this.report(kind, ticket, clock)
        return Effect.failCause(cause)
      }
      return Effect.flatMap(kind, (k) => {
        this.report(k, ticket, clock)
        return Effect.failCause(cause)
      })
    }
    const onSuccess = (a: A) => {
      this.report("success", ticket, clock)
      return Effect.succeed(a)
    }
    if (!ticket.probe) return Effect.matchCauseEffect(self, { onFailure, onSuccess }) as Effect.Effect<A, E, R>
    const timeout = this.settings.probeTimeout
    return Effect.uninterruptibleMask((restore) => {
      const body = timeout === Infinity
        ? restore(self)
        : restore(Effect.timeoutTo(self, {
          duration: Duration.millis(timeout),
          onSuccess: (a): A | typeof TIMED_OUT => a,
          onTimeout: (): A | typeof TIMED_OUT => TIMED_OUT
        }))
      return Effect.matchCauseEffect(body, {
        onFailure,
        onSuccess: (a): Effect.Effect<A, OpenError> => {
          if (a !== TIMED_OUT) return onSuccess(a as A)
          this.report("timeout", ticket, clock)
          const s = this.current()
          return Effect.fail(openError(this.key, s.openUntil - this.store.now(clock), s.name))
        }
      })
    }) as Effect.Effect<A, E | OpenError, R>
  }

  execute<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OpenError, R> {
    return Effect.clockWith((clock) => {
      const ticket = this.admit(clock)
      const go = (t: Ticket): Effect.Effect<A, E | OpenError, R> =>
        t.admitted ? this.observe(self, t, clock) : Effect.fail(t.error)
      return "admitted" in ticket ? go(ticket) : Effect.flatMap(ticket, go)
    })
  }

  get state(): Effect.Effect<StateName> {
    return Effect.clockWith((clock) =>
      Effect.sync(() => this.step(this.current(), machineApi.TICK, this.store.now(clock)).state.name)
    )
  }

  get storeKind(): Effect.Effect<"redis" | "local"> {
    return Effect.sync(() => this.store.away ? "local" : "redis")
  }

  get isolate(): Effect.Effect<void> {
    return Effect.clockWith((clock) => Effect.sync(() => this.record(machineApi.ISOLATE, this.store.now(clock), clock)))
  }

  get reset(): Effect.Effect<void> {
    return Effect.clockWith((clock) => Effect.sync(() => this.record(machineApi.RESET, this.store.now(clock), clock)))
  }

  get changes(): Stream.Stream<Change> {
    return Stream.filter(Stream.fromPubSub(this.pubsub), (c) => c.key === this.key)
  }
}

/** The user's view of a shared breaker (`store` is a property of the interface). */
const facade = (b: SharedBreaker): RedisCircuitBreaker => ({
  [TypeId]: TypeId,
  key: b.key,
  settings: b.settings,
  get state() {
    return b.state
  },
  get store() {
    return b.storeKind
  },
  get changes() {
    return b.changes
  },
  get isolate() {
    return b.isolate
  },
  get reset() {
    return b.reset
  },
  execute: (self) => b.execute(self)
})

// ---------------------------------------------------------------------------
// make, keyed, layer
// ---------------------------------------------------------------------------

/** A store with its sync fiber (forked in the scope): every `syncInterval`, one sync per breaker, in turn. */
const storeOf = (resolved: Resolved, breakers: () => Iterable<SharedBreaker>) =>
  Effect.gen(function*() {
    const { client } = yield* scopedClient(resolved.redis)
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const clock = yield* Effect.clock
    const store = new Store(client, resolved, (e) => {
      runFork(e)
    }, clock)
    store.onAway = () => {
      for (const b of breakers()) b.onAway()
    }
    // the fiber never waits on Redis: it starts a round of syncs (one command at a time,
    // breaker after breaker) unless one is still going, and checks for a silent server
    let syncing = false
    const round = async () => {
      for (const b of [...breakers()]) {
        if (store.closed) return
        const done = b.sync(clock)
        if (done === undefined) return
        await done
      }
    }
    const tick = Effect.sync(() => {
      store.check(clock)
      if (syncing || store.closed) return
      syncing = true
      round().finally(() => {
        syncing = false
      })
    })
    yield* Effect.sleep(Duration.millis(resolved.syncMillis)).pipe(
      Effect.zipRight(tick),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        store.closed = true
      })
    )
    return store
  })

/** @internal `RedisCircuitBreaker.make`: a scoped breaker. */
export const make = (options: unknown): Effect.Effect<RedisCircuitBreaker, never, Scope.Scope> => {
  const resolved = resolve(options)
  return Effect.gen(function*() {
    const pubsub = yield* PubSub.unbounded<Change>()
    const held: Array<SharedBreaker> = []
    const store = yield* storeOf(resolved, () => held)
    const clock = yield* Effect.clock
    const breaker = new SharedBreaker(store, resolved.key, resolved.key, resolved.settings, pubsub, store.now(clock))
    held.push(breaker)
    return facade(breaker)
  })
}

/** @internal One shared breaker per key, as users see it. */
export interface KeyedRedisCircuitBreaker {
  readonly settings: Settings
  readonly capacity: number
  get(key: string): Effect.Effect<RedisCircuitBreaker>
  execute<A, E, R>(key: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OpenError, R>
  readonly keys: Effect.Effect<ReadonlyArray<string>>
  readonly changes: Stream.Stream<Change>
}

/** @internal `RedisCircuitBreaker.keyed`: a breaker per key (Redis key `<key>:<key of the call>`), at most `capacity` held. */
export const keyed = (
  options: unknown,
  keyedOptions: unknown
): Effect.Effect<KeyedRedisCircuitBreaker, never, Scope.Scope> => {
  const resolved = resolve(options)
  const k = keyedOptions as { capacity?: unknown } | undefined
  const capacity = k?.capacity
  if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 1) {
    throw invalid("keyed.capacity", capacity, "an integer >= 1 (how many keys to hold)")
  }
  return Effect.gen(function*() {
    const pubsub = yield* PubSub.unbounded<Change>()
    const held = new Map<string, SharedBreaker>()
    const store = yield* storeOf(resolved, () => held.values())
    const unsafeGet = (key: string, clock: Clock.Clock): SharedBreaker => {
      const found = held.get(key)
      if (found !== undefined) {
        held.delete(key)
        held.set(key, found)
        return found
      }
      const made = new SharedBreaker(store, key, `${resolved.key}:${key}`, resolved.settings, pubsub, store.now(clock))
      if (store.away) made.onAway()
      held.set(key, made)
      if (held.size > capacity) held.delete(held.keys().next().value!)
      return made
    }
    const result: KeyedRedisCircuitBreaker = {
      settings: resolved.settings,
      capacity,
      get: (key) => Effect.clockWith((clock) => Effect.succeed(facade(unsafeGet(key, clock)))),
      execute: (key, self) => Effect.clockWith((clock) => unsafeGet(key, clock).execute(self)),
      keys: Effect.sync(() => [...held.keys()]),
      changes: Stream.fromPubSub(pubsub)
    }
    return result
  })
}

/** @internal The service tag of `layer`. */
export const tag: Context.Tag<RedisCircuitBreaker, RedisCircuitBreaker> = Context.GenericTag<RedisCircuitBreaker>(
  "@effect-backoff/platform-node/RedisCircuitBreaker"
)

/** @internal */
export const layer = (options: unknown): Layer.Layer<RedisCircuitBreaker> => Layer.scoped(tag, make(options))
