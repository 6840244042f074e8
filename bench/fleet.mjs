#!/usr/bin/env node
// The fleet figure: `pnpm bench:fleet`. Not a test (it runs on real time, about 1 minute).
//
// 8 worker processes (bench/fleet-worker.ts) send GETs at a steady rate through
// HttpBackoff.retryTransient({ maxTries: 5, budget }) to one loopback server that answers
// 200, then 503 to everything for 10 seconds, then 200 again. Three runs: no budget, a
// RetryBudget.layer per process, one RedisRetryBudget.layer shared by all 8 (a
// redis-server started here on a free loopback port, persistence off).
//
// Prints and writes bench/results/fleet.json: the server's load amplification during the
// outage (requests seen ÷ calls made) and the time to recover after it; writes
// docs/images/retry-budget-fleet.svg (requests per second at the server, one line a run).
// A fourth run, "redis-stall", is the shared budget again with Redis stalled for 1.5 s
// (CLIENT PAUSE) in the middle of the outage: the fleet must stay within the shared bound.
//
//   node bench/fleet.mjs [--workers=8] [--rate=10] [--outage=10] [--reserve=1] [--only=redis,redis-stall]
// --reserve is minRetriesPerSecond (RetryBudget's default is 10; the figure uses 1 so
// that, at this modest rate, the reserve does not hide the share). --only runs those modes
// (none, local, redis, redis-stall): their runs replace the same modes' in an existing
// bench/results/fleet.json, and the SVG is written only when all four are there.
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import { createRequire } from "node:module"
import * as net from "node:net"
import { loadavg } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = join(BENCH, "..")
const arg = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback)
const WORKERS = arg("workers", 8)
const RATE = arg("rate", 10) // calls per second per worker
const HEALTHY = 2000 // ms of normal service first
const OUTAGE = arg("outage", 10) * 1000
const AFTER = 5000 // ms of normal service after it
const BIN = 100
const TOTAL = HEALTHY + OUTAGE + AFTER
const PERCENT = 0.2
const MIN_RETRIES_PER_SECOND = arg("reserve", 1)
const RESERVE = MIN_RETRIES_PER_SECOND * 10 // × ttl 10 s
const MODES = ["none", "local", "redis", "redis-stall"]
const ONLY = process.argv.find((a) => a.startsWith("--only="))?.split("=")[1].split(",")
if (ONLY !== undefined && (ONLY.length === 0 || ONLY.some((m) => !MODES.includes(m)))) {
  console.error(`fleet: --only takes modes among ${MODES.join(", ")}`)
  process.exit(2)
}
const STALL = 1500 // ms of CLIENT PAUSE in the redis-stall run, centred in the outage

const tsx = pathToFileURL(createRequire(join(ROOT, "package.json")).resolve("tsx")).href

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

/** Sends one command to Redis (inline protocol) and waits for its reply line. */
const redisCommand = (url, command) =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const socket = net.connect(Number(port), hostname)
    socket.setTimeout(1000, () => {
      socket.destroy()
      reject(new Error(`redis: no answer to ${command}`))
    })
    socket.on("error", reject)
    socket.on("connect", () => socket.write(`${command}\r\n`))
    socket.on("data", (d) => {
      socket.destroy()
      resolve(d.toString().trim())
    })
  })

const ping = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(200, () => done(false))
    socket.on("error", () => done(false))
    socket.on("connect", () => socket.write("PING\r\n"))
    socket.on("data", (d) => done(d.toString().startsWith("+PONG")))
  })

const redisBinary = () => {
  if (existsSync("/usr/bin/redis-server")) return "/usr/bin/redis-server"
  const which = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" })
  return which.status === 0 && which.stdout.trim() !== "" ? which.stdout.trim() : undefined
}

const startRedis = async () => {
  const binary = redisBinary()
  if (binary === undefined) return undefined
  const port = await freePort()
  const child = spawn(binary, ["--save", "", "--appendonly", "no", "--port", String(port), "--bind", "127.0.0.1"], {
    stdio: "ignore"
  })
  for (let i = 0; i < 200 && !(await ping(port)); i++) await new Promise((r) => setTimeout(r, 10))
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.kill("SIGTERM")
      })
  }
}

