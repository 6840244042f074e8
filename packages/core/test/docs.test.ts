/**
 * Docs that run: every ```ts block of README.md and docs/*.md is extracted by
 * scripts/extract-doc-examples.mjs and compiled by `pnpm typecheck`. This test checks that
 * the extractor found and wrote every block (a broken extractor would silently check
 * nothing), then runs the blocks fenced as ```ts run and compares their console output
 * with the ```text output block that follows them, when there is one.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { format } from "node:util"
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const generated = join(root, "docs", "examples", "generated")

interface Block {
  readonly index: number
  readonly line: number
  readonly file?: string
  readonly ignore: boolean
  readonly run: boolean
  readonly output?: string
}

interface Manifest {
  readonly documents: ReadonlyArray<{ readonly source: string; readonly blocks: ReadonlyArray<Block> }>
}

/** The Markdown files the extractor must cover, listed independently of it. */
const markdownFiles = (): Array<string> => [
  ...(existsSync(join(root, "README.md")) ? ["README.md"] : []),
  ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)
]

/** Counts ```ts / ```typescript fences with a deliberately simple scan, to cross-check the extractor. */
const countTsFences = (text: string): { all: number; ignored: number } => {
  let all = 0
  let ignored = 0
  let inFence: string | undefined
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(`{3,}|~{3,})\s*(\S*)(.*)$/.exec(line)
    if (m === null) continue
    if (inFence === undefined) {
      inFence = m[1]!
      if (m[2] === "ts" || m[2] === "typescript") {
        all++
        if (/\bignore\b/.test(m[3]!)) ignored++
      }
    } else if (m[1]![0] === inFence[0] && m[1]!.length >= inFence.length && m[2] === "" && m[3]!.trim() === "") {
      inFence = undefined
    }
  }
  return { all, ignored }
}

/** The guides that must hold examples (README.md's blocks are checked when it exists). */
const GUIDES = [
  "getting-started",
  "policies",
  "on-exception",
  "on-predicate",
  "wait-strategies",
  "jitter",
  "multiple-policies",
  "runtime-configuration",
  "event-handlers",
  "async",
  "logging",
  "testing",
  "differences-from-python"
]

let manifest: Manifest

beforeAll(() => {
  const result = spawnSync(process.execPath, [join(root, "scripts", "extract-doc-examples.mjs")], {
    cwd: root,
    encoding: "utf8"
  })
  expect(result.stderr, "the extractor reported an error").toBe("")
  expect(result.status).toBe(0)
  manifest = JSON.parse(readFileSync(join(generated, "manifest.json"), "utf8")) as Manifest
})

describe("doc examples are extracted", () => {
  it("covers every Markdown file", () => {
    expect(manifest.documents.map((d) => d.source)).toEqual(markdownFiles())
  })

  it.each(GUIDES)("docs/%s.md has examples", (guide) => {
    const doc = manifest.documents.find((d) => d.source === `docs/${guide}.md`)
    expect(doc, `docs/${guide}.md is missing`).toBeDefined()
    expect(doc!.blocks.filter((b) => !b.ignore).length).toBeGreaterThan(0)
  })

  it("writes one module per ```ts block, and nothing else", () => {
    const expected = new Set<string>(["manifest.json"])
    for (const doc of manifest.documents) {
      const { all, ignored } = countTsFences(readFileSync(join(root, doc.source), "utf8"))
      expect(doc.blocks.length, `${doc.source}: blocks found`).toBe(all)
      expect(doc.blocks.filter((b) => b.ignore).length, `${doc.source}: blocks ignored`).toBe(ignored)
      for (const block of doc.blocks) {
        if (block.ignore) continue
        expected.add(block.file!)
        const text = readFileSync(join(generated, block.file!), "utf8")
        expect(text.split("\n")[0]).toContain(`${doc.source}:${block.line}`)
        expect(text).toMatch(/export \{\}\n$/)
      }
    }
    expect(new Set(readdirSync(generated))).toEqual(expected)
  })

  it("keeps ```ts ignore blocks rare", () => {
    const all = manifest.documents.flatMap((d) => d.blocks)
    expect(all.filter((b) => b.ignore).length).toBeLessThanOrEqual(Math.ceil(all.length / 10))
  })
})

describe("runnable doc examples", () => {
  const runnable = (): Array<[string, Block]> => {
    // the manifest is read here at collection time; the extractor runs in beforeAll too,
    // so run it now as well (it is idempotent and writes only what changed)
    spawnSync(process.execPath, [join(root, "scripts", "extract-doc-examples.mjs")], { cwd: root })
    const m = JSON.parse(readFileSync(join(generated, "manifest.json"), "utf8")) as Manifest
    return m.documents.flatMap((d) =>
      d.blocks.filter((b) => b.run).map((b): [string, Block] => [`${d.source}:${b.line}`, b])
    )
  }

  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.each(runnable())("%s", async (_name, block) => {
    const printed: Array<string> = []
    const capture = (...args: Array<unknown>) => {
      printed.push(format(...args))
    }
    vi.spyOn(console, "log").mockImplementation(capture)
    vi.spyOn(console, "info").mockImplementation(capture)
    vi.spyOn(console, "error").mockImplementation(capture)
    await import(pathToFileURL(join(generated, block.file!)).href)
    if (block.output !== undefined) {
      const lines = (s: string) => s.split("\n").map((l) => l.trimEnd()).join("\n").trim()
      expect(lines(printed.join("\n"))).toBe(lines(block.output))
    }
  }, 30_000)
})
