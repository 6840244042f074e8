/**
 * The packages as a user gets them: build, `pnpm pack` both packages (pnpm rewrites
 * `workspace:^`), install the tarballs into new projects outside the workspace, then
 * typecheck a program there with tsc and run it with node. Two installs: `effect` alone
 * (consumer/core-only.ts: the main entry needs nothing else; `@effect/platform` is an
 * optional peer, absent), and effect + @effect/platform + platform-node
 * (consumer/main.ts: the `@effect-backoff/core/HttpBackoff` entry point, the Node layer,
 * and a single copy of core, which platform-node takes as a peer). Catches a broken
 * `exports` map, a missing file in `files`, a `.d.ts` that does not compile on its own,
 * or a dependency that only resolves inside the workspace.
 *
 * Our packages come from the local tarballs only (an override points every reference to
 * `@effect-backoff/core` at its tarball); their dependencies come from the registry at
 * the versions of the workspace lockfile, through pnpm's store (`--prefer-offline`).
 * Slow (a build, an install, a tsc run that checks the libraries' declarations too),
 * hence the long timeout.
 *
 * Two more projects install with npm from the registry, as a new user does: one runs
 * exactly the README's `npm install` lines (read from README.md, so the test follows the
 * README), the other installs core with `effect@latest` (Effect 4) and checks that the
 * import fails with the one sentence naming the versions needed.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

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
    execFile(
      file,
      args,
      { cwd, env: childEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 240_000 },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${path.basename(file)} ${args.join(" ")} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`
            )
          )
        } else {
          resolve({ stdout, stderr })
        }
      }
    )
  })

const pnpm = (args: ReadonlyArray<string>, cwd: string) => run(process.execPath, [pnpmBin, ...args], cwd)

/** npm as a user runs it (its cache reused; no audit or funding round trips). */
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  run("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=warn"], cwd)

/**
 * The README's install commands for a project: the `npm install` lines of the shell block
 * after "Then, in your project", each split into its arguments.
 */
const readmeInstalls = (): Array<Array<string>> => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const at = readme.indexOf("Then, in your project")
  expect(at, "README.md has the install section").toBeGreaterThan(0)
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))
  expect(block, "a sh block follows it").not.toBeNull()
  return block![1]!.split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("npm install "))
    .map((line) => line.split(/\s+/).slice(1))
}

/** A project as `npm init` makes it (ESM), with the tarballs beside its package.json. */
const npmProject = (name: string): string => {
  const app = path.join(tmp!, name)
  fs.mkdirSync(app, { recursive: true })
  fs.writeFileSync(
    path.join(app, "package.json"),
    JSON.stringify({ name: `effect-backoff-${name}`, version: "1.0.0", private: true, type: "module" }, null, 2)
  )
  for (const pkg of [core, node]) {
    const file = pkg.tarball.slice("file:".length)
    fs.copyFileSync(file, path.join(app, path.basename(file)))
  }
  return app
}

const installedVersion = (app: string, name: string): string =>
  readJson(path.join(app, "node_modules", name, "package.json")).version

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

interface Packed {
  readonly dir: string
  readonly name: string
  readonly version: string
  /** `file:/abs/path.tgz` */
  readonly tarball: string
}

let tmp: string | undefined
let core: Packed
let node: Packed
let locked: Map<string, string>

const version = (name: string) => {
  const v = locked.get(name)
  expect(v, `${name} has one version in pnpm-lock.yaml`).toBeDefined()
  return v!
}

