/**
 * JSDoc examples that run: every ```ts block of an `@example` in packages/*\/src/*.ts is
 * extracted by scripts/extract-jsdoc-examples.mjs and compiled by `pnpm typecheck`. This
 * test checks that the extractor found every example, then runs the ones that print
 * (`console.log`, unless fenced ```ts no-run) and checks each `console.log(x) // expected`
 * against what that line printed.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { format, inspect } from "node:util"
import { afterEach, describe, expect, it, vi } from "vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const generated = join(root, "docs", "examples", "jsdoc")
const runDir = join(root, ".vitest", "jsdoc-examples")

interface Example {
  readonly index: number
  readonly line: number
  readonly file?: string
  readonly ignore: boolean
  readonly run: boolean
}

interface Manifest {
  readonly modules: ReadonlyArray<{ readonly source: string; readonly examples: ReadonlyArray<Example> }>
}

// read at collection time, so that it.each sees every example
const extractor = spawnSync(process.execPath, [join(root, "scripts", "extract-jsdoc-examples.mjs")], {
  cwd: root,
  encoding: "utf8"
})
const manifest = JSON.parse(readFileSync(join(generated, "manifest.json"), "utf8")) as Manifest

/** The public modules, listed independently of the extractor. */
const publicModules = (): Array<string> =>
  readdirSync(join(root, "packages")).sort().flatMap((pkg) => {
    const src = join(root, "packages", pkg, "src")
    try {
      return readdirSync(src).filter((f) => f.endsWith(".ts")).sort().map((f) => `packages/${pkg}/src/${f}`)
    } catch {
      return []
    }
  })

// --- what a line printed vs what its comment says --------------------------------------

/** The ways a console.log's arguments can be written in a comment: node's, format's, JSON's. */
const printedForms = (args: ReadonlyArray<unknown>): Array<string> => {
  const json = (a: unknown) => {
    try {
      return JSON.stringify(a) ?? String(a)
    } catch {
      return String(a)
    }
  }
  return [
    args.map((a) => inspect(a, { depth: Infinity, breakLength: Infinity })).join(" "),
    format(...args),
    args.map(json).join(" ")
  ]
}

/** Quotes and spacing do not matter: `["a", 1]` is node's `[ 'a', 1 ]`. */
const normalize = (s: string) => s.replace(/"/g, "'").replace(/\s+/g, "")

/** The comment is the printed value, possibly followed by words (`"body" after 3 calls`). */
export const commentMatches = (comment: string, args: ReadonlyArray<unknown>): boolean => {
  const forms = new Set(printedForms(args).map(normalize))
  const text = comment.trim()
  for (let k = 1; k <= text.length; k++) {
    if (k < text.length && !/\s/.test(text[k]!)) continue
    if (forms.has(normalize(text.slice(0, k)))) return true
  }
  return false
}

/** `code // comment` on a line that calls console.log: the comment, or undefined. */
const expectation = (line: string): string | undefined => {
  const m = /^(.*\S)\s+\/\/\s?(.*)$/.exec(line)
  return m !== null && /\bconsole\.log\b/.test(m[1]!) ? m[2] : undefined
}

interface Printed {
  readonly line: number
  readonly args: ReadonlyArray<unknown>
}

declare global {
  var __jsdocExpect: ((line: number) => (...args: Array<unknown>) => void) | undefined
}

/**
 * The example with each checked `console.log` replaced by a recorder of its line, written
 * beside the repository's node_modules so its imports resolve as the original's do.
 */
const instrument = (example: Example): { file: string; expected: Map<number, string> } => {
  const lines = readFileSync(join(generated, example.file!), "utf8").split("\n")
  const expected = new Map<number, string>()
  const out = lines.map((line, i) => {
    const comment = expectation(line)
    if (comment === undefined) return line
    expected.set(i + 1, comment)
    return line.replace(/\bconsole\.log\b/g, `__jsdocExpect!(${i + 1})`)
  })
  // line 1 is the generated header comment: the recorder goes there, keeping line numbers
  out[0] = "const __jsdocExpect = globalThis.__jsdocExpect"
  mkdirSync(runDir, { recursive: true })
  const file = join(runDir, example.file!)
  writeFileSync(file, out.join("\n"))
  return { file, expected }
}

describe("JSDoc examples are extracted", () => {
  it("the extractor ran", () => {
    expect(extractor.stderr).toBe("")
    expect(extractor.status).toBe(0)
  })

  it("covers every public module", () => {
    expect(manifest.modules.map((m) => m.source)).toEqual(publicModules())
  })

  it("one ```ts block per @example, each written", () => {
    let total = 0
    for (const mod of manifest.modules) {
      const tags = (readFileSync(join(root, mod.source), "utf8").match(/^\s*\*\s*@example\b/gm) ?? []).length
      expect(mod.examples.length, `${mod.source}: examples`).toBe(tags)
      total += tags
      for (const example of mod.examples) {
        if (example.ignore) continue
        const text = readFileSync(join(generated, example.file!), "utf8")
        expect(text.split("\n")[0]).toContain(`${mod.source}:${example.line}`)
      }
    }
    expect(total).toBeGreaterThan(0)
  })
})

describe("commentMatches", () => {
  it("reads the comment as node or JSON would print the value", () => {
    expect(commentMatches("[3, 6, 12]", [[3, 6, 12]])).toBe(true)
    expect(commentMatches("[\"message\"]", [["message"]])).toBe(true)
    expect(commentMatches("\"body of /x\" after 3 calls", ["body of /x"])).toBe(true)
    expect(commentMatches("maxTries must be >= 1, got 0", ["maxTries must be >= 1, got 0"])).toBe(true)
    expect(commentMatches("true false", [true, false])).toBe(true)
    expect(commentMatches("{ _id: \"Option\", _tag: \"None\" }", [{ _id: "Option", _tag: "None" }])).toBe(true)
  })

  it("rejects a different value", () => {
    expect(commentMatches("2000", [20])).toBe(false)
    expect(commentMatches("[3, 6, 12]", [[3, 6, 13]])).toBe(false)
    expect(commentMatches("true", [false])).toBe(false)
    expect(commentMatches("\"a\"", ["ab"])).toBe(false)
  })
})

describe("runnable JSDoc examples", () => {
  const runnable = manifest.modules.flatMap((m) =>
    m.examples.filter((e) => e.run).map((e): [string, Example] => [`${m.source}:${e.line}`, e])
  )

  afterEach(() => {
    vi.restoreAllMocks()
    globalThis.__jsdocExpect = undefined
  })

  it("there are some", () => {
    expect(runnable.length).toBeGreaterThan(0)
  })

  it.each(runnable)("%s", async (_name, example) => {
    const { expected, file } = instrument(example)
    const printed: Array<Printed> = []
    globalThis.__jsdocExpect = (line) => (...args) => {
      printed.push({ line, args })
    }
    vi.spyOn(console, "log").mockImplementation(() => {})
    await import(pathToFileURL(file).href)
    // examples may print from a promise or a fiber: wait for every checked line, briefly
    const deadline = Date.now() + 10_000
    while ([...expected.keys()].some((l) => !printed.some((p) => p.line === l)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
    const problems: Array<string> = []
    for (const [line, comment] of expected) {
      const calls = printed.filter((p) => p.line === line)
      if (calls.length === 0) problems.push(`line ${line}: printed nothing, expected ${comment}`)
      for (const call of calls) {
        if (!commentMatches(comment, call.args)) {
          problems.push(`line ${line}: printed ${printedForms(call.args)[0]}, expected ${comment}`)
        }
      }
    }
    expect(problems).toEqual([])
  }, 30_000)
})
