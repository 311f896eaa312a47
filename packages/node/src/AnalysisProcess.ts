/**
 * The real analysis in a process of its own: `NodeFaceAnalyzer` in a child Node process that runs
 * wholly at lower priority, its ffmpeg children and detector threads included, driven over IPC.
 * The process that answers requests then never forks ffmpeg (on Linux a fork stalls the event
 * loop for 35-50 ms when the process holds the analysis's 550 MB, against a few ms for a small
 * one), never handles a frame nor collects a frame's garbage, and stays small. This is the
 * embedded server's analyzer (`NodeServer`); the analysis and its results are those of
 * `NodeFaceAnalyzer`.
 *
 * The process starts with the layer, which is ready once the detector's models are loaded. If it
 * dies (killed, out of memory), a new one starts and the analyses it ran run again there, once, as
 * after a crash of the server: one whose process dies twice fails with 014002099. Interrupting an analysis interrupts it in the process and waits until its
 * ffmpeg children have exited; the process ends with the layer, or on its own when its parent dies.
 *
 * @since 0.1.0
 */
import { fork } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { InternalGenerationError, TaskInterruptedError, fromCode } from "@identify-face/core/Errors"
import type { TaskError } from "@identify-face/core/Errors"
import { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import type { Analysis, FaceAnalyzerService, ProgressReporter } from "@identify-face/core/FaceAnalyzer"
import type { Video } from "@identify-face/core/VideoSource"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { FromAnalysisProcess, ToAnalysisProcess } from "./internal/analysisProcess.js"
import { videoPath } from "./internal/intake/files.js"
import { forwardProgress } from "./internal/progress.js"
import { siblingModule } from "./internal/sibling.js"
import * as NodeFaceAnalyzer from "./NodeFaceAnalyzer.js"

// What an analysis hears: its process's answers, or that the process is gone.
type Message = FromAnalysisProcess | { readonly type: "exited"; readonly reason: string }

/** The analysis process died while it ran an analysis. */
class ProcessExited extends Data.TaggedError("ProcessExited")<{ readonly reason: string }> {}

interface AnalysisChild {
  readonly process: ChildProcess
  /** The messages of each analysis running there, by id. */
  readonly inboxes: Map<number, Queue.Queue<Message>>
  readonly exited: Promise<void>
}

// How long a stopped process may take to interrupt its analyses before it is killed.
const STOP_TIMEOUT_MS = 10_000

// From source (tests, the demo apps) the program is a .ts file, run through tsx like its parent.
const program = () => {
  const { url, fromSource } = siblingModule(import.meta.url, "internal/analysisProcess")
  return { path: fileURLToPath(url), execArgv: fromSource ? ["--conditions=@identify-face/source", "--import", "tsx"] : [] }
}

/**
 * Forks the analysis process; resolves once its models are loaded, rejects if it cannot start.
 * `onGone` is called as soon as it has exited, before its analyses hear of it.
 */
const startChild = (options: NodeFaceAnalyzer.NodeFaceAnalyzerOptions, onGone: () => void): Promise<AnalysisChild> =>
  new Promise((resolve, reject) => {
    const { path, execArgv } = program()
    const child = fork(path, [], { execArgv, serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const inboxes = new Map<number, Queue.Queue<Message>>()
    const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()))
    const gone = (reason: string) => {
      onGone()
      reject(new Error(`the analysis process exited (${reason}) while starting`))
      for (const inbox of inboxes.values()) inbox.unsafeOffer({ type: "exited", reason })
    }
    child.on("message", (message: FromAnalysisProcess) => {
      if (message.type === "ready") resolve({ process: child, inboxes, exited })
      else if (message.type === "unavailable") {
        reject(new Error(message.message))
        child.kill()
      } else inboxes.get(message.id)?.unsafeOffer(message)
    })
    child.once("exit", (code, signal) => gone(signal ?? `code ${code}`))
    // Also a send racing the channel's close: the exit follows, and a listener keeps it from being thrown.
    child.on("error", (error) => gone(error.message))
    send(child, { type: "start", options })
  })

/** Sends `message` unless the channel is closed; answers whether it was sent. */
const send = (child: ChildProcess, message: ToAnalysisProcess): boolean => {
  if (!child.connected) return false
  child.send(message)
  return true
}

// Whether a message is the last one of its analysis.
const endsAnalysis = (message: Message) => message.type !== "progress" && message.type !== "ready" && message.type !== "unavailable"

/** Runs one analysis in `child`, relaying its progress. */
const analyzeIn = (child: AnalysisChild, id: number, video: Video, path: string, onProgress: ProgressReporter) =>
  Effect.gen(function* () {
    const inbox = yield* Queue.unbounded<Message>()
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        child.inboxes.set(id, inbox)
        if (!send(child.process, { type: "analyze", id, path, bytes: video.bytes })) inbox.unsafeOffer({ type: "exited", reason: "disconnected" })
      }),
      (_, exit) =>
        Effect.gen(function* () {
          // Interrupted here: interrupted there too, and waited for, so no ffmpeg of it outlives this.
          if (Exit.isInterrupted(exit) && send(child.process, { type: "interrupt", id })) {
            while (!endsAnalysis(yield* Queue.take(inbox)));
          }
          child.inboxes.delete(id)
        })
    )
    for (;;) {
      const message = yield* Queue.take(inbox)
      switch (message.type) {
        case "progress":
          yield* onProgress(message.progress)
          break
        case "done":
          return message.analysis
        case "failed":
          // The analysis process answers only the codes of `TaskError`s.
          return yield* Effect.fail(fromCode(message.code, message.message) as TaskError)
        case "exited":
          return yield* new ProcessExited({ reason: message.reason })
        default:
          return yield* new InternalGenerationError({ message: "the analysis was stopped in its process" })
      }
    }
  }).pipe(Effect.scoped)

