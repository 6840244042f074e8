import { Wait } from "@effect-backoff/core"
import { Duration, Effect, Hash } from "effect"
import { PCGRandom } from "effect/Utils"
import type { JitterName, ResolvedPolicy } from "./flags.js"

/** @internal The waits after one try: the un-jittered wait and the spread of the samples (seconds). */
export interface Row {
  readonly tries: number
  readonly wait: number
  readonly min: number
  readonly p25: number
  readonly median: number
  readonly p75: number
  readonly max: number
  /** Up to 100 of the samples, for the SVG's dots. */
  readonly samples: ReadonlyArray<number>
}

/** @internal What `plot` draws. */
export interface Chart {
  readonly summary: string
  readonly seed: number
  readonly sampleCount: number
  readonly rows: ReadonlyArray<Row>
  /** Total of the un-jittered waits, and the min and max totals of the samples (seconds). */
  readonly total: { readonly wait: number; readonly min: number; readonly max: number }
}

/** The longest wait a timer takes (Effect's and the retry loop's limit), in milliseconds. */
const MAX_WAIT_MILLIS = 2 ** 31 - 1

/**
 * @internal The most waits one chart computes, `--tries` × `--samples`: every sampled wait
 * is kept for the quantiles, so this bounds both the time (well under a second) and the
 * memory (16 MB).
 */
export const MAX_WAITS = 2_000_000

/**
 * The `--jitter` choices as arithmetic on one uniform draw, exactly as `Jitter.full`,
 * `Jitter.equal` and `Jitter.random` compute it from `Random.next`; `zero` says whether a
 * zero wait skips the draw (the loop's rule for jitters that map 0 to 0).
 */
const JITTER_MATH: Record<JitterName, { readonly zero: boolean; readonly f: (wait: number, u: number) => number }> = {
  full: { zero: true, f: (w, u) => u * w },
  equal: { zero: true, f: (w, u) => w / 2 + u * (w / 2) },
  random: { zero: false, f: (w, u) => w + u * 1000 },
  none: { zero: true, f: (w) => w }
}

/**
 * The waits (milliseconds) of one run against a call that always fails and takes no
 * time, by the retry loop's rules as plain arithmetic: `tries >= maxTries` → `elapsed >=
 * maxTime` → the next wait → jitter → the sleep cut to what is left of `maxTime` (a cut
 * sleep spends the budget). The draws come from `Random.make(seed)`'s generator in the
 * loop's order (the strategy's draw, then the jitter's), so a sample is the run
 * `Timeline.run` would give with that seed. `line` holds the strategy's own waits.
 */
const sampleRun = (
  policy: ResolvedPolicy,
  line: ReadonlyArray<number>,
  count: number,
  jittered: boolean,
  seed: string,
  into: (i: number, wait: number) => void
): void => {
  const rng = new PCGRandom(Hash.hash(seed))
  const jitter = jittered && policy.jitterName !== "none" ? JITTER_MATH[policy.jitterName] : undefined
  const maxTime = policy.maxTime === undefined ? Infinity : Duration.toMillis(policy.maxTime)
  const d = policy.decorrelated
  const cap = d === undefined ? 0 : Math.min(d.maxValue, MAX_WAIT_MILLIS)
  let elapsed = 0
  let spent = false
  let previous = 0
  for (let i = 0; i < count; i++) {
    if (elapsed >= maxTime || spent) return
    let wait: number
    if (d === undefined) wait = line[i]!
    else {
      wait = i === 0 ? Math.min(d.base, cap) : Math.min(cap, d.base + rng.number() * Math.max(0, previous * 3 - d.base))
      previous = wait
    }
    let sleep = wait
    if (jitter !== undefined && !(wait === 0 && jitter.zero)) {
      sleep = Math.min(jitter.f(wait, rng.number()), Math.max(wait, MAX_WAIT_MILLIS))
    }
    if (sleep > MAX_WAIT_MILLIS) sleep = MAX_WAIT_MILLIS
    const remaining = maxTime - elapsed
    if (sleep >= remaining) {
      sleep = remaining
      spent = true
    }
    elapsed += sleep
    into(i, sleep / 1000)
  }
}

const quantile = (sorted: ArrayLike<number>, q: number): number => {
  if (sorted.length === 0) return 0
  const i = (sorted.length - 1) * q
  const lo = Math.floor(i)
  const hi = Math.ceil(i)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo)
}

/** Sampled waits computed between two yields to the event loop (a few milliseconds), so Ctrl-C acts at once. */
const CHUNK = 20_000

/**
 * @internal The policy's waits once without jitter and `samples` times with seeded jitter,
 * per try. The same rules as the retry loop on virtual time, as arithmetic (the CLI's
 * policies are plain strategies, jitters and limits); the work yields to the event loop
 * every few milliseconds, so a signal interrupts it at once.
 */