/** A new project outside the workspace, with `program` (a file of test/consumer/) as src/main.ts. */
const makeProject = (
  name: string,
  dependencies: Record<string, string>,
  program: string,
  lib: ReadonlyArray<string>
): string => {
  const app = path.join(tmp!, name)
  fs.mkdirSync(path.join(app, "src"), { recursive: true })
  expect(path.relative(root, app).startsWith("..")).toBe(true)
  // our packages from the tarballs; effect and @effect/* at the lockfile's versions
  const overrides: Record<string, string> = { [core.name]: core.tarball }
  for (const [dep, v] of locked) {
    if (dep === "effect" || dep.startsWith("@effect/")) overrides[dep] = v
  }
  fs.writeFileSync(
    path.join(app, "package.json"),
    JSON.stringify(
      {
        name: `effect-backoff-consumer-${name}`,
        private: true,
        type: "module",
        dependencies,
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
          lib,
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
  fs.copyFileSync(path.join(root, "packages", "core", "test", "consumer", program), path.join(app, "src", "main.ts"))
  return app
}

const install = (app: string) =>
  pnpm(["install", "--prefer-offline", "--no-frozen-lockfile", "--config.confirmModulesPurge=false"], app)

/** Our packages really are the tarballs, and nothing links back into the workspace. */
const expectFromTarballs = (app: string, packages: ReadonlyArray<Packed>) => {
  const lockfile = fs.readFileSync(path.join(app, "pnpm-lock.yaml"), "utf8")
  expect(lockfile).not.toContain("link:")
  expect(lockfile).not.toContain(root)
  for (const pkg of packages) {
    const installed = fs.realpathSync(path.join(app, "node_modules", pkg.name))
    expect(installed.startsWith(root)).toBe(false)
    const files = fs.readdirSync(installed)
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "dist"]))
    expect(readJson(path.join(installed, "package.json")).version).toBe(pkg.version)
  }
}

/** The packages pnpm installed, by the names of its store directories (`@effect+platform@0.97.2...`). */
const installedPackages = (app: string): Array<string> => fs.readdirSync(path.join(app, "node_modules", ".pnpm"))

const typecheckAndRun = async (app: string): Promise<Array<string>> => {
  await run(process.execPath, [path.join(app, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], app)
  const { stdout } = await run(process.execPath, [path.join(app, "dist", "main.js")], app)
  return stdout.trim().split("\n")
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "effect-backoff-consumer-"))
  const tarballs = path.join(tmp, "tarballs")
  fs.mkdirSync(tarballs)
  // build and pack (pnpm rewrites `workspace:^`)
  await pnpm(["run", "build"], root)
  const packed = []
  for (const dir of ["core", "platform-node"]) {
    const manifest = readJson(path.join(root, "packages", dir, "package.json"))
    await pnpm(["pack", "--pack-destination", tarballs], path.join(root, "packages", dir))
    const file = path.join(tarballs, `${manifest.name.replace(/^@/, "").replace("/", "-")}-${manifest.version}.tgz`)
    expect(fs.existsSync(file), `${file} was packed`).toBe(true)
    packed.push({ dir, name: manifest.name as string, version: manifest.version as string, tarball: `file:${file}` })
  }
  ;[core, node] = packed as [Packed, Packed]
  locked = lockedVersions()
}, 300_000)

