/**
 * The program of the analysis process `AnalysisProcess` forks: `NodeFaceAnalyzer` at lower
 * priority, driven over the IPC channel. It ends when the channel does, whether its parent
 * stopped it or died: running analyses are interrupted first, so no ffmpeg outlives it. SIGINT
 * and SIGTERM do not stop it (SIGKILL does).
 */
import { InternalGenerationError, toErrorObject } from "@identify-face/core/Errors"
import type { TaskError } from "@identify-face/core/Errors"
import type { Analysis } from "@identify-face/core/FaceAnalyzer"
import { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as NodeFaceAnalyzer from "../NodeFaceAnalyzer.js"
import { lowerProcessPriority } from "./priority.js"

/** What the parent sends. */
export type ToAnalysisProcess =
  | { readonly type: "start"; readonly options: NodeFaceAnalyzer.NodeFaceAnalyzerOptions }
  /** The video is a file on disk: the parent writes a streamed one out first. */
  | { readonly type: "analyze"; readonly id: number; readonly path: string; readonly bytes: number }
  | { readonly type: "interrupt"; readonly id: number }

/** What the analysis process answers; every analysis ends with exactly one `done`, `failed` or `interrupted`. */
export type FromAnalysisProcess =
  | { readonly type: "ready" }
  | { readonly type: "unavailable"; readonly message: string }
  | { readonly type: "progress"; readonly id: number; readonly progress: number }
  | { readonly type: "done"; readonly id: number; readonly analysis: Analysis }
  | { readonly type: "failed"; readonly id: number; readonly code: string; readonly message: string }
  | { readonly type: "interrupted"; readonly id: number }

const send = (message: FromAnalysisProcess) => {
  if (process.connected) process.send?.(message)
}

const ended = (id: number, exit: Exit.Exit<Analysis, TaskError>): FromAnalysisProcess => {
  if (Exit.isSuccess(exit)) return { type: "done", id, analysis: exit.value }
  if (Cause.isInterruptedOnly(exit.cause)) return { type: "interrupted", id }
  const failure = Cause.failureOption(exit.cause)
  const error = Option.isSome(failure) ? failure.value : new InternalGenerationError({ message: `the analysis failed: ${Cause.pretty(exit.cause)}` })
  const { code, error_message } = toErrorObject(error)
  return { type: "failed", id, code, message: error_message }
}

const serve = () => {
  lowerProcessPriority()
  // Its parent alone stops it, through the channel: a Ctrl-C or a service manager's SIGTERM reaches
  // the whole group, and must not cut the analyses short before the parent hands their tasks back.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => undefined)
  let runtime: ManagedRuntime.ManagedRuntime<FaceAnalyzer, never> | undefined
  const running = new Map<number, Fiber.RuntimeFiber<Analysis, TaskError>>()

  const start = (options: NodeFaceAnalyzer.NodeFaceAnalyzerOptions) => {
    runtime = ManagedRuntime.make(NodeFaceAnalyzer.layer(options))
    runtime.runPromise(FaceAnalyzer).then(
      () => send({ type: "ready" }),
      (error: unknown) => send({ type: "unavailable", message: error instanceof Error ? error.message : String(error) })
    )
  }

  const analyze = (active: ManagedRuntime.ManagedRuntime<FaceAnalyzer, never>, id: number, path: string, bytes: number) => {
    const onProgress = (progress: number) => Effect.sync(() => send({ type: "progress", id, progress }))
    const fiber = active.runFork(Effect.flatMap(FaceAnalyzer, (analyzer) => analyzer.analyze({ path, bytes, stream: Stream.empty }, onProgress)))
    running.set(id, fiber)
    fiber.addObserver((exit) => {
      running.delete(id)
      send(ended(id, exit))
    })
  }

  // The fiber's observer answers `interrupted` once its ffmpeg children have exited.
  const interrupt = (id: number) => {
    const fiber = running.get(id)
    if (fiber !== undefined) Effect.runFork(Fiber.interrupt(fiber))
  }

  process.on("message", (message: ToAnalysisProcess) => {
    if (message.type === "start") start(message.options)
    else if (message.type === "interrupt") interrupt(message.id)
    else if (runtime === undefined) send(ended(message.id, Exit.fail(new InternalGenerationError({ message: "the analysis process was not started" }))))
    else analyze(runtime, message.id, message.path, message.bytes)
  })

  process.once("disconnect", () => {
    const stopping = Effect.runPromise(Fiber.interruptAll(running.values()))
    void stopping.then(() => runtime?.dispose()).finally(() => process.exit(0))
  })
}

if (process.send !== undefined) serve()
