/**
 * A {@link FaceAnalyzer} that plays scripts instead of looking at videos: which faces it finds,
 * or which error it fails with, after how long, reporting which progress. Delays run on Effect's
 * `Clock`, so a test can drive them with `TestClock`.
 *
 * @since 0.1.0
 */
import { InvalidConfigError } from "@identify-face/core/Config"
import type { TaskError } from "@identify-face/core/Errors"
import { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import type { Analysis, FaceAnalyzerService } from "@identify-face/core/FaceAnalyzer"
import type { VideoMetadata } from "@identify-face/core/Wire"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"

/** An 8x8 grey baseline JPEG (202 bytes): the screenshot of a scripted face without its own. */
export const tinyJpeg: Uint8Array = Uint8Array.from(
  atob(
    "/9j/4AAQSkZJRgABAgAAAQABAAD/2wBDAAg+Pkk+SVVVVVVVVWRdZGhoaGRkZGRoaGhwcHCDg4NwcHBoaHBwfHyDg4+Tj4eHg4eTk5ubm7q6srLZ2eD/////" +
      "xABKAAEAAAAAAAAAAAAAAAAAAAAAAQEAAAAAAAAAAAAAAAAAAAAAEAEAAAAAAAAAAAAAAAAAAAAAEQEAAAAAAAAAAAAAAAAAAAAA/8AAEQgACAAIAwESAAIS" +
      "AAMSAP/aAAwDAQACEQMRAD8AAA//2Q=="
  ),
  (char) => char.charCodeAt(0)
)

/** A face the script finds. */
export interface ScriptedFace {
  /** Milliseconds from the start of the video. */
  readonly startMs: number
  readonly endMs: number
  /** Its screenshot; {@link tinyJpeg} when unset. */
  readonly image?: Uint8Array
}

interface ScriptTiming {
  /** How long the analysis takes. Default 50 ms. */
  readonly delay?: Duration.DurationInput
  /** Progress reported at even steps over the delay, the first at once. Default `[0.5]`. */
  readonly progress?: ReadonlyArray<number>
  /** What the checks read of the video. Default: 10 s of 1920x1080 mp4 at 30 fps. */
  readonly metadata?: VideoMetadata
}

/** One analysis: it finds `faces` (default one, 0 to 5000 ms), or fails with `failure`. */
export type Script =
  | (ScriptTiming & { readonly faces?: ReadonlyArray<ScriptedFace>; readonly failure?: undefined })
  | (ScriptTiming & { readonly failure: TaskError; readonly faces?: undefined })

/** Which script plays for which video. */
export interface TestAnalyzerOptions {
  /**
   * Scripts by the video's content read as text: an upload's bytes, or what the test video
   * source serves for a `video_url` (its URL's own text unless scripted otherwise).
   */
  readonly videos?: Readonly<Record<string, Script>>
  /** Scripts for the analyses of videos without their own script, one each, in order. */
  readonly sequence?: ReadonlyArray<Script>
  /** The script of every other analysis. Default {@link defaultScript}. */
  readonly script?: Script
}

/** One face from 0 to 5000 ms, found after 50 ms, reporting progress 0.5 on the way. */
export const defaultScript: Script = { faces: [{ startMs: 0, endMs: 5000 }], delay: "50 millis", progress: [0.5] }

const defaultMetadata: VideoMetadata = { duration_ms: 10_000, width: 1920, height: 1080, fps: 30, format: "mp4" }

const check = (script: Script, where: string) => {
  const refuse = (why: string) => new InvalidConfigError(`@identify-face/testing: ${where}: ${why}`)
  if (script.faces !== undefined && script.failure !== undefined) throw refuse("a script has faces or a failure, not both")
  for (const step of script.progress ?? []) {
    if (!(step >= 0 && step <= 1)) throw refuse(`progress steps are from 0 to 1, got ${step}`)
  }
  for (const face of script.faces ?? []) {
    if (!Number.isInteger(face.startMs) || !Number.isInteger(face.endMs) || face.startMs < 0 || face.endMs < face.startMs) {
      throw refuse(`a face needs integer 0 <= startMs <= endMs, got ${face.startMs} to ${face.endMs}`)
    }
  }
}

/** Plays one script: progress at even steps over the delay, then the faces or the failure. */
const play = (script: Script, onProgress: (progress: number) => Effect.Effect<void>): Effect.Effect<Analysis, TaskError> =>
  Effect.gen(function* () {
    const delay = Duration.decode(script.delay ?? "50 millis")
    const steps = script.progress ?? [0.5]
    const interval = Duration.unsafeDivide(delay, Math.max(1, steps.length))
    for (const step of steps) {
      yield* onProgress(step)
      yield* Effect.sleep(interval)
    }
    if (steps.length === 0) yield* Effect.sleep(delay)
    if (script.failure !== undefined) return yield* Effect.fail(script.failure)
    const faces = script.faces ?? [{ startMs: 0, endMs: 5000 }]
    return {
      metadata: script.metadata ?? defaultMetadata,
      faces: faces.map((face) => ({ startMs: face.startMs, endMs: face.endMs, image: face.image ?? tinyJpeg })),
      timings: { analyze: Duration.toMillis(delay) }
    }
  })

/** The scripted analyzer. Throws at once on a script that cannot play. */
export const make = (options: TestAnalyzerOptions = {}): Effect.Effect<FaceAnalyzerService> => {
  for (const [key, script] of Object.entries(options.videos ?? {})) check(script, `videos[${JSON.stringify(key)}]`)
  options.sequence?.forEach((script, index) => check(script, `sequence[${index}]`))
  if (options.script !== undefined) check(options.script, "script")
  const videos = new Map(Object.entries(options.videos ?? {}))
  return Effect.map(Ref.make(0), (played) => ({
    analyze: (video, onProgress) =>
      Effect.gen(function* () {
        const decoder = new TextDecoder()
        const content = (yield* Stream.runFold(video.stream, "", (text, chunk) => text + decoder.decode(chunk, { stream: true }))) + decoder.decode()
        const own = videos.get(content)
        const next = own === undefined ? yield* Ref.getAndUpdate(played, (n) => n + 1) : 0
        const script = own ?? options.sequence?.[next] ?? options.script ?? defaultScript
        return yield* play(script, onProgress)
      })
  }))
}

/** The scripted analyzer as a layer. */
export const layer = (options: TestAnalyzerOptions = {}): Layer.Layer<FaceAnalyzer> => Layer.effect(FaceAnalyzer, make(options))
