/**
 * A real redis-server for tests: started on a free loopback port with persistence off,
 * stopped (and restartable on the same port) by the test.
 */
import { spawn, spawnSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import * as net from "node:net"

/**
 * The redis-server binary, or undefined when there is none. `REDIS_SERVER=<path>` picks
 * another binary; `REDIS_SERVER=none` acts as if there were none (to check the skip).
 */
export const redisBinary: string | undefined = (() => {
  const chosen = process.env.REDIS_SERVER
  if (chosen === "none") return undefined
  if (chosen !== undefined && chosen !== "") return existsSync(chosen) ? chosen : undefined
  if (existsSync("/usr/bin/redis-server")) return "/usr/bin/redis-server"
  const which = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" })
  const path = which.status === 0 ? which.stdout.trim() : ""
  return path === "" ? undefined : path
})()

/** Why the Redis tests are skipped, when they are. */
export const skipReason = "no redis-server binary (looked at /usr/bin/redis-server and on PATH)"

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** Sends PING; true on +PONG. */
const ping = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    let text = ""
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(200, () => done(false))
    socket.on("error", () => done(false))
    socket.on("connect", () => socket.write("PING\r\n"))
    socket.on("data", (d) => {
      text += d.toString()
      if (text.includes("\r\n")) done(text.startsWith("+PONG"))
    })
  })

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Stops the process (SIGKILL: as abrupt as a crash) and waits for it to exit. */
  readonly stop: () => Promise<void>
  /** Starts it again on the same port (empty: persistence is off). */
  readonly start: () => Promise<void>
}

export const startRedis = async (): Promise<RedisServer> => {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(redisBinary!, ["--save", "", "--appendonly", "no", "--port", String(port), "--bind", "127.0.0.1"], {
      stdio: "ignore"
    })
    for (let i = 0; i < 200; i++) {
      if (await ping(port)) return
      await new Promise((r) => setTimeout(r, 10))
    }
    throw new Error(`redis-server did not answer on port ${port}`)
  }
  const stop = async () => {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null) return
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve())
      c.kill("SIGKILL")
    })
  }
  await start()
  return { port, url: `redis://127.0.0.1:${port}`, stop, start }
}