export const chart = (policy: ResolvedPolicy, tries: number, samples: number, seed: number): Effect.Effect<Chart> =>
  Effect.gen(function*() {
    // `tries` waits need tries + 1 calls
    const count = Math.min(tries, policy.maxTries - 1)
    const strategy = policy.decorrelated === undefined
      ? (yield* Wait.delays(policy.wait, count)).map(Duration.toMillis)
      : []
    const line: Array<number> = []
    sampleRun(policy, strategy, count, false, `${seed}`, (_i, w) => line.push(w))
    const rows = line.length
    // values[i * samples + s]: the wait after try i + 1 in sample s (a run may stop early: NaN)
    const values = new Float64Array(rows * samples).fill(Number.NaN)
    const totals = new Float64Array(samples)
    let done = 0
    for (let s = 0; s < samples; s++) {
      let total = 0
      // a jittered run may fit more waits in maxTime than the line: they count in its total only
      sampleRun(policy, strategy, count, true, `${seed}:${s}`, (i, w) => {
        if (i < rows) values[i * samples + s] = w
        total += w
      })
      totals[s] = total
      done += count
      if (done >= CHUNK) {
        done = 0
        yield* Effect.sleep(Duration.zero)
      }
    }
    const chartRows = line.map((wait, i): Row => {
      const row = values.subarray(i * samples, (i + 1) * samples)
      const kept = row.filter((v) => !Number.isNaN(v))
      const sorted = Float64Array.from(kept).sort()
      return {
        tries: i + 1,
        wait,
        min: sorted.length === 0 ? wait : sorted[0]!,
        p25: quantile(sorted, 0.25),
        median: quantile(sorted, 0.5),
        p75: quantile(sorted, 0.75),
        max: sorted.length === 0 ? wait : sorted[sorted.length - 1]!,
        samples: Array.from(kept.subarray(0, 100))
      }
    })
    let min = Infinity
    let max = -Infinity
    for (const t of totals) {
      if (t < min) min = t
      if (t > max) max = t
    }
    return {
      summary: policy.summary,
      seed,
      sampleCount: samples,
      rows: chartRows,
      total: {
        wait: line.reduce((a, b) => a + b, 0),
        min: samples === 0 ? 0 : min,
        max: samples === 0 ? 0 : max
      }
    }
  })

/** @internal A wait for the chart: `1.5s`, `250ms` (three significant digits). */
export const label = (seconds: number): string => {
  if (seconds === 0) return "0s"
  const ms = Number((seconds * 1000).toPrecision(3))
  return ms < 1000 ? `${ms}ms` : `${Number(seconds.toPrecision(3))}s`
}

/** @internal The smallest of 1, 2, 2.5, 4, 5, 8 × 10^k that is at least `v`. */
export const niceCeiling = (v: number): number => {
  if (!(v > 0)) return 1
  const k = Math.floor(Math.log10(v))
  for (const m of [1, 2, 2.5, 4, 5, 8, 10]) {
    const candidate = Number((m * Math.pow(10, k)).toPrecision(12))
    if (candidate >= v) return candidate
  }
  return 10 * Math.pow(10, k)
}

const scaleOf = (c: Chart) => niceCeiling(Math.max(...c.rows.map((r) => Math.max(r.max, r.wait)), 0))

const BAR = 48
/** Width of the text before a row's bar: try, wait and range. */
const PREFIX = 36
const TICKS = [0, 1, 2, 3, 4].map((k) => Math.round((k / 4) * (BAR - 1)))

/**
 * @internal The chart for a terminal: one row per try; `░` spans the jittered samples'
 * range, `▓` their middle half, `●` marks the wait without jitter.
 */
export const renderText = (c: Chart): string => {
  const out: Array<string> = []
  out.push(`effect-backoff plot: ${c.summary}`)
  out.push(
    `wait after each failed try: ● without jitter, ▓ middle half and ░ range of ${c.sampleCount} jittered samples (seed ${c.seed})`
  )
  out.push("")
  if (c.rows.length === 0) {
    out.push("(no waits: the policy gives up after the first try)")
    return out.join("\n") + "\n"
  }
  const scale = scaleOf(c)
  const col = (v: number) => Math.max(0, Math.min(BAR - 1, Math.round((v / scale) * (BAR - 1))))
  out.push(" try      wait   jittered range")
  for (const r of c.rows) {
    const cells = Array.from({ length: BAR }, () => " ")
    for (let i = col(r.min); i <= col(r.max); i++) cells[i] = "░"
    for (let i = col(r.p25); i <= col(r.p75); i++) cells[i] = "▓"
    cells[col(r.wait)] = "●"
    const text = `${String(r.tries).padStart(4)}  ${label(r.wait).padStart(8)}   ${label(r.min)}–${label(r.max)}`
    out.push(`${text.padEnd(PREFIX)}│${cells.join("").trimEnd()}`)
  }
  // the corner stands for the 0 tick
  out.push(
    `${" ".repeat(PREFIX)}└${Array.from({ length: BAR }, (_, i) => i > 0 && TICKS.includes(i) ? "┴" : "─").join("")}`
  )
  const labels = Array.from({ length: BAR + 8 }, () => " ")
  TICKS.forEach((at, k) => {
    const text = label((k / 4) * scale)
    // centred under its tick (column at + 1 past the corner), kept inside the line
    const from = k === 0 ? 0 : Math.max(0, Math.min(labels.length - text.length, at + 1 - Math.floor(text.length / 2)))
    for (let j = 0; j < text.length; j++) labels[from + j] = text[j]!
  })
  out.push(`${" ".repeat(PREFIX)}${labels.join("").trimEnd()}`)
  out.push("")
  out.push(
    `total wait over ${c.rows.length} ${c.rows.length === 1 ? "retry" : "retries"}: ${
      label(c.total.wait)
    } without jitter, ${label(c.total.min)}–${label(c.total.max)} jittered`
  )
  return out.join("\n") + "\n"
}

