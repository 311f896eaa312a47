import { InvalidConfigError } from "@identify-face/core/Config"
import { DurationOutOfRangeError } from "@identify-face/core/Errors"
import type { VideoError } from "@identify-face/core/Errors"
import type { Video } from "@identify-face/core/VideoSource"
import { TestAnalyzer } from "@identify-face/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

const video = (content: string): Video => {
  const bytes = new TextEncoder().encode(content)
  return { bytes: bytes.byteLength, path: undefined, stream: Stream.make(bytes) as Stream.Stream<Uint8Array, VideoError> }
}

/** Analyses `content` on the test clock; answers the outcome and the progress reported, with when. */
const analyse = (options: TestAnalyzer.TestAnalyzerOptions, contents: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const analyzer = yield* TestAnalyzer.make(options)
    const outcomes = []
    for (const content of contents) {
      const progress: Array<readonly [number, number]> = []
      const onProgress = (step: number) => Effect.map(Clock.currentTimeMillis, (now) => void progress.push([now, step]))
      const started = yield* Clock.currentTimeMillis
      const fiber = yield* Effect.fork(Effect.either(analyzer.analyze(video(content), onProgress)))
      yield* TestClock.adjust("2 hours")
      const outcome = yield* Fiber.join(fiber)
      outcomes.push({ outcome, progress: progress.map(([at, step]) => [at - started, step] as const) })
    }
    return outcomes
  })

describe("TestAnalyzer", () => {
  it.effect("by default finds one face from 0 to 5000 ms with the tiny JPEG, after 50 ms, reporting 0.5 at once", () =>
    Effect.gen(function* () {
      const analyzer = yield* TestAnalyzer.make()
      const progress: Array<number> = []
      const fiber = yield* Effect.fork(analyzer.analyze(video("any clip"), (step) => Effect.sync(() => void progress.push(step))))
      yield* TestClock.adjust("49 millis")
      expect(fiber.unsafePoll()).toBeNull()
      expect(progress).toEqual([0.5])
      yield* TestClock.adjust("1 millis")
      const analysis = yield* Fiber.join(fiber)
      expect(analysis.faces).toEqual([{ startMs: 0, endMs: 5000, image: TestAnalyzer.tinyJpeg }])
      expect(analysis.metadata).toEqual({ duration_ms: 10_000, width: 1920, height: 1080, fps: 30, format: "mp4" })
      expect(analysis.timings).toEqual({ analyze: 50 })
    }))

  it("the tiny JPEG is a JPEG", () => {
    expect([...TestAnalyzer.tinyJpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff])
    expect([...TestAnalyzer.tinyJpeg.subarray(-2)]).toEqual([0xff, 0xd9])
  })

  it.effect("plays a video's own script, chosen by its content", () =>
    Effect.gen(function* () {
      const image = new Uint8Array([0xff, 0xd8, 0xff, 0xd9])
      const [two, other] = yield* analyse(
        { videos: { "two faces": { faces: [{ startMs: 0, endMs: 2500, image }, { startMs: 4000, endMs: 9000 }] } } },
        ["two faces", "something else"]
      )
      expect(two?.outcome.pipe(Either.map((analysis) => analysis.faces))).toEqual(
        Either.right([{ startMs: 0, endMs: 2500, image }, { startMs: 4000, endMs: 9000, image: TestAnalyzer.tinyJpeg }])
      )
      expect(other?.outcome.pipe(Either.map((analysis) => analysis.faces))).toEqual(Either.right([{ startMs: 0, endMs: 5000, image: TestAnalyzer.tinyJpeg }]))
    }))

  it.effect("plays a sequence in order for videos without their own script, then the default script", () =>
    Effect.gen(function* () {
      const failure = new DurationOutOfRangeError({ message: "duration 90 s is not from 2 s to 60 s" })
      const outcomes = yield* analyse(
        { videos: { mine: { faces: [] } }, sequence: [{ failure }, { faces: [{ startMs: 100, endMs: 2100 }] }], script: { faces: [] } },
        ["a", "mine", "b", "c"]
      )
      expect(outcomes.map(({ outcome }) => (outcome._tag === "Left" ? outcome.left.code : outcome.right.faces.length))).toEqual(["014002112", 0, 1, 0])
    }))

  it.effect("reports progress at even steps over the delay, the first at once", () =>
    Effect.gen(function* () {
      const [run] = yield* analyse({ script: { delay: "300 millis", progress: [0.25, 0.5, 0.75] } }, ["clip"])
      expect(run?.progress).toEqual([[0, 0.25], [100, 0.5], [200, 0.75]])
    }))

  it.effect("fails with a scripted failure after its delay, any TaskError code", () =>
    Effect.gen(function* () {
      const failure = new DurationOutOfRangeError({ message: "too long" })
      const analyzer = yield* TestAnalyzer.make({ script: { failure, delay: "1 second", progress: [] } })
      const fiber = yield* Effect.fork(Effect.flip(analyzer.analyze(video("clip"), () => Effect.void)))
      yield* TestClock.adjust("999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe(failure)
    }))

  it.each([
    [{ script: { faces: [], failure: new DurationOutOfRangeError({ message: "x" }) } as unknown as TestAnalyzer.Script }, /faces or a failure, not both/],
    [{ script: { progress: [1.5] } }, /progress steps are from 0 to 1, got 1.5/],
    [{ videos: { clip: { faces: [{ startMs: 500, endMs: 100 }] } } }, /videos\["clip"\]: a face needs integer 0 <= startMs <= endMs/],
    [{ sequence: [{}, { faces: [{ startMs: 0.5, endMs: 1 }] }] }, /sequence\[1\]/]
  ])("refuses a script that cannot play when the layer is made (%#)", (options, message) => {
    expect(() => TestAnalyzer.layer(options)).toThrow(InvalidConfigError)
    expect(() => TestAnalyzer.layer(options)).toThrow(message)
  })
})
