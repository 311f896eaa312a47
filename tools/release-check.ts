/**
 * Release check: what `npm publish` would ship works for someone who installs it.
 *
 * 1. builds every package (nx, cached);
 * 2. packs each publishable package and checks what its tarball holds: package.json, README.md,
 *    LICENSE and the folders of its `files`, never sources or tests;
 *    Each packed manifest must point only at files in its tarball: every target in its `exports`
 *    (under every condition) is packed, and the workspace's private `@identify-face/source`
 *    condition (TypeScript sources, stripped at pack time by tools/pack-manifest.js) is gone; the
 *    workspace manifest is as it was before packing;
 * 3. runs publint and arethetypeswrong (ESM-only profile) on each tarball; any finding fails;
 * 4. installs the tarballs into a scratch project with effect 3.22, imports each package under
 *    ESM (and checks its `internal` modules are not exported), and type-checks a file importing
 *    every package with `moduleResolution: NodeNext` and library checks on;
 * 5. applies the pending changesets to a copy of the manifests and checks every workspace
 *    dependency range still matches the version it will link to.
 *
 *   npm run release-check
 */
import { execFile } from "node:child_process"
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { publint } from "publint"
import { formatMessage } from "publint/utils"
import semver from "semver"
import { sourceCondition } from "./pack-manifest.js"

interface Manifest {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly files?: ReadonlyArray<string>
  readonly workspaces?: ReadonlyArray<string>
  readonly dependencies?: Readonly<Record<string, string>>
  readonly devDependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
}

interface Workspace {
  readonly dir: string
  readonly manifest: Manifest
}

const root = path.resolve(import.meta.dirname, "..")
const bin = (name: string) => path.join(root, "node_modules", ".bin", name)
const problems: Array<string> = []

/** Runs a command, answering its stdout; a failure throws with what it printed. */
const run = async (command: string, args: ReadonlyArray<string>, cwd = root) => {
  try {
    const { stdout } = await promisify(execFile)(command, args, { cwd, maxBuffer: 64 * 2 ** 20, env: { ...process.env, FORCE_COLOR: "0" } })
    return stdout
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout}${stderr}`)
  }
}

/** Runs one step, timed; a thrown error is a problem and ends the check. */
const step = async <A>(name: string, body: () => Promise<A>): Promise<A> => {
  const started = performance.now()
  const result = await body()
  console.log(`✓ ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
  return result
}

const readManifest = async (dir: string) => JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as Manifest

const workspaces = async (): Promise<ReadonlyArray<Workspace>> => {
  const patterns = (await readManifest(root)).workspaces ?? []
  const dirs = await Promise.all(
    patterns.map(async (pattern) => {
      const parent = path.join(root, pattern.replace(/\/\*$/, ""))
      const entries = await readdir(parent, { withFileTypes: true })
      return entries.filter((entry) => entry.isDirectory()).map((entry) => path.join(parent, entry.name))
    })
  )
  const found = await Promise.all(
    dirs.flat().map(async (dir) => {
      try {
        return [{ dir, manifest: await readManifest(dir) }]
      } catch {
        return [] // a folder without package.json is no workspace
      }
    })
  )
  return found.flat()
}

/** What a tarball may hold: the manifest, README, LICENSE, and what `files` names, with no test among it. */
const checkContents = (workspace: Workspace, packed: ReadonlyArray<string>) => {
  const folders = (workspace.manifest.files ?? []).filter((entry) => !entry.startsWith("!") && !entry.includes("."))
  const allowed = (file: string) =>
    ["package.json", "README.md", "LICENSE"].includes(file) || folders.some((folder) => file.startsWith(`${folder}/`))
  for (const file of packed) {
    if (!allowed(file)) problems.push(`${workspace.manifest.name}: the tarball holds ${file}`)
    if (/(^|\/)(test|__tests__)\/|\.test\./.test(file)) problems.push(`${workspace.manifest.name}: the tarball holds a test, ${file}`)
  }
  for (const required of ["package.json", "README.md", "LICENSE"]) {
    if (!packed.includes(required)) problems.push(`${workspace.manifest.name}: the tarball has no ${required}`)
  }
}

/**
 * The packed manifest points only at packed files: each target of `exports` under every condition
 * (a `*` pattern must match at least one file), `main`, `types` and `bin`; and it has no
 * `@identify-face/source` condition, whose sources are never shipped.
 */