/** The server: per 100 ms bin, requests seen and how many were answered 200. */
const startServer = (epochRef) =>
  new Promise((resolve) => {
    const bins = Array.from({ length: Math.ceil(TOTAL / BIN) + 200 }, () => ({ seen: 0, ok: 0 }))
    const server = http.createServer((req, res) => {
      const t = Date.now() - epochRef.epoch
      const down = t >= HEALTHY && t < HEALTHY + OUTAGE
      const bin = bins[Math.floor(t / BIN)]
      if (t >= 0 && bin !== undefined) {
        bin.seen++
        if (!down) bin.ok++
      }
      req.resume()
      res.writeHead(down ? 503 : 200, { "content-type": "text/plain" })
      res.end(down ? "unavailable" : "ok")
    })
    server.keepAliveTimeout = 30_000
    server.listen(0, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        bins,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })

const startWorker = (args) => {
  const child = spawn(process.execPath, ["--import", tsx, join(BENCH, "fleet-worker.ts"), ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, "tsconfig.json") }
  })
  let out = ""
  let onReady
  const ready = new Promise((resolve) => onReady = resolve)
  child.stdout.on("data", (d) => {
    out += d
    if (out.includes("ready")) onReady()
  })
  const done = new Promise((resolve, reject) =>
    child.on("close", (code) => {
      const line = out.trim().split("\n").at(-1)
      if (code === 0 && line) resolve(JSON.parse(line))
      else reject(new Error(`worker exited ${code}: ${out}`))
    })
  )
  return { ready, done, start: (epoch) => child.stdin.end(`${epoch}\n`) }
}

const sum = (xs, from, to) => xs.slice(Math.floor(from / BIN), Math.floor(to / BIN)).reduce((a, b) => a + b, 0)

const run = async (mode, redisUrl) => {
  const epochRef = { epoch: 0 }
  const server = await startServer(epochRef)
  const key = `fleet:${process.pid}:${mode}`
  const workers = Array.from(
    { length: WORKERS },
    (_, i) =>
      startWorker([
        mode,
        server.url,
        redisUrl ?? "",
        key,
        String(RATE),
        String(TOTAL),
        String(i / WORKERS),
        String(MIN_RETRIES_PER_SECOND)
      ])
  )
  // workers take a few seconds to start (tsx): the run begins for all at once
  await Promise.all(workers.map((w) => w.ready))
  epochRef.epoch = Date.now() + 300
  for (const w of workers) w.start(epochRef.epoch)
  let stall
  if (mode === "redis-stall") {
    const at = epochRef.epoch + HEALTHY + OUTAGE / 2 - STALL / 2
    stall = new Promise((resolve) =>
      setTimeout(() => redisCommand(redisUrl, `CLIENT PAUSE ${STALL} ALL`).then(resolve, resolve), at - Date.now())
    )
  }
  const results = await Promise.all(workers.map((w) => w.done))
  const stallReply = await stall
  await new Promise((r) => setTimeout(r, 200))
  await server.close()
  const nbins = Math.ceil(TOTAL / BIN)
  const made = Array.from({ length: nbins }, (_, b) => results.reduce((a, r) => a + (r.made[b] ?? 0), 0))
  const seen = server.bins.slice(0, nbins).map((b) => b.seen)
  const ok = server.bins.slice(0, nbins).map((b) => b.ok)
  const madeOutage = sum(made, HEALTHY, HEALTHY + OUTAGE)
  const seenOutage = sum(seen, HEALTHY, HEALTHY + OUTAGE)
  const baseRate = sum(seen, 500, HEALTHY) / ((HEALTHY - 500) / BIN) // per bin, after warm-up
  // recovered: the first bin after the outage from which 5 bins in a row carry at most
  // 1.1× the healthy load, all answered 200
  let recovered
  for (let b = (HEALTHY + OUTAGE) / BIN; b + 5 <= nbins && recovered === undefined; b++) {
    const window = seen.slice(b, b + 5)
    if (window.every((s, i) => s <= baseRate * 1.1 && ok[b + i] === s)) recovered = b * BIN - (HEALTHY + OUTAGE)
  }
  return {
    mode,
    ...(stallReply === undefined ? {} : { stall: { millis: STALL, reply: String(stallReply) } }),
    // Redis run: times a process fell back to its local budget, and the withdrawals decided locally
    storeFallbacks: results.reduce((a, r) => a + r.fallbacks, 0),
    localDecisions: results.reduce((a, r) => a + r.localDecisions, 0),
    callsMadeDuringOutage: madeOutage,
    requestsSeenDuringOutage: seenOutage,
    amplification: seenOutage / madeOutage,
    timeToRecoverMillis: recovered ?? null,
    healthyRequestsPerSecond: baseRate * (1000 / BIN),
    peakRequestsPerSecond: Math.max(...seen) * (1000 / BIN),
    seenPerBin: seen,
    madePerBin: made
  }
}

