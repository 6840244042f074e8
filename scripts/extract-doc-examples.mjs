#!/usr/bin/env node
// Extracts every ```ts code block of README.md and docs/*.md into
// docs/examples/generated/<doc>-<n>.ts so that `pnpm typecheck` compiles the docs:
// a doc example that does not compile is a bug.
//
// Fences (the first word is the language; later words are flags):
//   ```ts               compiled by the typecheck
//   ```ts run           compiled, and also run by packages/core/test/docs.test.ts
//                       (keep it fast: no network, no real sleeps longer than a few ms)
//   ```ts ignore        skipped (use sparingly: for fragments that cannot stand alone)
//   ```text output      the exact console output of the preceding ```ts run block,
//                       compared by the docs test
// `typescript` is accepted for `ts`; ``` and ~~~ fences of any length, indented
// fences (in lists) included.
//
// Each generated file is a module on its own. Its code sits on the same line numbers as
// in the Markdown file (padded with blank lines), so a compiler error at
// `generated/jitter-3.ts(41,7)` is at docs/jitter.md line 41. Unexported top-level
// declarations at column 0 are exported, so `noUnusedLocals` does not flag an example's
// definitions (unused imports are still reported: they are mistakes in a doc too).
//
// Also writes generated/manifest.json describing every block (the docs test reads it).
// Files are rewritten only when their content changes; stale files are removed.
// Plain Node ESM, no dependencies. Exit code 1 on a malformed document.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { basename, dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const outDir = join(root, "docs", "examples", "generated")

const TS_LANGS = new Set(["ts", "typescript"])
const OPEN = /^(\s*)(`{3,}|~{3,})[ \t]*([^`]*?)[ \t]*$/
const CLOSE = /^\s*(`{3,}|~{3,})\s*$/

/** The Markdown files whose examples are checked: README.md, then docs/*.md by name. */
const sources = () => {
  const files = []
  if (existsSync(join(root, "README.md"))) files.push(join(root, "README.md"))
  const docs = join(root, "docs")
  if (existsSync(docs)) {
    for (const name of readdirSync(docs).sort()) {
      if (name.endsWith(".md")) files.push(join(docs, name))
    }
  }
  return files
}

/** Every fenced block of a Markdown text: { lang, flags, line (1-based, first code line), code }. */
export const fencedBlocks = (text, file = "<text>") => {
  const lines = text.split(/\r?\n/)
  const blocks = []
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i])
    if (open === null) continue
    const indent = open[1].length
    const fence = open[2]
    const words = open[3].split(/[\s,{}]+/).filter(Boolean)
    const lang = (words[0] ?? "").toLowerCase()
    const flags = words.slice(1).map((w) => w.toLowerCase())
    const body = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const line = lines[j]
      const close = CLOSE.exec(line)
      if (close !== null && close[1][0] === fence[0] && close[1].length >= fence.length) break
      // drop the fence's indentation from the content (as CommonMark does)
      let k = 0
      while (k < indent && line[k] === " ") k++
      body.push(line.slice(k))
    }
    if (j >= lines.length) {
      throw new Error(`${file}:${i + 1}: unclosed code fence ${fence}${open[3] ? ` ${open[3]}` : ""}`)
    }
    blocks.push({ lang, flags, line: i + 2, code: body.join("\n") })
    i = j
  }
  return blocks
}

const DECLARATION =
  /^(?:declare\s+)?(?:async\s+function\b|function\b|const\b|let\b|var\b|class\b|abstract\s+class\b|interface\b|type\s+[A-Za-z_$][\w$]*\s*[=<]|enum\b|namespace\b)/

/** Exports the unexported top-level declarations (column 0 only), keeping line numbers. */
export const exportDeclarations = (code) =>
  code.split("\n").map((line) => (DECLARATION.test(line) ? `export ${line}` : line)).join("\n")

/** The generated module for one block, its code on the same lines as in the Markdown file. */
const moduleText = (source, block) => {
  const header =
    `// Generated from ${source}:${block.line} by scripts/extract-doc-examples.mjs. Do not edit: edit the Markdown.`
  const padding = "\n".repeat(Math.max(1, block.line - 1))
  return `${header}${padding}${exportDeclarations(block.code)}\n\nexport {}\n`
}

const writeIfChanged = (path, text) => {
  if (existsSync(path) && readFileSync(path, "utf8") === text) return false
  writeFileSync(path, text)
  return true
}

/** Extracts every document's ```ts blocks; returns the manifest. */
export const extract = () => {
  mkdirSync(outDir, { recursive: true })
  const manifest = { generatedBy: "scripts/extract-doc-examples.mjs", documents: [] }
  const keep = new Set(["manifest.json"])
  for (const path of sources()) {
    const source = relative(root, path).split("\\").join("/")
    const stem = basename(path, ".md")
    const blocks = fencedBlocks(readFileSync(path, "utf8"), source)
    const doc = { source, blocks: [] }
    let n = 0
    let previous
    for (const block of blocks) {
      if (block.lang === "text" && block.flags.includes("output")) {
        if (previous === undefined || !previous.run || previous.output !== undefined) {
          throw new Error(
            `${source}:${block.line - 1}: a \`\`\`text output block must follow a \`\`\`ts run block (one output each)`
          )
        }
        previous.output = block.code
        continue
      }
      if (!TS_LANGS.has(block.lang)) continue
      n++
      const ignore = block.flags.includes("ignore")
      const entry = {
        index: n,
        line: block.line,
        file: ignore ? undefined : `${stem}-${n}.ts`,
        ignore,
        run: !ignore && block.flags.includes("run"),
        output: undefined
      }
      doc.blocks.push(entry)
      previous = entry
      if (ignore) continue
      keep.add(entry.file)
      writeIfChanged(join(outDir, entry.file), moduleText(source, block))
    }
    manifest.documents.push(doc)
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
    const written = manifest.documents.reduce((n, d) => n + d.blocks.filter((b) => !b.ignore).length, 0)
    const run = manifest.documents.reduce((n, d) => n + d.blocks.filter((b) => b.run).length, 0)
    console.log(
      `extract-doc-examples: ${written} examples from ${manifest.documents.length} documents (${run} runnable) -> ${
        relative(root, outDir)
      }/`
    )
  } catch (e) {
    console.error(`extract-doc-examples: ${e instanceof Error ? e.message : String(e)}`)
    process.exitCode = 1
  }
}
