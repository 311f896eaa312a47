/**
 * Release check: what `npm publish` would ship works for someone who installs it.
 *
 * 1. builds every package (nx, cached);
 * 2. packs each publishable package and checks what its tarball holds: package.json, README.md,
 *    LICENSE and the folders of its `files`, never sources or tests;
 * 3. runs publint and arethetypeswrong (ESM-only profile) on each tarball;
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
const notes: Array<string> = []

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

/** publint's findings, but for the `source` condition: it is for this repository's own tools, and points at sources that are not shipped. */
const lint = async (name: string, tarball: string) => {
  const { buffer } = await readFile(tarball)
  const result = await publint({ pack: { tarball: buffer as ArrayBuffer }, level: "warning" })
  for (const message of result.messages) {
    const text = `${name}: publint: ${formatMessage(message, result.pkg) ?? message.code}`
    if (message.path.includes("source")) notes.push(text)
    else problems.push(text)
  }
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
          const [entry] = JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", tarballs], workspace.dir)) as ReadonlyArray<{
            readonly filename: string
            readonly files: ReadonlyArray<{ readonly path: string }>
          }>
          if (entry === undefined) throw new Error(`npm pack of ${workspace.manifest.name} answered nothing`)
          const files = entry.files.map((file) => file.path)
          checkContents(workspace, files)
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
  for (const note of notes) console.log(`note: ${note}`)
  for (const problem of problems) console.error(`✗ ${problem}`)
  const seconds = ((performance.now() - started) / 1000).toFixed(0)
  console.log(problems.length === 0 ? `release check passed in ${seconds} s` : `release check failed: ${problems.length} problems (${seconds} s)`)
  process.exitCode = problems.length === 0 ? 0 : 1
}

await main()
