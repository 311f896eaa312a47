/**
 * The face detector contract: small on purpose, so the model behind it can be swapped.
 */
import type { RgbFrame } from "./FrameDecoder.js"

/** A rectangle in pixels of the frame that was given to the detector. */
export interface FaceBox {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

/** One face found in one frame. */
export interface Detection {
  /** In pixels of the frame given to `detect`, clamped to it. */
  readonly box: FaceBox
  /** Detector confidence, 0 to 1. */
  readonly score: number
  /**
   * Head rotation in degrees, 0 = facing the camera; NaN when the landmark model gave none.
   * Yaw turns left/right, pitch nods up/down, roll tilts in the image plane.
   */
  readonly yaw: number
  readonly pitch: number
  readonly roll: number
  /** Identity descriptor (unit length, compare with cosine/euclidean distance); only when asked for. */
  readonly embedding?: ReadonlyArray<number>
  /**
   * Cheap look of the face box (16×16 grayscale, zero mean, unit length): the dot product of two is
   * near 1 for the same face in nearby frames and clearly lower after a cut to another face.
   */
  readonly appearance?: ReadonlyArray<number>
}

/** What to compute for one frame beyond boxes and rotation. */
export interface DetectOptions {
  /** Also compute an identity embedding per face; costs ~125 ms per face on the WASM backend. */
  readonly embed?: boolean | undefined
  /**
   * How head rotation is found. "mesh" (default): FaceMesh per face, all three angles. "keypoints":
   * BlazeFace alone, yaw and roll estimated from its 6 keypoints (within ~4° of the mesh yaw up to
   * ±30°), pitch NaN, about 2.5× cheaper per frame: for the coarse sampling pass. `embed` implies "mesh".
   */
  readonly pose?: "mesh" | "keypoints" | undefined
}

/** Finds faces in RGB frames. */
export interface FaceDetector {
  /**
   * Finds the faces in one frame. Implementations may take ownership of `frame.data`
   * (transfer its buffer to another thread): do not use the frame afterwards.
   */
  readonly detect: (frame: RgbFrame, options?: DetectOptions) => Promise<ReadonlyArray<Detection>>
  /** Frees the model and any threads; pending calls reject. */
  readonly close: () => Promise<void>
}
