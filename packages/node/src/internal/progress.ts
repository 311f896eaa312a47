/**
 * Progress as the analyzers report it: only forward, in steps of at least 1%.
 */
import type { ProgressReporter } from "@identify-face/core/FaceAnalyzer"
import * as Effect from "effect/Effect"

/** `onProgress`, called only with progress past the last reported by at least 1%, or with 1. */
export const forwardProgress = (onProgress: ProgressReporter) => {
  let reported = 0
  return (progress: number): Effect.Effect<void> => {
    if (progress < reported + 0.01 && progress < 1) return Effect.void
    reported = progress
    return onProgress(Math.min(1, progress))
  }
}