/**
 * An analyzer that runs `NodeFaceAnalyzer` with `options` in a child process, which lives as long
 * as the scope. Throws `Config.InvalidConfigError` at once, naming the option, when an option is
 * wrong or ffmpeg is missing; dies when the process cannot start (e.g. the detector's models cannot
 * be loaded).
 */
export const make = (options: NodeFaceAnalyzer.NodeFaceAnalyzerOptions = {}): Effect.Effect<FaceAnalyzerService, never, Scope.Scope> => {
  NodeFaceAnalyzer.checkOptions(options)
  let current: Promise<AnalysisChild> | undefined
  let nextId = 0
  const child = (): Promise<AnalysisChild> => {
    if (current === undefined) {
      // A process that could not start, or has died, is replaced at the next analysis.
      const starting = startChild(options, () => {
        if (current === starting) current = undefined
      })
      current = starting
    }
    return current
  }
  const stop = async () => {
    const running = await current?.catch(() => undefined)
    if (running === undefined) return
    if (running.process.connected) running.process.disconnect()
    const kill = setTimeout(() => running.process.kill("SIGKILL"), STOP_TIMEOUT_MS)
    await running.exited
    clearTimeout(kill)
  }
  const analyze = (video: Video, onProgress: ProgressReporter): Effect.Effect<Analysis, TaskError> =>
    Effect.gen(function* () {
      const path = yield* videoPath(video)
      // A second run starts again from 0: it is reported from where the first one got to.
      const forward = forwardProgress(onProgress)
      const run = Effect.tryPromise({
        try: child,
        catch: (error) => new InternalGenerationError({ message: `the analysis process did not start: ${error instanceof Error ? error.message : String(error)}` })
      }).pipe(Effect.flatMap((running) => analyzeIn(running, nextId++, video, path, forward)))
      // As after a crash of the whole server, an analysis cut short runs again once.
      return yield* run.pipe(
        Effect.catchTag("ProcessExited", () => run),
        Effect.catchTag("ProcessExited", ({ reason }) => new TaskInterruptedError({ message: `the analysis process exited twice during the analysis (${reason})` }))
      )
    }).pipe(Effect.scoped)
  return Effect.as(
    Effect.acquireRelease(Effect.promise(child), () => Effect.promise(stop)),
    { analyze }
  )
}

/** The analyzer as a layer: the analysis process lives as long as the layer. */
export const layer = (options: NodeFaceAnalyzer.NodeFaceAnalyzerOptions = {}): Layer.Layer<FaceAnalyzer> => Layer.scoped(FaceAnalyzer, make(options))
