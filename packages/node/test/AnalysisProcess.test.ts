/**
 * The real analysis in a process of its own: the faces found as in this process, the process and
 * everything it starts at lower priority, refusals with their code, an interruption that reaches
 * its ffmpeg, a killed process replaced, and nothing left running when its parent dies.
 */
import { spawn } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { getPriority, tmpdir } from "node:os"
import { describe, expect, layer } from "@effect/vitest"
import { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import type { Video } from "@identify-face/core/VideoSource"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { beforeAll, it as plainIt } from "vitest"
import * as AnalysisProcess from "../src/AnalysisProcess.js"
import { fileStream } from "../src/internal/intake/files.js"
import { childrenOf, isAlive, niceOfThread } from "./support/proc.js"
import type { ProcessLine } from "./support/proc.js"
import { ASTRONAUT, FPS, makeShotsClip, still } from "./helpers/faceClips.js"

const analysisProcessesOf = (parent: number) => childrenOf(parent).filter((child) => child.args.includes("analysisProcess"))
const decodersOf = (parent: number) => childrenOf(parent).filter((child) => /ffmpeg/.test(child.args) && child.args.includes("rawvideo"))
const waitUntil = async (condition: () => boolean, timeoutMs: number) => {
  for (const deadline = Date.now() + timeoutMs; !condition() && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50))
  return condition()
}

let steady: string
let long: string
beforeAll(async () => {
  steady = (await makeShotsClip([still(ASTRONAUT, 4 * FPS)], [])).path
  long = (await makeShotsClip([still(ASTRONAUT, 12 * FPS)], [])).path
}, 120_000)

const fileVideo = (path: string): Video => ({ path, bytes: statSync(path).size, stream: fileStream(path) })
const analyze = (video: Video, onProgress: (progress: number) => void = () => undefined) =>
  Effect.flatMap(FaceAnalyzer, (analyzer) => analyzer.analyze(video, (progress) => Effect.sync(() => onProgress(progress))))
/** Forks an analysis of the long clip and waits until its process decodes it; answers the fiber and that process. */
const decodingLong = Effect.gen(function* () {
  const fiber = yield* Effect.fork(analyze(fileVideo(long)))
  let decoding: ProcessLine | undefined
  while (decoding === undefined && Option.isNone(yield* Fiber.poll(fiber))) {
    yield* Effect.sleep("20 millis")
    decoding = analysisProcessesOf(process.pid).find((analysis) => decodersOf(analysis.pid).length > 0)
  }
  if (decoding === undefined) throw new Error("the analysis ended before it was seen decoding")
  return { fiber, analysisPid: decoding.pid }
})

