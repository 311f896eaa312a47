/**
 * Finding the ffmpeg and ffprobe binaries, and running them so that no child outlives its caller.
 */
import { spawn } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { createRequire } from "node:module"
import { delimiter, join } from "node:path"
import { lowerChildPriority } from "./priority.js"

/** Absolute paths of the two binaries the analysis uses. */
export interface FfmpegBinaries {
  readonly ffmpeg: string
  readonly ffprobe: string
}

/** Why running ffmpeg or ffprobe failed. */
export type FfmpegFailure = "not-found" | "spawn" | "exit" | "timeout" | "aborted" | "output"

/** A failed ffmpeg/ffprobe run, with the end of what it printed on stderr. */
export class FfmpegError extends Error {
  override readonly name = "FfmpegError"
  constructor(
    readonly reason: FfmpegFailure,
    message: string,
    readonly stderrTail: string = ""
  ) {
    super(stderrTail === "" ? message : `${message}: ${stderrTail}`)
  }
}

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const findOnPath = (name: string, pathVariable: string | undefined): string | undefined =>
  (pathVariable ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => join(dir, name))
    .find(isExecutable)

// The @ffmpeg-installer / @ffprobe-installer packages ship a static binary inside a registry package;
// they are optional, so a missing package simply means "not available".
const fromNpmPackage = (packageName: string): string | undefined => {
  try {
    const required = createRequire(import.meta.url)(packageName) as { readonly path?: unknown }
    return typeof required.path === "string" && isExecutable(required.path) ? required.path : undefined
  } catch {
    return undefined
  }
}

const resolveOne = (
  name: "ffmpeg" | "ffprobe",
  envVariable: string,
  npmPackage: string,
  env: NodeJS.ProcessEnv
): string => {
  const override = env[envVariable]
  if (override !== undefined && override !== "") {
    if (!isExecutable(override)) throw new FfmpegError("not-found", `${envVariable}=${override} is not an executable file`)
    return override
  }
  const found = findOnPath(name, env["PATH"]) ?? fromNpmPackage(npmPackage)
  if (found === undefined) {
    throw new FfmpegError("not-found", `${name} not found: set ${envVariable}, install it on PATH, or install ${npmPackage}`)
  }
  return found
}

const cache = new Map<NodeJS.ProcessEnv, FfmpegBinaries>()

/**
 * Locates ffmpeg and ffprobe: the `IDENTIFY_FACE_FFMPEG` / `IDENTIFY_FACE_FFPROBE` environment
 * variables first, then the `PATH` (system packages), then the optional npm packages
 * `@ffmpeg-installer/ffmpeg` and `@ffprobe-installer/ffprobe`. Throws {@link FfmpegError} when one is missing.
 */
export const resolveFfmpegBinaries = (env: NodeJS.ProcessEnv = process.env): FfmpegBinaries => {
  const cached = cache.get(env)
  if (cached !== undefined) return cached
  const binaries: FfmpegBinaries = {
    ffmpeg: resolveOne("ffmpeg", "IDENTIFY_FACE_FFMPEG", "@ffmpeg-installer/ffmpeg", env),
    ffprobe: resolveOne("ffprobe", "IDENTIFY_FACE_FFPROBE", "@ffprobe-installer/ffprobe", env)
  }
  cache.set(env, binaries)
  return binaries
}

/** Cancellation for one child process. */
export interface RunOptions {
  /** Kills the child when aborted. */
  readonly signal?: AbortSignal | undefined
  /** Kills the child after this many milliseconds. */
  readonly timeoutMs?: number | undefined
}

const STDERR_TAIL_BYTES = 2000

/** Keeps the last lines of a child's stderr for error messages. */
export class StderrTail {
  private text = ""
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-STDERR_TAIL_BYTES)
  }
  toString(): string {
    return this.text.trim()
  }
}

/**
 * Runs a binary to completion and returns its whole stdout, at a lower CPU priority (see
 * `priority.ts`) than this process. The child is killed (SIGKILL) when the
 * signal aborts or the timeout passes, and the promise settles only once it has exited.
 */
export const runToCompletion = (command: string, args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    if (options.signal?.aborted === true) {
      reject(new FfmpegError("aborted", `${command} aborted before start`))
      return
    }
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] })
    lowerChildPriority(child.pid)
    const chunks: Array<Buffer> = []
    const stderr = new StderrTail()
    let failure: FfmpegError | undefined
    const kill = (error: FfmpegError) => {
      failure ??= error
      child.kill("SIGKILL")
    }
    const onAbort = () => kill(new FfmpegError("aborted", `${command} aborted`))
    options.signal?.addEventListener("abort", onAbort, { once: true })
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => kill(new FfmpegError("timeout", `${command} timed out after ${options.timeoutMs} ms`)), options.timeoutMs)
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk))
    child.on("error", (error) => {
      failure ??= new FfmpegError("spawn", `${command} could not start: ${error.message}`)
    })
    child.on("close", (code) => {
      if (timer !== undefined) clearTimeout(timer)
      options.signal?.removeEventListener("abort", onAbort)
      if (failure !== undefined) reject(failure)
      else if (code !== 0) reject(new FfmpegError("exit", `${command} exited with code ${code}`, stderr.toString()))
      else resolve(Buffer.concat(chunks))
    })
  })
