/**
 * The packages as a user gets them: build, `pnpm pack` both packages (pnpm rewrites
 * `workspace:^`), install the tarballs into a new project outside the workspace, then
 * typecheck consumer/main.ts there with tsc and run it with node. Catches a broken
 * `exports` map, a missing file in `files`, a `.d.ts` that does not compile on its own,
 * or a dependency that only resolves inside the workspace.
 *
 * Our packages come from the local tarballs only (an override points every reference to
 * `@effect-backoff/core` at its tarball); their dependencies come from the registry at
 * the versions of the workspace lockfile, through pnpm's store (`--prefer-offline`).
 * Slow (a build, an install, a tsc run that checks the libraries' declarations too),
 * hence the long timeout.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const pnpmBin = path.join(root, "node_modules", "pnpm", "bin", "pnpm.cjs")

/** The child's environment: ours without the npm/pnpm settings of the running `pnpm test`. */
const childEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_)/.test(key) || key === "NODE_OPTIONS" || key.startsWith("VITEST")) continue
    env[key] = value
  }
  // a project without a lockfile: CI=true would make pnpm insist on a frozen one
  env.CI = "false"
  return env
}

interface Output {
  readonly stdout: string
  readonly stderr: string
}

const run = (file: string, args: ReadonlyArray<string>, cwd: string): Promise<Output> =>
  new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env: childEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 240_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${path.basename(file)} ${args.join(" ")} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`))
      } else {
        resolve({ stdout, stderr })
      }
    })
  })

const pnpm = (args: ReadonlyArray<string>, cwd: string) => run(process.execPath, [pnpmBin, ...args], cwd)

/** name → version for every package that has exactly one version in the workspace lockfile. */
const lockedVersions = (): Map<string, string> => {
  const lock = fs.readFileSync(path.join(root, "pnpm-lock.yaml"), "utf8")
  const section = lock.slice(lock.indexOf("\npackages:\n"), lock.indexOf("\nsnapshots:\n"))
  const versions = new Map<string, Set<string>>()
  for (const match of section.matchAll(/^ {2}'?(@?[^@\s']+)@([^(':\s]+)'?:\s*$/gm)) {
    const [, name, version] = match
    if (!versions.has(name!)) versions.set(name!, new Set())
    versions.get(name!)!.add(version!)
  }
  const single = new Map<string, string>()
  for (const [name, set] of versions) if (set.size === 1) single.set(name, [...set][0]!)
  return single
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"))

let tmp: string | undefined

afterAll(() => {
  if (tmp !== undefined && process.env.KEEP_CONSUMER_PROJECT === undefined) {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
})

describe("consumer project", () => {
  it("installs the packed packages outside the workspace, typechecks and runs a program", async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "effect-backoff-consumer-"))
    const tarballs = path.join(tmp, "tarballs")
    const app = path.join(tmp, "app")
    fs.mkdirSync(tarballs)
    fs.mkdirSync(path.join(app, "src"), { recursive: true })
    expect(path.relative(root, app).startsWith("..")).toBe(true)

    // build and pack
    await pnpm(["run", "build"], root)
    const packages = ["core", "platform-node"].map((dir) => {
      const manifest = readJson(path.join(root, "packages", dir, "package.json"))
      return { dir, name: manifest.name as string, version: manifest.version as string }
    })
    for (const pkg of packages) {
      await pnpm(["pack", "--pack-destination", tarballs], path.join(root, "packages", pkg.dir))
    }
    const tarballOf = (name: string, version: string) => {
      const file = path.join(tarballs, `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`)
      expect(fs.existsSync(file), `${file} was packed`).toBe(true)
      return `file:${file}`
    }
    const [core, node] = packages.map((pkg) => ({ ...pkg, tarball: tarballOf(pkg.name, pkg.version) }))

    // the project: dependencies at the lockfile's versions, ours from the tarballs
    const locked = lockedVersions()
    const version = (name: string) => {
      const v = locked.get(name)
      expect(v, `${name} has one version in pnpm-lock.yaml`).toBeDefined()
      return v!
    }
    const overrides: Record<string, string> = { [core!.name]: core!.tarball }
    for (const [name, v] of locked) {
      if (name === "effect" || name.startsWith("@effect/")) overrides[name] = v
    }
    fs.writeFileSync(
      path.join(app, "package.json"),
      JSON.stringify(
        {
          name: "effect-backoff-consumer",
          private: true,
          type: "module",
          dependencies: {
            [core!.name]: core!.tarball,
            [node!.name]: node!.tarball,
            effect: version("effect"),
            "@effect/platform": version("@effect/platform"),
            "@effect/platform-node": version("@effect/platform-node")
          },
          devDependencies: {
            typescript: version("typescript"),
            "@types/node": version("@types/node")
          },
          pnpm: { overrides }
        },
        null,
        2
      )
    )
    fs.writeFileSync(
      path.join(app, "tsconfig.json"),
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2022",
            // @effect/platform's declarations name DOM types (Storage, Transferable)
            lib: ["ES2022", "DOM"],
            module: "NodeNext",
            moduleResolution: "NodeNext",
            types: ["node"],
            strict: true,
            exactOptionalPropertyTypes: true,
            verbatimModuleSyntax: true,
            noUnusedLocals: true,
            // compile our .d.ts files for real: a broken declaration must fail here
            skipLibCheck: false,
            skipDefaultLibCheck: true,
            outDir: "dist",
            rootDir: "src"
          },
          include: ["src"]
        },
        null,
        2
      )
    )
    fs.copyFileSync(path.join(root, "packages", "core", "test", "consumer", "main.ts"), path.join(app, "src", "main.ts"))

    await pnpm(["install", "--prefer-offline", "--no-frozen-lockfile", "--config.confirmModulesPurge=false"], app)

    // our packages really are the tarballs, and nothing links back into the workspace
    const lockfile = fs.readFileSync(path.join(app, "pnpm-lock.yaml"), "utf8")
    expect(lockfile).not.toContain("link:")
    expect(lockfile).not.toContain(root)
    for (const pkg of [core!, node!]) {
      const installed = fs.realpathSync(path.join(app, "node_modules", pkg.name))
      expect(installed.startsWith(root)).toBe(false)
      const files = fs.readdirSync(installed)
      expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "dist"]))
      expect(readJson(path.join(installed, "package.json")).version).toBe(pkg.version)
    }
    const nodeManifest = readJson(path.join(fs.realpathSync(path.join(app, "node_modules", node!.name)), "package.json"))
    expect(nodeManifest.dependencies[core!.name]).not.toMatch(/^workspace:/)

    // typecheck with tsc, emit, run
    await run(process.execPath, [path.join(app, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], app)
    const { stdout } = await run(process.execPath, [path.join(app, "dist", "main.js")], app)
    const lines = stdout.trim().split("\n")
    expect(lines).toEqual([
      "onException: thing 42 after 3 calls, slept 5,5 ms",
      "raiseOnGiveup false: None",
      "timeline: Call Backoff Call Backoff Call Giveup in 3 s",
      "subpath Wait.fibo: 1 1 2 3 5",
      "InvalidOptionError: true",
      "HttpBackoff: 200 done after GET 503, GET 429",
      "NodeHttpBackoff.layer: 200 done after 503",
      "internals: ERR_PACKAGE_PATH_NOT_EXPORTED",
      "consumer: ok"
    ])

    // the command line: the bin entry is installed and starts
    const cli = await run(path.join(app, "node_modules", ".bin", "effect-backoff"), ["--help"], app)
    expect(cli.stdout).toContain("effect-backoff")
  }, 300_000)
})