afterAll(() => {
  if (tmp !== undefined && process.env.KEEP_CONSUMER_PROJECT === undefined) {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
})

describe("consumer project", () => {
  it(
    "with effect alone: the main entry and its subpaths typecheck and run, no @effect/platform installed",
    async () => {
      const app = makeProject("core-only", { [core.name]: core.tarball, effect: version("effect") }, "core-only.ts", [
        "ES2022"
      ])
      await install(app)
      expectFromTarballs(app, [core])
      // the optional peer is not installed (pnpm installs missing peers, but not optional ones)
      expect(fs.existsSync(path.join(app, "node_modules", "@effect", "platform"))).toBe(false)
      expect(installedPackages(app).filter((dir) => dir.startsWith("@effect+"))).toEqual([])
      expect(await typecheckAndRun(app)).toEqual([
        "onException: thing 7 after 3 calls",
        "timeline: Call Backoff Call Backoff Call Backoff Call Giveup in 4 s",
        "InvalidOptionError: true",
        "@effect/platform: ERR_MODULE_NOT_FOUND",
        "core only: ok"
      ])
    },
    300_000
  )

  it(
    "with @effect/platform and platform-node: HttpBackoff's entry point, the Node layer, one copy of core",
    async () => {
      const app = makeProject(
        "app",
        {
          [core.name]: core.tarball,
          [node.name]: node.tarball,
          effect: version("effect"),
          "@effect/platform": version("@effect/platform"),
          "@effect/platform-node": version("@effect/platform-node")
        },
        "main.ts",
        // @effect/platform's declarations name DOM types (Storage, Transferable)
        ["ES2022", "DOM"]
      )
      await install(app)
      expectFromTarballs(app, [core, node])

      // core is a peer of platform-node: one copy, the app's own
      const nodeManifest = readJson(
        path.join(fs.realpathSync(path.join(app, "node_modules", node.name)), "package.json")
      )
      expect(nodeManifest.dependencies?.[core.name]).toBeUndefined()
      expect(nodeManifest.peerDependencies[core.name]).toBe(`^${core.version}`)
      expect(installedPackages(app).filter((dir) => dir.startsWith("@effect-backoff+core@"))).toHaveLength(1)
      const nodeDir = path.dirname(path.dirname(fs.realpathSync(path.join(app, "node_modules", node.name))))
      expect(fs.realpathSync(path.join(nodeDir, "@effect-backoff", "core"))).toBe(
        fs.realpathSync(path.join(app, "node_modules", core.name))
      )

      expect(await typecheckAndRun(app)).toEqual([
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
    },
    300_000
  )
})

describe("consumer project: the Testing entry point", () => {
  /** A tsconfig next to the default one, for moduleResolution Bundler (typecheck only). */
  const writeBundlerConfig = (app: string, include: ReadonlyArray<string>, name: string) => {
    const base = readJson(path.join(app, "tsconfig.json"))
    fs.writeFileSync(
      path.join(app, name),
      JSON.stringify(
        {
          compilerOptions: {
            ...base.compilerOptions,
            module: "ESNext",
            moduleResolution: "Bundler",
            noEmit: true,
            outDir: undefined,
            rootDir: undefined
          },
          include
        },
        null,
        2
      )
    )
  }
  const tsc = (app: string, config: string) =>
    run(process.execPath, [path.join(app, "node_modules", "typescript", "bin", "tsc"), "-p", config], app)

  it(
    "with effect alone: @effect-backoff/core/Testing typechecks (NodeNext and Bundler) and runs; then under @effect/vitest",
    async () => {
      const app = makeProject("testing", { [core.name]: core.tarball, effect: version("effect") }, "testing.ts", [
        "ES2022"
      ])
      await install(app)
      expectFromTarballs(app, [core])
      // no fast-check of the project's own: the one effect depends on is used
      expect(fs.existsSync(path.join(app, "node_modules", "fast-check"))).toBe(false)
      expect(installedPackages(app).filter((dir) => dir.startsWith("fast-check@"))).toHaveLength(1)
      const installed = fs.realpathSync(path.join(app, "node_modules", core.name))
      expect(fs.existsSync(path.join(installed, "dist", "Testing.d.ts"))).toBe(true)
      expect(fs.existsSync(path.join(installed, "dist", "internal", "testing.js"))).toBe(true)

      writeBundlerConfig(app, ["src"], "tsconfig.bundler.json")
      await tsc(app, "tsconfig.bundler.json")
      expect(await typecheckAndRun(app)).toEqual([
        "fc.assert: every law holds",
        "Effect: every law holds",
        "LawError: 200 calls, but maxTries is 3",
        "fast-check: ERR_MODULE_NOT_FOUND",
        "testing: ok"
      ])

      // add @effect/vitest and vitest, and run a test file that uses it.effect.prop
      await pnpm(
        [
          "add",
          "--save-dev",
          "--prefer-offline",
          "--config.confirmModulesPurge=false",
          `@effect/vitest@${version("@effect/vitest")}`,
          `vitest@${version("vitest")}`
        ],
        app
      )
      fs.mkdirSync(path.join(app, "test"))
      fs.copyFileSync(
        path.join(root, "packages", "core", "test", "consumer", "testing-vitest.ts"),
        path.join(app, "test", "policy.test.ts")
      )
      const testConfig = (resolution: "NodeNext" | "Bundler") => {
        const base = readJson(path.join(app, "tsconfig.json"))
        fs.writeFileSync(
          path.join(app, `tsconfig.test.${resolution}.json`),
          JSON.stringify({
            compilerOptions: {
              ...base.compilerOptions,
              module: resolution === "Bundler" ? "ESNext" : "NodeNext",
              moduleResolution: resolution,
              noEmit: true,
              outDir: undefined,
              rootDir: undefined,
              // the libraries' declarations were checked above; vitest's name DOM types
              skipLibCheck: true
            },
            include: ["test"]
          })
        )
        return `tsconfig.test.${resolution}.json`
      }
      await tsc(app, testConfig("NodeNext"))
      await tsc(app, testConfig("Bundler"))
      const vitest = await run(
        process.execPath,
        [path.join(app, "node_modules", "vitest", "vitest.mjs"), "run", "--reporter=verbose", "test"],
        app
      )
      // without colour codes, should FORCE_COLOR be set
      const out = vitest.stdout.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "")
      expect(out).toContain("it.effect.prop: every bounded policy keeps every law")
      expect(out).toMatch(/Tests\s+4 passed \(4\)/)
    },
    // two installs and four tsc runs
    600_000
  )
})

describe("a new user's npm project", () => {
  it(
    "the README's install commands, run as written, give a project that imports and runs",
    async () => {
      const commands = readmeInstalls()
      expect(commands.length).toBeGreaterThanOrEqual(3)
      const all = commands.flat()
      // the Effect 3 line is pinned, and the tarballs are named as pnpm packs them
      for (const pin of ["effect@^3.22", "@effect/platform@^0.97", "@effect/platform-node@^0.108", "ioredis@^5"]) {
        expect(all).toContain(pin)
      }
      for (const pkg of [core, node]) expect(all).toContain(`./${path.basename(pkg.tarball)}`)
      const app = npmProject("readme")
      for (const args of commands) {
        const { stderr } = await npm(["install", ...args], app)
        expect(stderr, `npm install ${args.join(" ")}`).not.toMatch(/ERESOLVE|warn peer|conflicting peer/i)
      }
      expect(installedVersion(app, "effect")).toMatch(/^3\./)
      expect(installedVersion(app, "@effect/platform")).toMatch(/^0\.97\./)
      expect(installedVersion(app, "@effect/platform-node")).toMatch(/^0\.108\./)
      expect(installedVersion(app, "ioredis")).toMatch(/^5\./)
      expect(installedVersion(app, core.name)).toBe(core.version)
      fs.copyFileSync(path.join(root, "packages", "core", "test", "consumer", "readme.mjs"), path.join(app, "main.mjs"))
      const { stdout } = await run(process.execPath, [path.join(app, "main.mjs")], app)
      expect(stdout.trim().split("\n")).toEqual([
        "onException: done after 3 calls",
        "HttpBackoff: function",
        "platform-node: function function"
      ])
    },
    300_000
  )

  it(
    "with Effect 4 (the registry's latest effect), the import fails with one sentence naming the versions needed",
    async () => {
      const app = npmProject("effect4")
      // Effect 4 forced in (npm refuses the peer conflict without --legacy-peer-deps): the
      // import must then fail with our sentence, not with a missing-export SyntaxError
      await npm(["install", `./${path.basename(core.tarball)}`, "effect@latest", "--legacy-peer-deps"], app)
      expect(installedVersion(app, "effect")).not.toMatch(/^3\./)
      const failure = await run(process.execPath, ["--input-type=module", "-e", "import \"@effect-backoff/core\""], app)
        .then(() => "", (error: Error) => error.message)
      expect(failure).toContain(
        "@effect-backoff/core needs effect ^3.22 (the Effect 3 line, with @effect/platform ^0.97 and " +
          "@effect/platform-node ^0.108), but found an effect without ModuleVersion (Effect 4 or later): " +
          "install effect@^3.22 @effect/platform@^0.97 @effect/platform-node@^0.108"
      )
      expect(failure).not.toContain("does not provide an export named")
    },
    300_000
  )
})
