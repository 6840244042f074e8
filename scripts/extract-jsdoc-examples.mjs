#!/usr/bin/env node
// Extracts every ```ts block of an `@example` in the JSDoc of the public modules
// (packages/*/src/*.ts) into docs/examples/jsdoc/<package>-<Module>-<n>.ts, so that
// `pnpm typecheck` compiles them; packages/core/test/jsdoc-examples.test.ts runs the ones
// that print and checks what they print. A JSDoc example that does not compile, throws or
// prints something else than it says is a bug.
//
// Fences (as in the docs, see scripts/extract-doc-examples.mjs):
//   ```ts           compiled; also run when it calls console.log (declaration-only
//                   examples, with no console.log, are only compiled)
//   ```ts no-run    compiled, never run (it needs a server, a terminal, real time...)
//   ```ts ignore    skipped (use sparingly)
// What an example prints is written on the line that prints it, node's way or JSON's:
//   console.log(Duration.toMillis(d)) // 2000
//   Effect.runPromise(poll).then(console.log) // ["message"]
// Each `console.log` on a line that ends with a `// comment` is checked against it; the
// comment may go on with words after the value (`// "body" after 3 calls`).
//
// Each generated module keeps the example's code on the same line numbers as in the source
// file, so `docs/examples/jsdoc/core-Jitter-2.ts(47,7)` is packages/core/src/Jitter.ts:47.
// Writes docs/examples/jsdoc/manifest.json (read by the test). Plain Node ESM, no
// dependencies. Exit code 1 on a malformed comment.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { basename, dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { exportDeclarations, fencedBlocks } from "./extract-doc-examples.mjs"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const outDir = join(root, "docs", "examples", "jsdoc")

const TS_LANGS = new Set(["ts", "typescript"])

/** The public modules: packages/<pkg>/src/*.ts (not internal/), by package then name. */
export const publicModules = () => {
  const files = []
  const packages = join(root, "packages")
  for (const pkg of readdirSync(packages).sort()) {
    const src = join(packages, pkg, "src")
    if (!existsSync(src)) continue
    for (const name of readdirSync(src).sort()) {
      if (name.endsWith(".ts") && !name.endsWith(".d.ts")) files.push({ pkg, path: join(src, name) })
    }
  }
  return files
}

/**
 * The `@example` sections of a TypeScript file's JSDoc comments, as Markdown text with the
 * comment's ` * ` prefixes removed and every line kept on its own line number (lines outside
 * an example are blank), so fencedBlocks gives the source line numbers.
 */
export const exampleText = (text) => {
  const lines = text.split(/\r?\n/)
  const out = lines.map(() => "")
  let inComment = false
  let inExample = false
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (!inComment) {
      if (/^\s*\/\*\*/.test(line) && !/\*\/\s*$/.test(line)) inComment = true
      continue
    }
    if (/^\s*\*\/\s*$/.test(line) || /\*\/\s*$/.test(line)) {
      inComment = false
      inExample = false
      continue
    }
    const body = line.replace(/^\s*\* ?/, "")
    if (/^@\w+/.test(body)) {
      inExample = body.startsWith("@example")
      continue
    }
    if (inExample) out[i] = body
  }
  return out.join("\n")
}

/** The module generated for one example, its code on the same lines as in the source. */
const moduleText = (source, block) => {
  const header =
    `// Generated from ${source}:${block.line} by scripts/extract-jsdoc-examples.mjs. Do not edit: edit the JSDoc.`
  const padding = "\n".repeat(Math.max(1, block.line - 1))
  return `${header}${padding}${exportDeclarations(block.code)}\n\nexport {}\n`
}

const writeIfChanged = (path, text) => {
  if (existsSync(path) && readFileSync(path, "utf8") === text) return false
  writeFileSync(path, text)
  return true
}

/** Extracts every public module's examples; returns the manifest. */
export const extract = () => {
  mkdirSync(outDir, { recursive: true })
  const manifest = { generatedBy: "scripts/extract-jsdoc-examples.mjs", modules: [] }
  const keep = new Set(["manifest.json"])
  for (const { pkg, path } of publicModules()) {
    const source = relative(root, path).split("\\").join("/")
    const stem = `${pkg}-${basename(path, ".ts")}`
    const blocks = fencedBlocks(exampleText(readFileSync(path, "utf8")), source)
    const mod = { source, examples: [] }
    let n = 0
    for (const block of blocks) {
      if (!TS_LANGS.has(block.lang)) continue
      n++
      const ignore = block.flags.includes("ignore")
      const entry = {
        index: n,
        line: block.line,
        file: ignore ? undefined : `${stem}-${n}.ts`,
        ignore,
        run: !ignore && !block.flags.includes("no-run") && /\bconsole\.log\b/.test(block.code)
      }
      mod.examples.push(entry)
      if (ignore) continue
      keep.add(entry.file)
      writeIfChanged(join(outDir, entry.file), moduleText(source, block))
    }
    manifest.modules.push(mod)
  }
  for (const name of readdirSync(outDir)) {
    if (!keep.has(name)) rmSync(join(outDir, name), { recursive: true, force: true })
  }
  writeIfChanged(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n")
  return manifest
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const manifest = extract()
    const all = manifest.modules.flatMap((m) => m.examples)
    const written = all.filter((e) => !e.ignore).length
    const run = all.filter((e) => e.run).length
    const modules = manifest.modules.length
    const to = relative(root, outDir)
    console.log(`extract-jsdoc-examples: ${written} examples from ${modules} modules (${run} runnable) -> ${to}/`)
  } catch (e) {
    console.error(`extract-jsdoc-examples: ${e instanceof Error ? e.message : String(e)}`)
    process.exitCode = 1
  }
}