const escapeXml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const n = (v: number) => Number(v.toFixed(2))

/**
 * @internal The same chart as a standalone SVG: x is the try, y the wait; the light band
 * is the samples' range, the darker one their middle half, dots are samples, the red line
 * the wait without jitter.
 */
export const renderSvg = (c: Chart): string => {
  const width = 720
  const height = 420
  const left = 70
  const right = 24
  const top = 64
  const bottom = 56
  const plotW = width - left - right
  const plotH = height - top - bottom
  const scale = scaleOf(c)
  const count = c.rows.length
  const x = (tries: number) => count <= 1 ? left + plotW / 2 : left + ((tries - 1) / (count - 1)) * plotW
  const y = (seconds: number) => top + plotH - (Math.min(seconds, scale) / scale) * plotH
  const parts: Array<string> = []
  parts.push(`<?xml version="1.0" encoding="UTF-8"?>`)
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`
  )
  parts.push(`<title>${escapeXml(`effect-backoff plot: ${c.summary}`)}</title>`)
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`)
  parts.push(`<text x="${left}" y="24" font-size="14" font-weight="600" fill="#222">${escapeXml(c.summary)}</text>`)
  parts.push(
    `<text x="${left}" y="44" fill="#555">${
      escapeXml(
        `wait after each failed try: line without jitter; bands: range and middle half of ${c.sampleCount} jittered samples (seed ${c.seed})`
      )
    }</text>`
  )
  // horizontal grid and y labels
  for (let i = 0; i <= 4; i++) {
    const v = (scale * i) / 4
    parts.push(`<line x1="${left}" y1="${n(y(v))}" x2="${width - right}" y2="${n(y(v))}" stroke="#e5e5e5"/>`)
    parts.push(`<text x="${left - 8}" y="${n(y(v) + 4)}" text-anchor="end" fill="#555">${escapeXml(label(v))}</text>`)
  }
  // x ticks
  const step = Math.max(1, Math.ceil(count / 20))
  for (const r of c.rows) {
    if ((r.tries - 1) % step !== 0 && r.tries !== count) continue
    parts.push(
      `<line x1="${n(x(r.tries))}" y1="${top + plotH}" x2="${n(x(r.tries))}" y2="${top + plotH + 5}" stroke="#888"/>`
    )
    parts.push(`<text x="${n(x(r.tries))}" y="${top + plotH + 20}" text-anchor="middle" fill="#555">${r.tries}</text>`)
  }
  parts.push(`<line x1="${left}" y1="${top + plotH}" x2="${width - right}" y2="${top + plotH}" stroke="#888"/>`)
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#888"/>`)
  parts.push(`<text x="${left + plotW / 2}" y="${height - 12}" text-anchor="middle" fill="#333">try</text>`)
  parts.push(
    `<text x="18" y="${top + plotH / 2}" text-anchor="middle" fill="#333" transform="rotate(-90 18 ${
      top + plotH / 2
    })">wait before the next try</text>`
  )
  if (count > 0) {
    const band = (lo: (r: Row) => number, hi: (r: Row) => number) => {
      const upper = c.rows.map((r) => `${n(x(r.tries))},${n(y(hi(r)))}`)
      const lower = [...c.rows].reverse().map((r) => `${n(x(r.tries))},${n(y(lo(r)))}`)
      return [...upper, ...lower].join(" ")
    }
    parts.push(
      `<polygon points="${band((r) => r.min, (r) => r.max)}" fill="#9ecae1" fill-opacity="0.45" stroke="none"/>`
    )
    parts.push(
      `<polygon points="${band((r) => r.p25, (r) => r.p75)}" fill="#3182bd" fill-opacity="0.35" stroke="none"/>`
    )
    parts.push(`<g fill="#08519c" fill-opacity="0.25">`)
    for (const r of c.rows) {
      for (const s of r.samples) parts.push(`<circle cx="${n(x(r.tries))}" cy="${n(y(s))}" r="1.6"/>`)
    }
    parts.push(`</g>`)
    parts.push(
      `<polyline points="${
        c.rows.map((r) => `${n(x(r.tries))},${n(y(r.wait))}`).join(" ")
      }" fill="none" stroke="#d62728" stroke-width="2"/>`
    )
    parts.push(`<g fill="#d62728">`)
    for (const r of c.rows) parts.push(`<circle cx="${n(x(r.tries))}" cy="${n(y(r.wait))}" r="3.5"/>`)
    parts.push(`</g>`)
  }
  parts.push(`</svg>`)
  return parts.join("\n") + "\n"
}