const checkTargets = (name: string, manifest: Readonly<Record<string, unknown>>, packed: ReadonlyArray<string>) => {
  const files = new Set(packed)
  const targets: Array<readonly [at: string, target: string]> = []
  const walk = (value: unknown, at: string): void => {
    if (typeof value === "string") targets.push([at, value])
    else if (Array.isArray(value)) value.forEach((entry, index) => walk(entry, `${at}[${index}]`))
    else if (value !== null && typeof value === "object") {
      for (const [key, entry] of Object.entries(value)) {
        if (key === sourceCondition) problems.push(`${name}: the packed package.json has the private ${sourceCondition} condition at ${at}`)
        walk(entry, `${at}["${key}"]`)
      }
    }
  }
  walk(manifest.exports, "exports")
  for (const field of ["main", "types", "typings", "module"]) walk(manifest[field], field)
  walk(manifest.bin, "bin")
  for (const [at, target] of targets) {
    const file = path.posix.normalize(target)
    const found = file.includes("*") ? packed.some((entry) => subpathPattern(file).test(entry)) : files.has(file)
    if (!found) problems.push(`${name}: ${at} points at ${target}, which is not in the tarball`)
  }
}

/** A target with `*` as Node reads it: each `*` stands for any non-empty string, `/` included. */
const subpathPattern = (target: string) => {
  const escape = (part: string) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  return new RegExp(`^${target.split("*").map(escape).join(".+")}$`)
}

/** The package.json in a tarball. */
const packedManifest = async (tarball: string) =>
  JSON.parse(await run("tar", ["-xzOf", tarball, "package/package.json"])) as Readonly<Record<string, unknown>>

/** publint's findings: any warning or error is a problem. */
const lint = async (name: string, tarball: string) => {
  const { buffer } = await readFile(tarball)
  const result = await publint({ pack: { tarball: buffer as ArrayBuffer }, level: "warning" })
  for (const message of result.messages) problems.push(`${name}: publint: ${formatMessage(message, result.pkg) ?? message.code}`)
}

const typesAreRight = async (name: string, tarball: string) => {
  try {
    await run(bin("attw"), [tarball, "--profile", "esm-only", "--format", "ascii"])
  } catch (error) {
    problems.push(`${name}: arethetypeswrong: ${(error as Error).message}`)
  }
}

/** A packed package: its tarball, and one of its `internal` modules, which must not be importable. */
interface Packed {
  readonly name: string
  readonly tarball: string
  readonly internal: string | undefined
}

/** Installs the tarballs into a scratch project and uses them as a consumer would. */
const consume = async (scratch: string, packages: ReadonlyArray<Packed>) => {
  await writeFile(path.join(scratch, "package.json"), JSON.stringify({ name: "release-check-consumer", private: true, type: "module" }))
  // No install scripts: native addons that build at install (better-sqlite3) are not loaded by an import.
  await step("install the tarballs with effect 3.22 into a scratch project", () =>
    run("npm", [
      "install",
      "--ignore-scripts",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      ...packages.map(({ tarball }) => tarball),
      "effect@~3.22.4",
      "@types/node@^20",
      "@types/express@^5"
    ], scratch)
  )
  await step("import each package under ESM; its internal modules are not exported", async () => {
    for (const { name, internal } of packages) {
      const script = [
        `const exported = Object.keys(await import(${JSON.stringify(name)}))`,
        `if (exported.length === 0) throw new Error("${name} exports nothing")`,
        ...(internal === undefined
          ? []
          : [
              `const answer = await import(${JSON.stringify(`${name}/${internal}`)}).then(() => "imported", (error) => error.code)`,
              `if (answer !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw new Error("${name}/${internal} answered " + answer)`
            ])
      ].join("\n")
      try {
        await run(process.execPath, ["--input-type=module", "-e", script], scratch)
      } catch (error) {
        problems.push(`${name}: ${(error as Error).message}`)
      }
    }
  })
  await step("type-check a consumer with moduleResolution NodeNext", async () => {
    const alias = (name: string) => name.replace(/^@identify-face\//, "").replace(/\W/g, "_")
    const consumer = [
      ...packages.map(({ name }) => `import * as ${alias(name)} from ${JSON.stringify(name)}`),
      `export const modules = [${packages.map(({ name }) => alias(name)).join(", ")}]`,
      ...(packages.some(({ name }) => name === "@identify-face/core")
        ? [`export const client: core.Client.PromiseClient = core.Client.makePromise({ baseUrl: "http://localhost:3000", apiKey: "key" })`]
        : [])
    ].join("\n")
    await writeFile(path.join(scratch, "consumer.ts"), consumer)
    const compilerOptions = { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: false, types: ["node"] }
    await writeFile(path.join(scratch, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["consumer.ts"] }))
    try {
      await run(bin("tsc"), ["-p", scratch])
    } catch (error) {
      problems.push(`type-checking a consumer: ${(error as Error).message}`)
    }
  })
}