const svg = (runs) => {
  const W = 760, H = 330, L = 56, R = 16, T = 46, B = 44
  const colors = { none: "#d62728", local: "#ff7f0e", redis: "#1f77b4", "redis-stall": "#2ca02c" }
  const labels = {
    none: "no budget",
    local: "RetryBudget.layer per process",
    redis: "one RedisRetryBudget.layer",
    "redis-stall": "the same, Redis stalled 1.5 s"
  }
  // 500 ms bins for the plot: smoother than 100 ms, still shows the edges
  const step = 5
  const series = runs.map((r) => {
    const points = []
    for (let b = 0; b + step <= r.seenPerBin.length; b += step) {
      points.push([
        (b + step / 2) * BIN,
        r.seenPerBin.slice(b, b + step).reduce((a, c) => a + c, 0) * (1000 / (BIN * step))
      ])
    }
    return { mode: r.mode, points }
  })
  const maxY = Math.ceil(Math.max(...series.flatMap((s) => s.points.map((p) => p[1]))) / 100) * 100
  const x = (t) => L + (t / TOTAL) * (W - L - R)
  const y = (v) => H - B - (v / maxY) * (H - T - B)
  const grid = []
  for (let v = 0; v <= maxY; v += maxY / 5) {
    grid.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${L - 6}" y="${
        y(v) + 4
      }" text-anchor="end">${Math.round(v)}</text>`
    )
  }
  for (let t = 0; t <= TOTAL; t += 2000) {
    grid.push(`<text x="${x(t)}" y="${H - B + 16}" text-anchor="middle">${t / 1000}s</text>`)
  }
  const lines = series.map((s) =>
    `<polyline fill="none" stroke="${colors[s.mode]}" stroke-width="2" points="${
      s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ")
    }"/>`
  )
  const legend = series.map((s, i) => {
    const r = runs[i]
    return `<g transform="translate(${L + 10 + (i % 2) * 340},${
      T - 22 + Math.floor(i / 2) * 13
    })"><rect width="14" height="4" y="-4" fill="${colors[s.mode]}"/><text x="20" y="0">${labels[s.mode]}: ${
      r.amplification.toFixed(2)
    }×</text></g>`
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="white"/>
<rect x="${x(HEALTHY)}" y="${T}" width="${x(HEALTHY + OUTAGE) - x(HEALTHY)}" height="${H - T - B}" fill="#f3f3f3"/>
<text x="${(x(HEALTHY) + x(HEALTHY + OUTAGE)) / 2}" y="${
    T + 14
  }" text-anchor="middle" fill="#777">server answers 503 to everything</text>
${grid.join("\n")}
${lines.join("\n")}
${legend.join("\n")}
<text x="${L}" y="${
    H - 8
  }">requests per second at the server (${WORKERS} processes × ${RATE} calls/s, maxTries 5; amplification during the outage in the legend)</text>