layer(AnalysisProcess.layer({ poolSize: 1 }), { timeout: "60 seconds", excludeTestServices: true })("AnalysisProcess", (it) => {
  it.effect(
    "finds the faces in a child process whose every thread runs 10 nice steps lower, relaying progress; a streamed video is written out and removed",
    () =>
      Effect.gen(function* () {
        const spooled = () => readdirSync(tmpdir()).filter((name) => name.startsWith("identify-face-analysis-"))
        const before = spooled()
        const progress: Array<number> = []
        const { bytes, stream } = fileVideo(steady)
        const analysis = yield* analyze({ path: undefined, bytes, stream }, (p) => progress.push(p))
        expect(analysis.faces.map((face) => [face.startMs, face.endMs])).toEqual([[0, 4000]])
        expect([...(analysis.faces[0]?.image.subarray(0, 3) ?? [])]).toEqual([0xff, 0xd8, 0xff])
        expect(analysis.metadata).toMatchObject({ width: 1280, height: 720, fps: FPS, format: "mp4" })
        expect(progress.length).toBeGreaterThan(5)
        expect(progress).toEqual([...progress].sort((a, b) => a - b))
        expect(progress.at(-1)).toBe(1)
        expect(spooled()).toEqual(before)

        const [child] = analysisProcessesOf(process.pid)
        expect(child).toBeDefined()
        const expected = Math.min(19, getPriority(0) + 10)
        const threads = readdirSync(`/proc/${child!.pid}/task`)
        // Node's own threads, the detector's worker and its threads.
        expect(threads.length).toBeGreaterThan(5)
        expect(threads.map((thread) => niceOfThread(child!.pid, thread))).toEqual(threads.map(() => expected))
      }),
    30_000
  )

  it.effect("passes the checks' refusal on with its code", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(analyze(fileVideo(ASTRONAUT)))
      expect(error.code).toBe("014002110")
    })
  )

  it.effect(
    "interrupts the analysis in its process, and returns once the process's ffmpeg has exited",
    () =>
      Effect.gen(function* () {
        const { fiber, analysisPid } = yield* decodingLong
        yield* Fiber.interrupt(fiber)
        expect(decodersOf(analysisPid)).toEqual([])
        expect(isAlive(analysisPid)).toBe(true)
      }),
    30_000
  )

  it.effect(
    "goes on through SIGINT and SIGTERM, which a terminal or a service manager sends the whole group: its parent stops it",
    () =>
      Effect.gen(function* () {
        const { fiber, analysisPid } = yield* decodingLong
        process.kill(analysisPid, "SIGINT")
        process.kill(analysisPid, "SIGTERM")
        const analysis = yield* Fiber.join(fiber)
        expect(analysis.faces.map((face) => [face.startMs, face.endMs])).toEqual([[0, 12_000]])
        expect(isAlive(analysisPid)).toBe(true)
      }),
    60_000
  )

  it.effect(
    "runs an analysis whose process was killed again in a new process, and leaves no ffmpeg of the old one running",
    () =>
      Effect.gen(function* () {
        const { fiber, analysisPid } = yield* decodingLong
        const decoders = decodersOf(analysisPid)
        process.kill(analysisPid, "SIGKILL")
        const analysis = yield* Fiber.join(fiber)
        expect(analysis.faces.map((face) => [face.startMs, face.endMs])).toEqual([[0, 12_000]])
        expect(analysisProcessesOf(process.pid).map((child) => child.pid)).not.toContain(analysisPid)
        // Its decoder's reader is gone: the pipe breaks and the orphan ends.
        expect(yield* Effect.promise(() => waitUntil(() => decoders.every((decoder) => !isAlive(decoder.pid)), 10_000))).toBe(true)
      }),
    60_000
  )

  it.effect(
    "fails an analysis whose process was killed twice with 014002099",
    () =>
      Effect.gen(function* () {
        const { fiber, analysisPid } = yield* decodingLong
        process.kill(analysisPid, "SIGKILL")
        const again = () => analysisProcessesOf(process.pid).find((analysis) => analysis.pid !== analysisPid && decodersOf(analysis.pid).length > 0)
        expect(yield* Effect.promise(() => waitUntil(() => again() !== undefined, 30_000))).toBe(true)
        process.kill(again()!.pid, "SIGKILL")
        const error = yield* Effect.flip(Fiber.join(fiber))
        expect(error.code).toBe("014002099")
        expect(error.message).toBe("the analysis process exited twice during the analysis (SIGKILL)")
        // And the next one runs in a third.
        expect((yield* analyze(fileVideo(steady))).faces).toHaveLength(1)
      }),
    60_000
  )
})

describe("AnalysisProcess's process", () => {
  plainIt("ends, with its ffmpeg, when its parent is killed", { timeout: 60_000 }, async () => {
    const moduleUrl = new URL("../src/AnalysisProcess.ts", import.meta.url).href
    const script = `
      import * as Effect from "effect/Effect"
      import { fileStream } from ${JSON.stringify(new URL("../src/internal/intake/files.ts", import.meta.url).href)}
      const AnalysisProcess = await import(${JSON.stringify(moduleUrl)})
      const path = ${JSON.stringify(long)}
      await Effect.runPromise(Effect.scoped(Effect.flatMap(AnalysisProcess.make({ poolSize: 1 }), (analyzer) =>
        analyzer.analyze({ path, bytes: 1, stream: fileStream(path) }, () => Effect.void))))
    `
    const parent = spawn(process.execPath, ["--conditions=@identify-face/source", "--import", "tsx", "--input-type=module", "-e", script], { stdio: "inherit" })
    try {
      const decoding = () => analysisProcessesOf(parent.pid!).find((analysis) => decodersOf(analysis.pid).length > 0)
      expect(await waitUntil(() => decoding() !== undefined, 30_000)).toBe(true)
      const analysisPid = decoding()!.pid
      const decoders = decodersOf(analysisPid)
      parent.kill("SIGKILL")
      expect(await waitUntil(() => !isAlive(analysisPid) && decoders.every((decoder) => !isAlive(decoder.pid)), 15_000)).toBe(true)
    } finally {
      parent.kill("SIGKILL")
    }
  })
})
