/**
 * The analysis: a video in, its usable faces out, with progress on the way. The real one lives in
 * `@identify-face/node`; `@identify-face/testing` scripts one.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { TaskError } from "./Errors.js"
import type { Video } from "./VideoSource.js"
import type { VideoMetadata } from "./Wire.js"

/** One continuous, usable appearance of a face. */
export interface AnalyzedFace {
  /** Milliseconds from the start of the video. */
  readonly startMs: number
  readonly endMs: number
  /** A JPEG crop of the face's best frame. */
  readonly image: Uint8Array
}

/** What an analysis found. */
export interface Analysis {
  readonly metadata: VideoMetadata
  /** In order of first appearance. */
  readonly faces: ReadonlyArray<AnalyzedFace>
  /** Milliseconds each stage took, e.g. `probe`, `analyze`. */
  readonly timings: Record<string, number>
}

/** Reports progress from 0 to 1. */
export type ProgressReporter = (progress: number) => Effect.Effect<void>

/** Analyses videos. */
export interface FaceAnalyzerService {
  /** Checks the video against the requirements and finds its faces. */
  readonly analyze: (video: Video, onProgress: ProgressReporter) => Effect.Effect<Analysis, TaskError>
}

/** The analyzer in use. */
export class FaceAnalyzer extends Context.Tag("@identify-face/core/FaceAnalyzer")<FaceAnalyzer, FaceAnalyzerService>() {}