</svg>
`
}

const LOAD_BEFORE = loadavg()
const main = async () => {
  const redis = await startRedis()
  if (redis === undefined) console.error("fleet: no redis-server binary: the shared run is skipped")
  const fresh = []
  for (const mode of (ONLY ?? MODES).filter((m) => redis !== undefined || !m.startsWith("redis"))) {
    process.stderr.write(`fleet: run "${mode}" (${WORKERS} workers × ${RATE} calls/s, ${OUTAGE / 1000} s outage)...\n`)
    fresh.push(await run(mode, redis?.url))
  }
  await redis?.stop()
  // --only: this invocation's runs replace the same modes' in the last results
  const file = join(BENCH, "results", "fleet.json")
  const earlier = ONLY !== undefined && existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).runs ?? [] : []
  const runs = MODES.map((m) => fresh.find((r) => r.mode === m) ?? earlier.find((r) => r.mode === m)).filter(
    (r) => r !== undefined
  )
  // the per-bin series go to the SVG, not to the summary
  const summary = runs.map(({ madePerBin: _made, seenPerBin: _seen, ...r }) => r)
  // the bounds for the calls actually made (a busy machine may not keep the rate)
  const calls = Math.round(runs.reduce((a, r) => a + r.callsMadeDuringOutage, 0) / runs.length)
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    workers: WORKERS,
    callsPerSecondPerWorker: RATE,
    outageSeconds: OUTAGE / 1000,
    budget: { percentCanRetry: PERCENT, ttl: "10 seconds", minRetriesPerSecond: MIN_RETRIES_PER_SECOND },
    loadavgBefore: LOAD_BEFORE,
    loadavgAfter: loadavg(),
    bounds: {
      shared: `(1 + ${PERCENT}) + reserve ${RESERVE} / ${calls} calls = ${(1 + PERCENT + RESERVE / calls).toFixed(3)}×`,
      perProcess: `(1 + ${PERCENT}) + ${WORKERS} reserves ${WORKERS * RESERVE} / ${calls} calls = ${
        (1 + PERCENT + WORKERS * RESERVE / calls).toFixed(3)
      }×`
    },
    runs
  }
  mkdirSync(join(BENCH, "results"), { recursive: true })
  // the per-bin series are kept, so a later --only run can still draw every line
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`)
  const complete = MODES.every((m) => runs.some((r) => r.mode === m))
  if (complete) {
    mkdirSync(join(ROOT, "docs", "images"), { recursive: true })
    writeFileSync(join(ROOT, "docs", "images", "retry-budget-fleet.svg"), svg(runs))
  }
  console.log("")
  console.log("| run | calls made (outage) | requests seen (outage) | amplification | time to recover | peak req/s |")
  console.log("|---|---:|---:|---:|---:|---:|")
  for (const r of summary) {
    console.log(
      `| ${r.mode} | ${r.callsMadeDuringOutage} | ${r.requestsSeenDuringOutage} | ${r.amplification.toFixed(2)}× | ${
        r.timeToRecoverMillis === null ? "not within the run" : `${r.timeToRecoverMillis} ms`
      } | ${r.peakRequestsPerSecond} |`
    )
  }
  console.log(`\nbounds: shared ${out.bounds.shared}; per process ${out.bounds.perProcess}`)
  for (const r of summary.filter((r) => r.mode.startsWith("redis"))) {
    // each run against the shared bound for its own calls
    const bound = 1 + PERCENT + RESERVE / r.callsMadeDuringOutage
    console.log(
      `${r.mode} run: ${r.storeFallbacks} fallbacks to a local budget, ${r.localDecisions} withdrawals decided locally${
        r.stall ? ` (CLIENT PAUSE ${r.stall.millis}: ${r.stall.reply})` : ""
      }; amplification ${r.amplification.toFixed(3)}× against the shared bound ${bound.toFixed(3)}×: ${
        r.amplification <= bound ? "within" : "OVER"
      }`
    )
  }
  console.log(`load average ${LOAD_BEFORE[0].toFixed(1)} -> ${loadavg()[0].toFixed(1)} on ${WORKERS} workers`)
  console.log(
    `wrote bench/results/fleet.json${
      complete ? " and docs/images/retry-budget-fleet.svg" : " (not the SVG: it needs all four runs)"
    }`
  )
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