/** Applies the pending changesets to a copy of the manifests; every workspace range must still match. */
const checkVersioning = async (scratch: string, all: ReadonlyArray<Workspace>) => {
  const copy = path.join(scratch, "versioned")
  for (const dir of [root, ...all.map((workspace) => workspace.dir)]) {
    await mkdir(path.join(copy, path.relative(root, dir)), { recursive: true })
    await cp(path.join(dir, "package.json"), path.join(copy, path.relative(root, dir), "package.json"))
  }
  await cp(path.join(root, ".changeset"), path.join(copy, ".changeset"), { recursive: true })
  await symlink(path.join(root, "node_modules"), path.join(copy, "node_modules"))
  await run(bin("changeset"), ["version"], copy)
  const versioned = await Promise.all([root, ...all.map((workspace) => workspace.dir)].map((dir) => readManifest(path.join(copy, path.relative(root, dir)))))
  const versions = new Map(versioned.map((manifest) => [manifest.name, manifest.version]))
  for (const manifest of versioned) {
    for (const [dependency, range] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies })) {
      const version = versions.get(dependency)
      if (version !== undefined && !semver.satisfies(version, range)) {
        problems.push(`after changeset version, ${manifest.name} wants ${dependency}@${range} but the workspace is ${version}`)
      }
    }
  }
  const bumps = all
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ manifest }) => `${manifest.name} ${manifest.version} -> ${versions.get(manifest.name)}`)
  console.log(`  ${bumps.join("\n  ")}`)
}

const main = async () => {
  const started = performance.now()
  const all = await workspaces()
  const publishable = all.filter(({ manifest }) => manifest.private !== true)
  const scratch = await mkdtemp(path.join(tmpdir(), "identify-face-release-"))
  try {
    await step("build every package", () => run(bin("nx"), ["run-many", "-t", "build", "--outputStyle=static"]))
    const tarballs = path.join(scratch, "tarballs")
    await mkdir(tarballs)
    const packed: ReadonlyArray<Packed> = await step(`pack ${publishable.map(({ manifest }) => manifest.name).join(", ")}`, () =>
      Promise.all(
        publishable.map(async (workspace) => {
          const before = await readFile(path.join(workspace.dir, "package.json"), "utf8")
          const [entry] = JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", tarballs], workspace.dir)) as ReadonlyArray<{
            readonly filename: string
            readonly files: ReadonlyArray<{ readonly path: string }>
          }>
          if (entry === undefined) throw new Error(`npm pack of ${workspace.manifest.name} answered nothing`)
          if ((await readFile(path.join(workspace.dir, "package.json"), "utf8")) !== before) {
            problems.push(`${workspace.manifest.name}: package.json is not as it was before npm pack (its postpack did not restore it)`)
          }
          const files = entry.files.map((file) => file.path)
          checkContents(workspace, files)
          checkTargets(workspace.manifest.name, await packedManifest(path.join(tarballs, entry.filename)), files)
          console.log(`  ${workspace.manifest.name}: ${files.length} files, ${[...new Set(files.map((file) => file.split("/")[0]))].join(", ")}`)
          const internal = files.find((file) => /^dist\/internal\/[^/]+\.js$/.test(file))
          return {
            name: workspace.manifest.name,
            tarball: path.join(tarballs, entry.filename),
            internal: internal?.replace(/^dist\//, "").replace(/\.js$/, "")
          }
        })
      )
    )
    await step("publint and arethetypeswrong on each tarball", () =>
      Promise.all(packed.map(async ({ name, tarball }) => Promise.all([lint(name, tarball), typesAreRight(name, tarball)])))
    )
    await consume(scratch, packed)
    await step("changeset version, applied to a copy", () => checkVersioning(scratch, all))
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
  for (const problem of problems) console.error(`✗ ${problem}`)
  const seconds = ((performance.now() - started) / 1000).toFixed(0)
  console.log(problems.length === 0 ? `release check passed in ${seconds} s` : `release check failed: ${problems.length} problems (${seconds} s)`)
  process.exitCode = problems.length === 0 ? 0 : 1
}

await main()
