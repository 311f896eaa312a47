/* global process, console */
/**
 * Keeps the repository's private `@identify-face/source` export condition out of what is published.
 *
 * In the workspace every package's `exports` maps `@identify-face/source` to its TypeScript sources
 * (`./src/*.ts`), which tests, typecheck and the tsx-run apps and tools read. Sources are not in the
 * tarball, so the packed manifest must not point at them. npm does not apply `publishConfig.exports`
 * (only pnpm and yarn do; npm reads config keys from `publishConfig`), so each published package
 * runs this from its npm lifecycle scripts:
 *
 *   "prepack": "node ../../tools/pack-manifest.js strip"        package.json without the condition
 *   "postpack": "node ../../tools/pack-manifest.js postpack"    puts it back, but after `npm pack` only
 *   "postpublish": "node ../../tools/pack-manifest.js restore"  puts it back after `npm publish`
 *
 * `npm publish` re-reads package.json after packing to send it to the registry as the version's
 * metadata, so under `npm publish` (and `changeset publish`, which runs it) the manifest stays
 * stripped until `postpublish`. The original is kept in node_modules/.cache/identify-face-pack/;
 * if a publish fails in between, `node ../../tools/pack-manifest.js restore` run in the package's
 * folder puts it back (and the next pack starts from it). tools/release-check.ts checks that each
 * packed manifest points only at packed files and that packing leaves package.json as it was.
 * (`npm publish --ignore-scripts` skips all this: do not publish with it.)
 */
import { existsSync } from "node:fs"
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const sourceCondition = "@identify-face/source"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/**
 * `exports` without the private condition; throws when a target would be left with no condition.
 * @param {unknown} exports
 * @param {string} at
 * @returns {unknown}
 */
export const stripCondition = (exports, at = "exports") => {
  if (exports === null || typeof exports !== "object") return exports
  if (Array.isArray(exports)) return exports.map((entry, index) => stripCondition(entry, `${at}[${index}]`))
  const kept = Object.entries(exports).filter(([key]) => key !== sourceCondition)
  if (kept.length === 0) throw new Error(`${at} has only the ${sourceCondition} condition: nothing would be left to publish`)
  return Object.fromEntries(kept.map(([key, value]) => [key, stripCondition(value, `${at}["${key}"]`)]))
}

/**
 * The packed manifest's text: the workspace manifest without the private condition.
 * @param {string} text
 */
export const strippedManifest = (text) => {
  const manifest = JSON.parse(text)
  if (manifest.exports === undefined) return text
  return `${JSON.stringify({ ...manifest, exports: stripCondition(manifest.exports) }, null, 2)}\n`
}

/** @param {string} file @param {string} text */
const writeAtomically = async (file, text) => {
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, text)
  await rename(temporary, file)
}

const manifestFile = path.resolve(process.env.npm_package_json ?? "package.json")
const log = (/** @type {string} */ message) => console.error(`pack-manifest: ${message}`)

const backupFile = async () => {
  const { name } = JSON.parse(await readFile(manifestFile, "utf8"))
  return path.join(root, "node_modules", ".cache", "identify-face-pack", `${String(name).replace(/[@/]/g, "_")}.package.json`)
}

const strip = async () => {
  const text = await readFile(manifestFile, "utf8")
  const backup = await backupFile()
  // A backup and a manifest already stripped: a publish died before `postpublish`; keep that original.
  const original = existsSync(backup) && !text.includes(`"${sourceCondition}"`) ? await readFile(backup, "utf8") : text
  const stripped = strippedManifest(original)
  if (stripped === original) return
  await mkdir(path.dirname(backup), { recursive: true })
  await writeFile(backup, original)
  await writeAtomically(manifestFile, stripped)
  log(`packing ${path.relative(root, manifestFile)} without its ${sourceCondition} condition`)
}

const restore = async () => {
  const backup = await backupFile()
  if (!existsSync(backup)) return
  const original = await readFile(backup, "utf8")
  const current = await readFile(manifestFile, "utf8")
  if (current !== original && current !== strippedManifest(original)) {
    // Someone edited the stripped manifest meanwhile: do not overwrite the edit.
    log(`${path.relative(root, manifestFile)} changed while it was packed; its original is in ${path.relative(root, backup)}`)
    process.exitCode = 1
    return
  }
  await writeAtomically(manifestFile, original)
  await rm(backup)
}

const main = async (/** @type {string | undefined} */ command) => {
  if (command === "strip") await strip()
  else if (command === "restore") await restore()
  // Under `npm publish`, the manifest npm sends to the registry is read after `postpack`: restore in `postpublish`.
  else if (command === "postpack") await (process.env.npm_command === "publish" ? Promise.resolve() : restore())
  else {
    log(`unknown command ${command}; use strip, postpack or restore`)
    process.exitCode = 2
  }
}

// Run as a script (not imported, as tools/release-check.ts does for the condition's name).
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv[2])
